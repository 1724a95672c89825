"""Pretokenized data and infill samples: the layout the server uses, cut from real source files."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import torch

import engine.canvas
import engine.corpus
import engine.languages
import engine.vocab
from engine.dataset import (
    MIN_ANCHORS,
    SampleMix,
    SampleStream,
    TokenData,
    collate,
    continuation_sample,
    encoder_input,
    holes_sample,
    infill_sample,
    merge_pretokenized,
    pretokenize,
    syntax_spans,
)
from engine.errors import EngineError
from engine.vocab import BOS_ID, EOS_ID, PAD_ID, load_tokenizer, train_tokenizer

L = 32


def test_infill_layout():
    s = infill_sample([5, 6, 7, 8], [20, 21], [30, 31, 32], hole_length=4, canvas_length=10, prefix_budget=3,
                      at_end=True)
    assert s.encoder_ids == [BOS_ID, 7, 8]
    assert s.target == [20, 21, PAD_ID, PAD_ID, 30, 31, 32, EOS_ID, PAD_ID, PAD_ID]
    assert s.hole_length == 4
    cut = infill_sample([5], [20, 21], [30, 31, 32, 33, 34, 35, 36], 2, 6, 8, at_end=False)
    assert cut.encoder_ids == [BOS_ID, 5]
    assert cut.target == [20, 21, 30, 31, 32, 33]
    window = infill_sample([5], [], [30], 3, 6, 8, at_end=False)  # a suffix window, not the end of the file
    assert window.target == [PAD_ID, PAD_ID, PAD_ID, 30, PAD_ID, PAD_ID]
    with pytest.raises(ValueError):
        infill_sample([5], [1, 2, 3], [], 2, 6, 8, at_end=True)


def test_continuation_layout():
    s = continuation_sample([9] * 10, [11, 12], canvas_length=5, prefix_budget=4, at_end=True)
    assert s.encoder_ids == [BOS_ID, 9, 9, 9]
    assert s.target == [11, 12, EOS_ID, PAD_ID, PAD_ID] and s.hole_length == 5
    assert continuation_sample([], [1, 2, 3, 4, 5, 6], 5, 4, at_end=False).target == [1, 2, 3, 4, 5]
    assert encoder_input([], 16) == [BOS_ID]


def test_syntax_spans_are_nodes():
    src = b"def area(w, h):\n    if w > 0:\n        return w * h\n    return 0\n"
    spans = syntax_spans(src, "python", np.random.default_rng(0))
    texts = {src[a:b].decode() for a, b, _ in spans}
    assert {kind for *_, kind in spans} == {0, 1, 2}
    assert "w * h" in texts and "return w * h" in texts
    assert any("\n" in t for t in texts)  # multi-line nodes (the if statement, the body)
    assert all(0 <= a < b <= len(src) for a, b, _ in spans)


DOCS = [engine.corpus, engine.canvas, engine.languages, engine.vocab]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    corpus = root / "corpus"
    corpus.mkdir()
    texts = {m.__name__: inspect.getsource(m) for m in DOCS}
    texts["unicode"] = "# héllo ∑ 日本\ndef f(x):\n\treturn 'ü' * x\n" * 20
    for split, names in (("train", list(texts)[:-1]), ("heldout", list(texts)[-1:])):
        with open(corpus / f"{split}.jsonl", "w") as fh:
            for name in names:
                fh.write(json.dumps({"path": name, "package": name, "language": "python", "text": texts[name]}) + "\n")
    tok = train_tokenizer(texts.values(), vocab_size=700)
    tok.save(str(root / "tokenizer.json"))
    pretokenize(corpus, root / "tokenizer.json", root / "tokens", workers=1, log=lambda *_: None)
    return root, texts


def test_pretokenized_files(data_dir):
    root, texts = data_dir
    tok = load_tokenizer(root / "tokenizer.json")
    train = TokenData(root / "tokens", "train")
    assert train.num_documents == 4
    for doc, name in enumerate(list(texts)[:4]):
        assert train.document_bytes(doc).decode() == texts[name]
        assert tok.decode(train.document_tokens(doc).tolist(), skip_special_tokens=False) == texts[name]
    assert train.tokens.dtype == np.uint16
    assert len(train.spans) > 50 and set(np.unique(train.spans[:, 0])) == {0, 1, 2, 3}
    meta = json.loads((root / "tokens" / "meta.json").read_text())
    assert meta["splits"]["train"]["tokens"] == len(train.tokens)
    assert TokenData(root / "tokens", "heldout").num_documents == 1


def test_merged_directories_hold_every_document_and_span(data_dir, tmp_path):
    root, texts = data_dir
    more = tmp_path / "more"
    more.mkdir()
    added = {"added": "def g(y):\n    return [y, (y + 1) * 2]\n" * 12, "engine": inspect.getsource(engine.vocab)}
    with open(more / "train.jsonl", "w") as fh:
        for name, text in added.items():
            fh.write(json.dumps({"path": name, "package": name, "language": "python", "text": text}) + "\n")
    (more / "heldout.jsonl").write_text("")  # as `corpus --extends` leaves it
    pretokenize(more, root / "tokenizer.json", tmp_path / "more-tokens", workers=1, log=lambda *_: None)

    merged = merge_pretokenized([root / "tokens", tmp_path / "more-tokens"], tmp_path / "all", log=lambda *_: None)
    base, extra = TokenData(root / "tokens", "train"), TokenData(tmp_path / "more-tokens", "train")
    train = TokenData(tmp_path / "all", "train")
    assert train.num_documents == base.num_documents + 2 == merged["splits"]["train"]["documents"]
    tok = load_tokenizer(root / "tokenizer.json")
    for doc, text in enumerate([*list(texts)[:4], *added]):
        want = texts[text] if text in texts else added[text]
        assert train.document_bytes(doc).decode() == want
        assert tok.decode(train.document_tokens(doc).tolist(), skip_special_tokens=False) == want
    assert len(train.spans) == len(base.spans) + len(extra.spans)
    assert np.array_equal(train.spans[len(base.spans):, 0], extra.spans[:, 0] + base.num_documents)
    assert np.array_equal(train.spans[len(base.spans):, 1:], extra.spans[:, 1:])
    held = TokenData(tmp_path / "all", "heldout")
    assert held.document_bytes(0) == TokenData(root / "tokens", "heldout").document_bytes(0)
    assert merged["splits"]["heldout"]["documents"] == 1
    # The packages trained on, of every part: a checkpoint records them, and `evaluate` leaves them out.
    assert merged["splits"]["train"]["packages"] == sorted({*list(texts)[:4], *added})
    assert merged["splits"]["heldout"]["packages"] == ["unicode"]
    stream = SampleStream(train, tok, L, [16, 32], SampleMix(), seed=0)
    assert stream.batch(0, 8).target.shape[0] == 8

    other = tmp_path / "other-tokenizer"
    train_tokenizer(added.values(), vocab_size=600).save(str(tmp_path / "other.json"))
    pretokenize(more, tmp_path / "other.json", other, workers=1, log=lambda *_: None)
    with pytest.raises(EngineError, match="other-tokenizer: its tokenizer_sha256 differs"):
        merge_pretokenized([root / "tokens", other], tmp_path / "bad", log=lambda *_: None)
    with pytest.raises(EngineError, match="is one of the directories merged"):
        merge_pretokenized([root / "tokens", tmp_path / "more-tokens"], tmp_path / "more-tokens")


def _text(tok, ids) -> str:
    return tok.decode([int(i) for i in ids], skip_special_tokens=False)


@pytest.mark.parametrize("meta", ["{not json", '{"vocab_size": 8192}', '{"tokenizer_sha256": "0", '
                                  '"vocab_size": 1, "languages": [], "splits": {"train": 3}}'])
def test_a_damaged_meta_json_is_one_line_naming_it(data_dir, tmp_path, capsys, meta):
    from engine.cli import main

    root, _ = data_dir
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "meta.json").write_text(meta)
    with pytest.raises(EngineError, match=r"damaged/meta.json: not"):
        TokenData(damaged, "train")
    assert main(["merge-tokens", str(root / "tokens"), str(damaged), "--out", str(tmp_path / "all")]) == 2
    assert not (tmp_path / "all").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"merge-tokens: {damaged / 'meta.json'}: not")


def test_samples_are_cut_from_documents(data_dir):
    root, texts = data_dir
    tok = load_tokenizer(root / "tokenizer.json")
    data = TokenData(root / "tokens", "train")
    stream = SampleStream(data, tok, L, prefix_budgets=[16, 48], mix=SampleMix(), seed=1)
    docs = [data.document_bytes(d).decode() for d in range(data.num_documents)]
    span_texts = {data.document_bytes(int(d))[a:b].decode() for d, a, b, _ in data.spans}
    kinds = set()
    for index in range(12):
        batch = stream.batch(index, 8)
        assert batch.target.shape == (8, L) and batch.hole_mask.shape == (8, L)
        for row in range(8):
            kind = batch.kinds[row]
            kinds.add(kind)
            enc = batch.encoder_ids[row].tolist()
            first = next(i for i, t in enumerate(enc) if t != PAD_ID)
            assert enc[first] == BOS_ID and BOS_ID not in enc[first + 1:]
            prefix = _text(tok, enc[first + 1:])
            mask, target = batch.hole_mask[row].tolist(), batch.target[row].tolist()
            holes = _runs(mask)
            assert holes[0][0] == 0 and len({b - a for a, b in holes}) == 1, "every hole of a canvas is one size"
            H = holes[0][1]
            whole = prefix
            for n, (a, b) in enumerate(holes):
                hole = target[a:b]
                m = next((i for i, t in enumerate(hole) if t == PAD_ID), H)
                assert all(t == PAD_ID for t in hole[m:]), "voids only after the fill"
                middle = _text(tok, hole[:m])
                whole += middle
                if n + 1 < len(holes):
                    between = target[b:holes[n + 1][0]]
                    assert between and PAD_ID not in between and EOS_ID not in between, "code between holes"
                    whole += _text(tok, between)
            anchors = target[holes[-1][1]:]
            if EOS_ID in anchors:
                cut = anchors.index(EOS_ID)
                assert all(t == PAD_ID for t in anchors[cut + 1:])
                anchors = anchors[:cut]
            elif PAD_ID in anchors:
                anchors = anchors[:anchors.index(PAD_ID)]
            whole += _text(tok, anchors)
            assert any(whole in d for d in docs), (kind, whole)
            if kind == "continuation":
                assert H == L
            else:
                assert H < L and (kind == "multi_hole") == (len(holes) > 1)
            if kind == "multi_hole":
                assert 2 <= len(holes) <= 3 and len(mask) - holes[-1][1] >= MIN_ANCHORS
            if kind in ("syntax_node", "syntax_tail") and middle:
                assert any(s.endswith(middle) for s in span_texts), (kind, middle)
    assert kinds == {"random_span", "syntax_node", "syntax_tail", "continuation", "multi_hole"}


def _runs(mask: list[bool]) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    runs: list[tuple[int, int]] = []
    for i, on in enumerate(mask):
        if on and runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        elif on:
            runs.append((i, i + 1))
    return runs


def test_a_multi_hole_sample_is_the_canvas_the_engine_fills(tmp_path):
    # Fill placeholders hands infill_holes the text around and between its holes; training must lay out the same.
    from engine.infill import InfillEngine
    from engine.tiny import write_random_checkpoint

    path = write_random_checkpoint(tmp_path / "model", seed=1)
    config = json.loads((path / "config.json").read_text())
    config["infill_canvas_lengths"] = [48]
    (path / "config.json").write_text(json.dumps(config))
    engine = InfillEngine.load(path, device="cpu")
    tok = engine.tokenizer
    segments = ["def f(x):\n    ", "\n    y = x + 1\n    ", "\n\ndef g(y):\n    ", "\n"]
    middles = [tok.encode("pass"), tok.encode("return y"), tok.encode("f(y)")]
    for H, at_end in ((4, True), (7, False)):
        last = None
        for last in engine.infill_steps(segments, max_tokens=H, sizes=[H], suffix_is_end=at_end, max_steps=1):
            pass
        canvas = last.canvas
        ids = [tok.encode(s) for s in segments]
        sample = holes_sample(ids[0], middles, ids[1:-1], ids[-1], H, 48, prefix_budget=64, at_end=at_end)
        assert canvas.shape == (1, len(sample.target))
        assert sample.holes == canvas.holes[0] and len(sample.holes) == 3
        anchor = canvas.anchor[0]
        assert torch.tensor(sample.target)[anchor].tolist() == canvas.ids[0][anchor].tolist()
        batch = collate([sample])
        assert torch.equal(batch.hole_mask[0], ~anchor)
        for middle, (a, b) in zip(middles, sample.holes):
            assert sample.target[a:b] == middle + [PAD_ID] * (H - len(middle))


def test_file_end_spans_run_to_the_end_of_the_file(data_dir):
    # A span cut to the end of the file was shortened from its end, so almost none kept the file's end.
    root, _ = data_dir
    tok = load_tokenizer(root / "tokenizer.json")
    data = TokenData(root / "tokens", "train")
    mix = SampleMix(random_span=1, syntax_node=0, syntax_tail=0, continuation=0, multi_hole=0, file_end=0.1)
    stream = SampleStream(data, tok, L, [16, 48], mix, seed=3)
    first_anchors = []
    for index in range(25):
        batch = stream.batch(index, 16)
        for row in range(16):
            H = int(batch.hole_mask[row].sum())
            if batch.kinds[row] == "random_span":  # not a middle too long for a canvas, trained as continuation
                first_anchors.append(int(batch.target[row, H]))
    share = np.mean([t == EOS_ID for t in first_anchors])
    assert len(first_anchors) > 300 and abs(share - mix.file_end) < 0.03, share


def test_batches_are_a_function_of_index(data_dir):
    root, _ = data_dir
    tok = load_tokenizer(root / "tokenizer.json")
    data = TokenData(root / "tokens", "train")
    a = SampleStream(data, tok, L, [16, 48], seed=5)
    b = SampleStream(data, tok, L, [16, 48], seed=5)
    x, y = a.batch(3, 6), b.batch(3, 6)
    assert torch.equal(x.encoder_ids, y.encoder_ids) and torch.equal(x.target, y.target)
    z = a.batch(4, 6)
    assert not (x.encoder_ids.shape == z.encoder_ids.shape and torch.equal(x.encoder_ids, z.encoder_ids))


def test_an_empty_train_split_is_refused_not_trained_on(data_dir, tmp_path, capsys):
    from engine.cli import main

    root, _ = data_dir
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.jsonl").write_text("")
    (corpus / "heldout.jsonl").write_text("")
    out = tmp_path / "tokens"
    assert main(["pretokenize", "--corpus", str(corpus), "--tokenizer", str(root / "tokenizer.json"),
                 "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"pretokenize: {corpus / 'train.jsonl'}: the train split has no documents"
    assert not (out / "meta.json").exists() and not (out / "train.tokens").exists()

    # A directory written before pretokenize refused one: every weight was 0 and the division made NaN.
    empty = tmp_path / "empty"
    empty.mkdir()
    meta = json.loads((root / "tokens" / "meta.json").read_text())
    meta["splits"]["train"] = {"documents": 0, "tokens": 0, "bytes": 0, "spans": 0}
    (empty / "meta.json").write_text(json.dumps(meta))
    for name in ("tokens", "text", "spans", "doc_lang"):
        (empty / f"train.{name}").write_bytes(b"")
    for name in ("doc_tokens", "doc_bytes"):
        np.zeros(1, "<i8").tofile(empty / f"train.{name}")
    tok = load_tokenizer(root / "tokenizer.json")
    with pytest.raises(EngineError, match=f"^{empty}: the train split has no documents$"):
        SampleStream(TokenData(empty, "train"), tok, L, [16], SampleMix())

    # Documents without a token, or all weighted 0, leave nothing to sample either.
    (corpus / "train.jsonl").write_text(json.dumps({"path": "a.py", "language": "python", "text": ""}) + "\n")
    pretokenize(corpus, root / "tokenizer.json", out, workers=1, log=lambda *_: None)
    with pytest.raises(EngineError, match=f"^{out}: the train split has no tokens to sample"):
        SampleStream(TokenData(out, "train"), tok, L, [16], SampleMix())
    with pytest.raises(EngineError, match=f"^{root / 'tokens'}: the train split has no tokens to sample"):
        SampleStream(TokenData(root / "tokens", "train"), tok, L, [16], SampleMix(language_weights={"python": 0}))


def test_a_tokenizer_too_large_for_the_token_files_is_one_line(data_dir, tmp_path, capsys):
    # A full-size checkpoint's vocabulary (262k) does not fit 16-bit token files: said in one line, not a traceback.
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel

    from engine.cli import main

    root, _ = data_dir
    big = tmp_path / "big.json"
    words = ["<pad>", "<eos>", "<bos>", *(f"w{i}" for i in range(3, 70_000))]
    tok = Tokenizer(WordLevel({word: i for i, word in enumerate(words)}, unk_token="<pad>"))
    tok.add_special_tokens(words[:3])
    tok.save(str(big))
    assert main(["pretokenize", "--corpus", str(root / "corpus"), "--tokenizer", str(big),
                 "--out", str(tmp_path / "tokens")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"pretokenize: {big}: 70000 ids do not fit the pretokenized files' 16 bits (at most 65,536)"]


def test_pretokenize_writes_only_into_a_new_folder_or_its_own_earlier_output(data_dir, tmp_path, capsys):
    # It wrote its files among a user's own, replacing any of the same names.
    from engine.cli import main

    root, _ = data_dir
    out = tmp_path / "tokens"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    (out / "train.tokens").write_text("mine too\n")
    argv = ["pretokenize", "--corpus", str(root / "corpus"), "--tokenizer", str(root / "tokenizer.json"),
            "--workers", "1", "--out"]
    assert main([*argv, str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"pretokenize: --out {out}: holds files pretokenize did not write (notes.txt) and no meta.json of an "
        "earlier pretokenize; give a new or empty folder"]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "train.tokens"]
    assert (out / "train.tokens").read_text() == "mine too\n"
    # Its own output, whole or cut off before its meta.json, is written again.
    (out / "notes.txt").unlink()
    assert main([*argv, str(out)]) == 0
    assert TokenData(out, "train").num_documents == 4
    (out / "meta.json").unlink()
    assert main([*argv, str(out)]) == 0 and (out / "meta.json").is_file()
    # An earlier output with a file of the user's beside it keeps that file.
    (out / "notes.txt").write_text("mine\n")
    assert main([*argv, str(out)]) == 0 and (out / "notes.txt").read_text() == "mine\n"


def test_pretokenize_counts_documents_it_has_written_and_names_its_output(data_dir, tmp_path):
    # It said "train: 0 documents, 302 tokens" after the first document, and never where it wrote.
    root, _ = data_dir
    lines = []
    meta = pretokenize(root / "corpus", root / "tokenizer.json", tmp_path / "tokens", workers=1, log=lines.append)
    assert not any(" 0 documents" in line for line in lines), lines
    train, heldout = meta["splits"]["train"], meta["splits"]["heldout"]
    assert lines[-1] == (f"pretokenize: wrote {tmp_path / 'tokens'}: train {train['documents']} documents, "
                         f"{train['tokens']} tokens; heldout {heldout['documents']} documents, "
                         f"{heldout['tokens']} tokens")


def test_a_corpus_line_of_an_unknown_language_is_named_before_anything_is_written(data_dir, tmp_path, capsys):
    # It failed with KeyError: 'cobol' from the grammar table, part way through, leaving part of the output.
    from engine.cli import main

    root, texts = data_dir
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    python = json.dumps({"path": "a.py", "package": "a", "language": "python", "text": texts["unicode"]})
    cobol = json.dumps({"path": "b.cob", "package": "b", "language": "cobol", "text": "DISPLAY 'HI'.\n"})
    out = tmp_path / "tokens"
    argv = ["pretokenize", "--corpus", str(corpus), "--tokenizer", str(root / "tokenizer.json"), "--out", str(out),
            "--workers", "1"]
    # In the held-out split too, which is pretokenized after the train split's files are written.
    for train, heldout, named in (([python, cobol], [], "train.jsonl:2"),
                                  ([python], [python, cobol], "heldout.jsonl:2")):
        (corpus / "train.jsonl").write_text("".join(line + "\n" for line in train))
        (corpus / "heldout.jsonl").write_text("".join(line + "\n" for line in heldout))
        assert main(argv) == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f"pretokenize: {corpus}/{named}: unknown language 'cobol' (known: python, javascript, typescript, tsx, "
            "go, rust, java, c, cpp)"]
        assert not out.exists()


def test_merge_refuses_a_directory_given_twice_and_a_held_out_document_it_would_train_on(data_dir, tmp_path, capsys):
    # `merge-tokens data/tokens data/tokens` doubled both splits, and a part pretokenized from the corpus split with
    # another seed put a held-out file in the merged train split.
    from engine.cli import main

    root, texts = data_dir
    names = list(texts)
    resplit = tmp_path / "resplit"
    resplit.mkdir()
    # The same files, held out otherwise: the base's held-out file is trained on, one of its train files held out.
    for split, picked in (("train", names[1:]), ("heldout", names[:1])):
        with open(resplit / f"{split}.jsonl", "w") as fh:
            for name in picked:
                fh.write(json.dumps({"path": name, "package": name, "language": "python", "text": texts[name]}) + "\n")
    pretokenize(resplit, root / "tokenizer.json", tmp_path / "resplit-tokens", workers=1, log=lambda *_: None)
    out = tmp_path / "all"
    base = root / "tokens"
    first = texts[names[0]].strip().splitlines()[0][:60]  # as much of it as is named
    for dirs, expected in (
            ([base, tmp_path / "resplit-tokens"],
             f"{tmp_path / 'resplit-tokens'}: held-out document 0 (first line {first!r}) is document 0 of {base}'s "
             "train split: merged, it would be trained on and scored as held out; merge parts whose corpora hold out "
             "alike (a corpus and its `corpus --extends`)"),
            ([base, base], f"{base}: given twice; give each directory once, else its documents are trained on twice"),
            ([base, tmp_path / "resplit-tokens", base / ".." / "tokens"],
             f"{base / '..' / 'tokens'}: given twice (as {base} before it); give each directory once")):
        assert main(["merge-tokens", *map(str, dirs), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"merge-tokens: {expected}"), err
        assert not out.exists()
