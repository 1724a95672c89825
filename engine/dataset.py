"""Training data: the pretokenized corpus on disk and the infill samples built from it.

On disk (`infill-engine pretokenize`), per split, raw little-endian arrays described by `meta.json`:
  {split}.tokens     uint16  every document's tokens, back to back      {split}.doc_tokens  int64  offsets (docs+1)
  {split}.text       uint8   every document's UTF-8 bytes, back to back {split}.doc_bytes   int64  offsets (docs+1)
  {split}.spans      int64   (n, 4): document, byte start, byte end, kind (0 leaf, 1 one-line, 2 multi-line) of
                             tree-sitter nodes usable as holes
  {split}.doc_lang   uint8   language index per document (meta.json lists the names)

Sample format (the server builds the same encoder input and canvas; see `encoder_input` and `engine.canvas`):
  encoder: <bos> + prefix tokens, left-truncated to the prefix budget
  canvas (length L): H hole positions, then L-H suffix anchors (the first suffix tokens; if the file ends among
  them, <eos> then voids). Target of the hole: the middle's m <= H tokens, then H-m voids (<pad>).
  continuation: H = L, target = the next L tokens of the document (<eos> then voids where it ends).
  multi-hole: k holes of H positions each, the code between them as anchors after each, then the suffix anchors
  (`engine.canvas.with_holes`, as Fill placeholders lays out several holes); each hole reads its middle, then voids.
Infill cuts fall on characters and prefix, middle and suffix are tokenized separately, exactly as the server sees
them; continuation cuts fall on tokens, as the multi-canvas loop feeds canvases back to the encoder.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from engine.arguments import positive_int, user_path
from engine.canvas import with_holes
from engine.corpus import read_documents
from engine.errors import EngineError
from engine.languages import LANGUAGES, parser_for
from engine.vocab import BOS_ID, EOS_ID, PAD_ID, encode, load_tokenizer

LANGUAGE_NAMES = [lang.name for lang in LANGUAGES]
SPLITS = ("train", "heldout")
MIN_ANCHORS = 8  # as the engine's `min_suffix_anchors`: inference lays out no fewer suffix anchors
MAX_SPAN_BYTES = 400  # larger nodes rarely fit a 64-token canvas
SPANS_PER_KIND = 24  # per document and kind (leaf / one-line / multi-line), so big files do not dominate


# ---------------------------------------------------------------------------------------------------- the format


def encoder_input(prefix_ids: list[int], budget: int, bos_id: int = BOS_ID) -> list[int]:
    """<bos> + the last budget-1 prefix tokens."""
    keep = max(budget - 1, 0)
    return [bos_id] + (list(prefix_ids[-keep:]) if keep else [])


def hole_target(middle_ids: list[int], hole_length: int, void_id: int = PAD_ID) -> list[int]:
    """What the hole should read: the middle, then voids up to the hole length."""
    if len(middle_ids) > hole_length:
        raise ValueError(f"middle of {len(middle_ids)} tokens does not fit a hole of {hole_length}")
    return list(middle_ids) + [void_id] * (hole_length - len(middle_ids))


@dataclass
class Sample:
    encoder_ids: list[int]
    target: list[int]  # (L,) the clean canvas: hole targets and anchors
    holes: tuple[tuple[int, int], ...]  # (start, end) of each hole: the loss and corruption positions
    kind: str

    @property
    def hole_length(self) -> int:
        """Hole positions in all."""
        return sum(b - a for a, b in self.holes)


def infill_sample(prefix_ids: list[int], middle_ids: list[int], suffix_ids: list[int], hole_length: int,
                  canvas_length: int, prefix_budget: int, at_end: bool, kind: str = "infill") -> Sample:
    return holes_sample(prefix_ids, [middle_ids], [], suffix_ids, hole_length, canvas_length, prefix_budget, at_end,
                        kind)


def holes_sample(prefix_ids: list[int], middles: list[list[int]], between: list[list[int]], suffix_ids: list[int],
                 hole_length: int, canvas_length: int, prefix_budget: int, at_end: bool,
                 kind: str = "multi_hole") -> Sample:
    """One hole per middle, each `hole_length` long, with the code `between` them as anchors: the canvas
    `engine.canvas.with_holes` lays out for the same segments, with the suffix filling it out to `canvas_length`."""
    suffix_room = canvas_length - hole_length * len(middles) - sum(len(seg) for seg in between)
    if suffix_room < 0:
        raise ValueError(f"{len(middles)} holes of {hole_length} and the code between them do not fit a canvas of "
                         f"{canvas_length}")
    layout = with_holes([*map(list, between), list(suffix_ids)], [hole_length], EOS_ID, PAD_ID, suffix_room, at_end)
    target = layout.ids[0].tolist()
    for middle, (a, b) in zip(middles, layout.holes[0]):
        target[a:b] = hole_target(middle, hole_length)
    return Sample(encoder_input(prefix_ids, prefix_budget), target, layout.holes[0], kind)


def continuation_sample(prefix_ids: list[int], next_ids: list[int], canvas_length: int, prefix_budget: int,
                        at_end: bool) -> Sample:
    target = list(next_ids[:canvas_length])
    if len(target) < canvas_length and at_end:
        target.append(EOS_ID)
    target += [PAD_ID] * (canvas_length - len(target))
    return Sample(encoder_input(prefix_ids, prefix_budget), target, ((0, canvas_length),), "continuation")


@dataclass
class Batch:
    encoder_ids: torch.Tensor  # (B, T) left-padded with <pad>
    target: torch.Tensor  # (B, L)
    hole_mask: torch.Tensor  # (B, L) bool: loss and corruption positions
    kinds: list[str]
    encoder_valid: torch.Tensor | None = None  # (B, T) bool: real prompt tokens, not the left padding

    def to(self, device: torch.device) -> "Batch":
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return Batch(move(self.encoder_ids), move(self.target), move(self.hole_mask), self.kinds,
                     move(self.encoder_valid))


def collate(samples: list[Sample]) -> Batch:
    T = max(len(s.encoder_ids) for s in samples)
    L = len(samples[0].target)
    enc = torch.full((len(samples), T), PAD_ID, dtype=torch.long)
    valid = torch.zeros((len(samples), T), dtype=torch.bool)
    for i, s in enumerate(samples):
        enc[i, T - len(s.encoder_ids):] = torch.tensor(s.encoder_ids, dtype=torch.long)
        valid[i, T - len(s.encoder_ids):] = True
    target = torch.tensor([s.target for s in samples], dtype=torch.long)
    hole = torch.zeros((len(samples), L), dtype=torch.bool)
    for i, s in enumerate(samples):
        for a, b in s.holes:
            hole[i, a:b] = True
    return Batch(enc, target, hole, [s.kind for s in samples], valid if not bool(valid.all()) else None)


# ---------------------------------------------------------------------------------------------------- pretokenize


def syntax_spans(data: bytes, language: str, rng: np.random.Generator, max_bytes: int = MAX_SPAN_BYTES,
                 per_kind: int = SPANS_PER_KIND) -> list[tuple[int, int, int]]:
    """Byte spans of named tree-sitter nodes without parse errors, sampled per kind: leaves (names, literals),
    one-line nodes (expressions, statements, argument lists) and multi-line nodes (blocks, bodies)."""
    tree = parser_for(language).parse(data)
    kinds: list[list[tuple[int, int]]] = [[], [], []]
    for node in _preorder(tree.walk()):
        size = node.end_byte - node.start_byte
        if not (node.is_named and 0 < size <= max_bytes) or node.has_error or node.parent is None:
            continue
        if node.named_child_count == 0:
            kinds[0].append((node.start_byte, node.end_byte))
        elif node.start_point[0] == node.end_point[0]:
            kinds[1].append((node.start_byte, node.end_byte))
        else:
            kinds[2].append((node.start_byte, node.end_byte))
    out: list[tuple[int, int, int]] = []
    for kind, spans in enumerate(kinds):
        unique = sorted(set(spans))
        if len(unique) > per_kind:
            picks = rng.choice(len(unique), per_kind, replace=False)
            unique = [unique[i] for i in sorted(picks)]
        out.extend((a, b, kind) for a, b in unique)
    return out


def _preorder(cursor):
    while True:
        yield cursor.node
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while True:
            if not cursor.goto_parent():
                return
            if cursor.goto_next_sibling():
                break


_worker_tokenizer: Tokenizer | None = None


def _init_worker(tokenizer_path: str) -> None:
    global _worker_tokenizer
    _worker_tokenizer = load_tokenizer(Path(tokenizer_path))


def _process(item: tuple[int, str, str]) -> tuple[np.ndarray, bytes, np.ndarray, int]:
    index, language, text = item
    data = text.encode("utf-8")
    tokens = np.asarray(encode(_worker_tokenizer, text), dtype=np.uint16)
    rng = np.random.default_rng(index)
    spans = np.asarray(syntax_spans(data, language, rng), dtype=np.int64).reshape(-1, 3)
    return tokens, data, spans, LANGUAGE_NAMES.index(language)


@contextmanager
def _mapper(workers: int, tokenizer_path: str):
    """An ordered map over documents: a process pool, or in-process for one worker (tests, tiny corpora)."""
    if workers <= 1:
        _init_worker(tokenizer_path)
        yield map
        return
    with Pool(workers, initializer=_init_worker, initargs=(tokenizer_path,)) as pool:
        yield lambda fn, items: pool.imap(fn, items, 16)


def _items(corpus_file: Path, packages: set[str]):
    for i, doc in enumerate(read_documents(corpus_file)):
        if isinstance(doc.get("package"), str):
            packages.add(doc["package"])
        yield i, doc["language"], doc["text"]


# The files pretokenize writes; a folder holding only these is an earlier output of it (one cut off before its
# meta.json too), which it may write again.
OUTPUT_FILES = frozenset({"meta.json", *(f"{split}.{name}" for split in SPLITS for name in
                                         ("tokens", "text", "spans", "doc_lang", "doc_tokens", "doc_bytes"))})


def check_out_dir(out_dir: Path) -> None:
    """Refuse a folder holding files of someone else's: pretokenize would write its own among them, over any of
    the same names."""
    if not out_dir.is_dir():
        return  # new, or a file that mkdir names
    others = sorted(p.name for p in out_dir.iterdir() if p.name not in OUTPUT_FILES)
    if not others:
        return
    try:
        read_meta(out_dir)
        return  # an earlier output: its own files are replaced, the others left as they are
    except EngineError:
        pass
    shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
    raise EngineError(f"--out {out_dir}: holds files pretokenize did not write ({shown}) and no meta.json of an "
                      "earlier pretokenize; give a new or empty folder")


def check_corpus(corpus_dir: Path) -> None:
    """Refuse a corpus that pretokenize would stop in part way, leaving part of its output: a line that is not a
    document, one in a language the engine does not know, an empty train split. Read once before any file is written,
    so that a previous pretokenized directory stays whole; reading is a small part of what pretokenizing takes (the
    held-out split of `infill-engine corpus` read at 300 MB/s, its syntax spans alone were cut at 5 MB/s)."""
    for split in SPLITS:
        corpus_file = corpus_dir / f"{split}.jsonl"
        if not corpus_file.is_file():
            continue
        documents = 0
        # read_documents yields one document a line: the count is the line's number.
        for documents, doc in enumerate(read_documents(corpus_file), start=1):
            if doc["language"] not in LANGUAGE_NAMES:
                raise EngineError(f"{corpus_file}:{documents}: unknown language {doc['language']!r} (known: "
                                  f"{', '.join(LANGUAGE_NAMES)})")
        if split == "train" and documents == 0:
            raise EngineError(f"{corpus_file}: the train split has no documents")


def pretokenize(corpus_dir: Path, tokenizer_path: Path, out_dir: Path, workers: int = 2, log=print) -> dict:
    tok = load_tokenizer(tokenizer_path)
    if tok.get_vocab_size() > 65536:
        raise EngineError(f"{tokenizer_path}: {tok.get_vocab_size()} ids do not fit the pretokenized files' "
                          f"16 bits (at most 65,536)")
    check_out_dir(out_dir)
    check_corpus(corpus_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "tokenizer_sha256": hashlib.sha256(tokenizer_path.read_bytes()).hexdigest(),
        "vocab_size": tok.get_vocab_size(),
        "languages": LANGUAGE_NAMES,
        "splits": {},
    }
    for split in SPLITS:
        corpus_file = corpus_dir / f"{split}.jsonl"
        if not corpus_file.is_file():
            continue
        start = time.time()
        doc_tokens, doc_bytes = [0], [0]
        n_spans = 0
        files = {name: open(out_dir / f"{split}.{name}", "wb") for name in ("tokens", "text", "spans", "doc_lang")}
        packages: set[str] = set()
        try:
            with _mapper(workers, str(tokenizer_path)) as mapper:
                for doc, (tokens, data, spans, lang) in enumerate(mapper(_process, _items(corpus_file, packages))):
                    files["tokens"].write(tokens.tobytes())
                    files["text"].write(data)
                    if len(spans):
                        with_doc = np.concatenate([np.full((len(spans), 1), doc, np.int64), spans], axis=1)
                        files["spans"].write(with_doc.astype("<i8").tobytes())
                        n_spans += len(spans)
                    files["doc_lang"].write(bytes([lang]))
                    doc_tokens.append(doc_tokens[-1] + len(tokens))
                    doc_bytes.append(doc_bytes[-1] + len(data))
                    if (doc + 1) % 5000 == 0:
                        log(f"pretokenize: {split}: {doc + 1} documents, {doc_tokens[-1]} tokens")
        finally:
            for fh in files.values():
                fh.close()
        np.asarray(doc_tokens, dtype="<i8").tofile(out_dir / f"{split}.doc_tokens")
        np.asarray(doc_bytes, dtype="<i8").tofile(out_dir / f"{split}.doc_bytes")
        # The packages, so that a model trained on them can be kept from being evaluated on them (`TRAINING_DATA`).
        meta["splits"][split] = {"documents": len(doc_tokens) - 1, "tokens": doc_tokens[-1], "bytes": doc_bytes[-1],
                                 "spans": n_spans, "seconds": round(time.time() - start, 1),
                                 "packages": sorted(packages)}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    log(f"pretokenize: wrote {out_dir}: " + "; ".join(f"{split} {d['documents']} documents, {d['tokens']} tokens"
                                                       for split, d in meta["splits"].items()))
    return meta


_CONCATENATED = ("tokens", "text", "doc_lang")  # a split's files that join end to end
_SAME_TOKENIZER = ("tokenizer_sha256", "vocab_size", "languages")  # what merged directories must share


class MissingSplit(EngineError):
    """A pretokenized directory without the split asked for (a corpus grown with `--extends` has no held-out)."""


def read_meta(directory: Path) -> dict:
    """A pretokenized directory's meta.json, with what its readers rely on checked: a damaged or foreign file is
    one line naming it, not a KeyError from deep in training."""
    path = directory / "meta.json"
    if not path.is_file():
        raise EngineError(f"{path}: not found (run `infill-engine pretokenize` first)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise EngineError(f"{path}: not JSON ({err})") from None
    needed = (*_SAME_TOKENIZER, "splits")
    if not isinstance(meta, dict) or any(key not in meta for key in needed) or not isinstance(meta["splits"], dict) \
            or not all(isinstance(v, dict) for v in meta["splits"].values()) or not isinstance(meta["languages"], list):
        raise EngineError(f"{path}: not the meta.json `infill-engine pretokenize` writes (it needs "
                          f"{', '.join(needed)}); pretokenize the corpus again")
    return meta


def merge_pretokenized(dirs: list[Path], out_dir: Path, log=print) -> dict:
    """One pretokenized directory holding the documents of several, each split in the order given: a corpus grown
    with `infill-engine corpus --extends` trains on its base and its new files together, and its held-out split
    (which the new part leaves empty) stays the base's."""
    metas = [read_meta(Path(d)) for d in dirs]
    for d, meta in zip(dirs[1:], metas[1:]):
        for key in _SAME_TOKENIZER:
            if meta[key] != metas[0][key]:
                raise EngineError(f"{d}: its {key} differs from {dirs[0]}'s; pretokenize both with one tokenizer")
    if any(Path(d).resolve() == Path(out_dir).resolve() for d in dirs):
        raise EngineError(f"{out_dir}: is one of the directories merged; write the merge elsewhere")
    resolved = [Path(d).resolve() for d in dirs]
    for i, d in enumerate(dirs):
        if resolved[i] in resolved[:i]:
            first = dirs[resolved.index(resolved[i])]
            also = "" if Path(first) == Path(d) else f" (as {first} before it)"
            raise EngineError(f"{d}: given twice{also}; give each directory once, else its documents are trained on "
                              "twice")
    _check_heldout_apart([Path(d) for d in dirs], metas)
    out_dir.mkdir(parents=True, exist_ok=True)
    merged = {**{k: metas[0][k] for k in _SAME_TOKENIZER},
              "splits": {}, "merged_from": [str(d) for d in dirs]}
    for split in SPLITS:
        parts = [Path(d) for d, m in zip(dirs, metas) if split in m["splits"]]
        if not parts:
            continue
        doc_tokens, doc_bytes, spans = [np.zeros(1, "<i8")], [np.zeros(1, "<i8")], []
        docs = n_tokens = n_bytes = 0
        for name in _CONCATENATED:
            with open(out_dir / f"{split}.{name}", "wb") as out:
                for d in parts:
                    with open(d / f"{split}.{name}", "rb") as fh:
                        while chunk := fh.read(1 << 24):
                            out.write(chunk)
        for d in parts:
            offsets_t = np.fromfile(d / f"{split}.doc_tokens", dtype="<i8")
            offsets_b = np.fromfile(d / f"{split}.doc_bytes", dtype="<i8")
            doc_tokens.append(offsets_t[1:] + n_tokens)
            doc_bytes.append(offsets_b[1:] + n_bytes)
            part_spans = np.fromfile(d / f"{split}.spans", dtype="<i8").reshape(-1, 4)  # (doc, start, end, kind)
            spans.append(part_spans + np.array([docs, 0, 0, 0], dtype="<i8"))
            docs, n_tokens, n_bytes = docs + len(offsets_t) - 1, n_tokens + offsets_t[-1], n_bytes + offsets_b[-1]
        np.concatenate(doc_tokens).astype("<i8").tofile(out_dir / f"{split}.doc_tokens")
        np.concatenate(doc_bytes).astype("<i8").tofile(out_dir / f"{split}.doc_bytes")
        all_spans = np.concatenate(spans)
        all_spans.astype("<i8").tofile(out_dir / f"{split}.spans")
        merged["splits"][split] = {"documents": docs, "tokens": int(n_tokens), "bytes": int(n_bytes),
                                   "spans": len(all_spans)}
        lists = [m["splits"][split].get("packages") for m in metas if split in m["splits"]]
        if all(isinstance(names, list) for names in lists):  # a part pretokenized before they were listed: unknown
            merged["splits"][split]["packages"] = sorted(set().union(*lists))
        log(f"merge-tokens: {split}: {merged['splits'][split]}")
    (out_dir / "meta.json").write_text(json.dumps(merged, indent=1))
    return merged


def _document_texts(directory: Path, split: str, wanted: np.ndarray | None = None):
    """(index, UTF-8 bytes) of a split's documents, of those whose byte length `wanted` holds where given."""
    offsets = np.fromfile(directory / f"{split}.doc_bytes", dtype="<i8")
    path = directory / f"{split}.text"
    if len(offsets) < 2 or offsets[-1] == 0 or path.stat().st_size == 0:
        return
    text = np.memmap(path, dtype="u1", mode="r")
    lengths = np.diff(offsets)
    picked = np.flatnonzero(lengths > 0) if wanted is None else np.flatnonzero(np.isin(lengths, wanted))
    for doc in picked:
        yield int(doc), text[offsets[doc]:offsets[doc + 1]].tobytes()


def _check_heldout_apart(dirs: list[Path], metas: list[dict]) -> None:
    """Refuse a merge that would train on a document it holds out: parts pretokenized from corpora split apart
    (another seed, another environment without `corpus --extends`) can hold the same file in different splits. The
    held-out documents (a few percent) are hashed; of the train documents only those of a held-out document's
    length are read. Empty documents hold nothing to learn and are left aside."""
    heldout: dict[bytes, tuple[Path, int]] = {}
    lengths: set[int] = set()
    for d, meta in zip(dirs, metas):
        if "heldout" in meta["splits"]:
            for doc, data in _document_texts(d, "heldout"):
                heldout.setdefault(hashlib.blake2b(data, digest_size=16).digest(), (d, doc))
                lengths.add(len(data))
    if not heldout:
        return
    for d, meta in zip(dirs, metas):
        if "train" not in meta["splits"]:
            continue
        for doc, data in _document_texts(d, "train", np.fromiter(lengths, dtype=np.int64)):
            found = heldout.get(hashlib.blake2b(data, digest_size=16).digest())
            if found is not None:
                held_in, held_doc = found
                first = (data.decode("utf-8", "replace").strip().splitlines() or [""])[0][:60]
                raise EngineError(f"{held_in}: held-out document {held_doc} (first line {first!r}) is document {doc} "
                                  f"of {d}'s train split: merged, it would be trained on and scored as held out; "
                                  "merge parts whose corpora hold out alike (a corpus and its `corpus --extends`)")


class TokenData:
    """One split of the pretokenized corpus, memory-mapped read-only."""

    def __init__(self, directory: Path, split: str):
        directory = Path(directory)
        self.meta = read_meta(directory)
        if split not in self.meta["splits"]:
            raise MissingSplit(f"{directory}: no {split!r} split")
        self.directory, self.split = directory, split

        def arr(name: str, dtype: str) -> np.ndarray:
            path = directory / f"{split}.{name}"
            if path.stat().st_size == 0:
                return np.zeros(0, dtype=dtype)
            return np.memmap(path, dtype=dtype, mode="r")

        self.tokens = arr("tokens", "<u2")
        self.text = arr("text", "u1")
        self.doc_tokens = np.fromfile(directory / f"{split}.doc_tokens", dtype="<i8")
        self.doc_bytes = np.fromfile(directory / f"{split}.doc_bytes", dtype="<i8")
        self.spans = arr("spans", "<i8").reshape(-1, 4)
        self.doc_lang = np.fromfile(directory / f"{split}.doc_lang", dtype="u1")
        self.languages: list[str] = self.meta["languages"]

    @property
    def num_documents(self) -> int:
        return len(self.doc_tokens) - 1

    def document_tokens(self, doc: int) -> np.ndarray:
        return self.tokens[self.doc_tokens[doc] : self.doc_tokens[doc + 1]]

    def document_bytes(self, doc: int) -> bytes:
        return self.text[self.doc_bytes[doc] : self.doc_bytes[doc + 1]].tobytes()


# ---------------------------------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class SampleMix:
    """Shares of each sample kind in a batch and how they are cut."""

    random_span: float = 0.30  # a random character range
    syntax_node: float = 0.25  # exactly one tree-sitter node: statements, expressions, blocks, names
    syntax_tail: float = 0.15  # from inside a node to its end: the fill must close the structure
    continuation: float = 0.30  # plain next-canvas continuation
    zero_slack: float = 0.25  # share of infill samples whose hole is exactly as long as the middle
    line_end: float = 0.3  # share of random spans that end at the end of a line
    file_end: float = 0.05  # share of random spans that run to the end of the file (no suffix)
    # Share of infill samples cut as 2-3 holes of one canvas with code between them, as Fill placeholders fills them
    multi_hole: float = 0.10
    language_weights: dict[str, float] = field(default_factory=dict)  # default 1.0 (Python first: others lower)

    def kinds(self) -> tuple[list[str], np.ndarray]:
        infill = ["random_span", "syntax_node", "syntax_tail"]
        # multi_hole last: at a share of 0 the draws of the other kinds are those of a mix without it
        names = [*infill, "continuation", "multi_hole"]
        w = np.array([*(getattr(self, n) * (1 - self.multi_hole) for n in infill), self.continuation,
                      self.multi_hole * sum(getattr(self, n) for n in infill)], dtype=np.float64)
        return names, w / w.sum()


# SampleMix fields that are shares of something (each from 0 to 1); the kinds' weights are made shares by `kinds`.
_MIX_SHARES = ("zero_slack", "line_end", "file_end", "multi_hole")
# The weights `kinds` divides by the sum of (multi_hole only moves infill weight into multi-hole samples).
_MIX_KINDS = ("random_span", "syntax_node", "syntax_tail", "continuation")


def sample_mix(settings: object, name: str = "mix") -> SampleMix:
    """The SampleMix of the setting `name` (an object of its fields), or an EngineError naming the setting and what
    is wrong with it: a key SampleMix does not have, or a value the first batch would fail on (a negative weight, a
    multi_hole share above 1, every kind weighted 0)."""
    fields = [f.name for f in dataclasses.fields(SampleMix)]
    if not isinstance(settings, dict):
        raise EngineError(f"{name} {settings!r}: give an object of sample weights and shares ({', '.join(fields)})")
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise EngineError(f"{name}: unknown key{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}; choose from "
                          f"{', '.join(fields)}")

    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and value >= 0

    for key, value in settings.items():
        if key == "language_weights":
            continue
        share = key in _MIX_SHARES
        if not number(value) or share and value > 1:
            raise EngineError(f"{name}.{key} {value!r}: give "
                              f"{'a share from 0 to 1' if share else 'a weight of at least 0'}")
    weights = settings.get("language_weights", {})
    if not isinstance(weights, dict):
        raise EngineError(f"{name}.language_weights {weights!r}: give an object of a weight per language")
    for language, weight in weights.items():
        if language not in LANGUAGE_NAMES:
            raise EngineError(f"{name}.language_weights: unknown language {language!r} (known: "
                              f"{', '.join(LANGUAGE_NAMES)})")
        if not number(weight):
            raise EngineError(f"{name}.language_weights.{language} {weight!r}: give a weight of at least 0")
    mix = SampleMix(**settings)
    if not sum(getattr(mix, kind) for kind in _MIX_KINDS) > 0:
        raise EngineError(f"{name} {settings!r}: every sample kind ({', '.join(_MIX_KINDS)}) is weighted 0; "
                          "give one a positive weight")
    return mix


def _char_start(data: bytes, pos: int) -> int:
    """The first UTF-8 character boundary at or after pos."""
    while pos < len(data) and (data[pos] & 0xC0) == 0x80:
        pos += 1
    return pos


def _prefix_start(data: bytes, a: int, budget: int) -> int:
    """Where the text read before a hole at ``a`` starts: 8 bytes a token, more than enough for `budget` tokens."""
    return _char_start(data, max(0, a - 8 * budget))


def _suffix_end(data: bytes, b: int, L: int) -> int:
    """Where the text read after a hole ending at ``b`` ends: enough for a canvas of ``L`` anchors."""
    return _char_start(data, min(len(data), b + 16 * L))


class SampleStream:
    """Batches as a pure function of (seed, batch index): a resumed run sees exactly the data it would have seen."""

    def __init__(self, data: TokenData, tokenizer: Tokenizer, canvas_length: int | list[int],
                 prefix_budgets: list[int], mix: SampleMix = SampleMix(), seed: int = 0):
        self.data = data
        self.tok = tokenizer
        # Several lengths: each batch takes one, so the server may use a narrower canvas for a short hole.
        self.canvas_lengths = [canvas_length] if isinstance(canvas_length, int) else list(canvas_length)
        self.prefix_budgets = prefix_budgets
        self.mix = mix
        self.seed = seed
        lengths = np.diff(data.doc_tokens).astype(np.float64)
        lang_w = np.array([mix.language_weights.get(name, 1.0) for name in data.languages])
        weights = lengths * lang_w[data.doc_lang]
        if not weights.sum() > 0:
            what = "no documents" if data.num_documents == 0 else \
                f"no tokens to sample ({data.num_documents} documents, empty or weighted 0 by language_weights)"
            raise EngineError(f"{data.directory}: the {data.split} split has {what}")
        self.doc_cdf = np.cumsum(weights) / weights.sum()
        # Tails are cut from composite nodes only: the tail of a name is just a random cut inside a word.
        self.span_cdf = self._cdf(lang_w[data.doc_lang[data.spans[:, 0]]] if len(data.spans) else np.zeros(0))
        composite = np.flatnonzero(data.spans[:, 3] > 0) if len(data.spans) else np.zeros(0, np.int64)
        self.composite = composite
        self.composite_cdf = self._cdf(lang_w[data.doc_lang[data.spans[composite, 0]]] if len(composite) else
                                       np.zeros(0))

    @staticmethod
    def _cdf(weights: np.ndarray) -> np.ndarray | None:
        return np.cumsum(weights) / weights.sum() if len(weights) and weights.sum() > 0 else None

    def _doc(self, rng: np.random.Generator) -> int:
        return int(np.searchsorted(self.doc_cdf, rng.random(), side="right").clip(0, self.data.num_documents - 1))

    def _span(self, rng: np.random.Generator, composite: bool) -> tuple[int, int, int]:
        cdf = self.composite_cdf if composite else self.span_cdf
        i = int(np.searchsorted(cdf, rng.random(), side="right").clip(0, len(cdf) - 1))
        doc, a, b, _ = self.data.spans[self.composite[i] if composite else i]
        return int(doc), int(a), int(b)

    def batch(self, index: int, batch_size: int) -> Batch:
        rng = np.random.default_rng([self.seed, index])
        budget = int(rng.choice(self.prefix_budgets))
        L = self.canvas_lengths[0] if len(self.canvas_lengths) == 1 else int(rng.choice(self.canvas_lengths))
        names, probs = self.mix.kinds()
        kinds = rng.choice(names, size=batch_size, p=probs)
        samples: list[Sample | None] = [None] * batch_size
        cuts = {}
        for i, kind in enumerate(kinds):
            no_spans = self.composite_cdf is None if kind == "syntax_tail" else self.span_cdf is None
            if kind == "continuation" or (kind.startswith("syntax") and no_spans):
                samples[i] = self._continuation(rng, budget, L)
            elif kind == "multi_hole":
                samples[i] = self._multi_hole(rng, budget, L)
            else:
                cuts[i] = self._cut(rng, kind, budget, L)
        self._fill_infill(rng, cuts, samples, budget, L)
        return collate(samples)

    def _continuation(self, rng: np.random.Generator, budget: int, L: int) -> Sample:
        doc = self._doc(rng)
        toks = self.data.document_tokens(doc)
        p = int(rng.integers(0, max(len(toks), 1)))
        prefix = toks[max(0, p - budget) : p].tolist()
        nxt = toks[p : p + L].tolist()
        return continuation_sample(prefix, nxt, L, budget, at_end=p + L >= len(toks))

    def _multi_hole(self, rng: np.random.Generator, budget: int, L: int) -> Sample:
        """2-3 holes at random character ranges of one window, with code between them, laid out as Fill
        placeholders lays out several holes (`holes_sample`); a continuation where they do not fit."""
        doc = self._doc(rng)
        data = self.data.document_bytes(doc)
        count = int(rng.integers(2, 4))
        room = L - MIN_ANCHORS  # for the holes and the code between them
        start = _char_start(data, int(rng.integers(0, len(data) + 1)))
        at_line_end = rng.random(count) < self.mix.line_end
        sizes, gaps = rng.random(count), rng.random(count - 1)
        scale = 3 * room // (2 * count - 1)  # bytes (~3 a token) of a whole middle or gap, halved while too long
        for _ in range(3):
            bounds, pos = [], start
            for n in range(count):
                b = _char_start(data, min(len(data), pos + int(sizes[n] * scale)))
                if at_line_end[n]:
                    eol = data.find(b"\n", b)
                    b = len(data) if eol < 0 else eol
                bounds.append((pos, b))
                pos = _char_start(data, min(len(data), b + 1 + int(gaps[n] * scale))) if n < count - 1 else b
            if any(b >= next_a for (_, b), (next_a, _) in zip(bounds, bounds[1:])):
                break  # the file ended before the last hole: no code between
            pa = _prefix_start(data, start, budget)
            sb = _suffix_end(data, bounds[-1][1], L)
            texts = [data[pa:start], *(data[a:b] for a, b in bounds),
                     *(data[b:next_a] for (_, b), (next_a, _) in zip(bounds, bounds[1:])), data[bounds[-1][1]:sb]]
            ids = [e.ids for e in self.tok.encode_batch([t.decode("utf-8") for t in texts], add_special_tokens=False)]
            prefix, middles, between, suffix = ids[0], ids[1:count + 1], ids[count + 1:-1], ids[-1]
            longest, used = max(max(map(len, middles)), 1), sum(map(len, between))
            if count * longest + used <= room:
                most = (room - used) // count
                H = longest if rng.random() < self.mix.zero_slack else int(rng.integers(longest, most + 1))
                return holes_sample(prefix, middles, between, suffix, H, L, budget, sb >= len(data))
            scale //= 2
        return self._continuation(rng, budget, L)

    def _cut(self, rng: np.random.Generator, kind: str, budget: int, L: int) -> tuple:
        """(doc bytes, hole start, hole end, kind, whether the end is the point of the cut) with both ends on
        character boundaries."""
        if kind == "random_span":
            doc = self._doc(rng)
            data = self.data.document_bytes(doc)
            a = _char_start(data, int(rng.integers(0, len(data) + 1)))
            u = rng.random()
            if u < self.mix.file_end:
                b = len(data)
            else:
                # ~3 bytes per token: middles from empty to about a canvas long.
                b = _char_start(data, min(len(data), a + int(rng.integers(0, 3 * L))))
                if u < self.mix.file_end + self.mix.line_end:
                    eol = data.find(b"\n", b)
                    b = len(data) if eol < 0 else eol
            return data, a, b, kind, u < self.mix.file_end + self.mix.line_end
        doc, a, b = self._span(rng, composite=kind == "syntax_tail")
        data = self.data.document_bytes(doc)
        if kind == "syntax_tail" and b - a > 1:
            a = _char_start(data, int(rng.integers(a + 1, b)))
        return data, a, b, kind, True

    def _fill_infill(self, rng: np.random.Generator, cuts: dict, samples: list, budget: int, L: int) -> None:
        order = sorted(cuts)
        texts: list[str] = []
        for i in order:
            data, a, b, *_ = cuts[i]
            pa, sb = _prefix_start(data, a, budget), _suffix_end(data, b, L)
            texts += [data[pa:a].decode("utf-8"), data[a:b].decode("utf-8"), data[b:sb].decode("utf-8")]
            cuts[i] = (*cuts[i], sb >= len(data))
        encoded = self.tok.encode_batch(texts, add_special_tokens=False) if texts else []
        for n, i in enumerate(order):
            prefix, middle, suffix = (e.ids for e in encoded[3 * n : 3 * n + 3])
            data, a, b, kind, keep_end, at_end = cuts[i]
            for _ in range(3):
                if len(middle) <= L - 1:
                    break
                # Too long for one canvas with anchors: shorten it, keeping an end that is the point of the cut (a
                # structure to close, the end of a line or of the file: moving it would make a plain random span).
                keep = int((b - a) * (L - 1) / len(middle) * 0.9)
                if not keep_end:
                    b = _char_start(data, a + keep)
                    sb = _suffix_end(data, b, L)
                    suffix, at_end = encode(self.tok, data[b:sb].decode("utf-8")), sb >= len(data)
                else:
                    new_a = _char_start(data, b - keep)
                    prefix = encode(self.tok, data[_prefix_start(data, new_a, budget):new_a].decode("utf-8"))
                    a = new_a
                middle = encode(self.tok, data[a:b].decode("utf-8"))
            m = len(middle)
            if m > L - 1:
                samples[i] = self._continuation(rng, budget, L)
                continue
            if rng.random() < self.mix.zero_slack or m == L - 1:
                H = max(m, 1)
            else:
                H = int(rng.integers(max(m, 1), L))
            samples[i] = infill_sample(prefix, middle, suffix, H, L, budget, at_end, kind)


# ---------------------------------------------------------------------------------------------------- CLI


def run(args: argparse.Namespace) -> int:
    corpus, tokenizer = Path(args.corpus), Path(args.tokenizer)
    for path in (corpus / "train.jsonl", tokenizer):
        if not path.is_file():
            # A checkpoint's folder for --tokenizer: its tokenizer.json is meant.
            held = " (give its tokenizer.json)" if path == tokenizer and (path / "tokenizer.json").is_file() else ""
            print(f"pretokenize: {path}: {'a folder, not a file' if path.is_dir() else 'not found'}{held}",
                  file=sys.stderr)
            return 2
    meta = pretokenize(corpus, tokenizer, Path(args.out), workers=args.workers)
    print(json.dumps(meta["splits"], indent=1))
    return 0


def run_merge(args: argparse.Namespace) -> int:
    try:
        merge_pretokenized([Path(d) for d in args.dirs], Path(args.out))
    except EngineError as err:
        print(f"merge-tokens: {err}", file=sys.stderr)
        return 2
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pretokenize",
        help="tokenize the corpus into flat uint16 token files and collect tree-sitter hole spans",
        description="Tokenize train.jsonl and heldout.jsonl with the trained tokenizer into flat arrays (tokens, "
        "text, document offsets) and record tree-sitter node spans used as training holes.",
    )
    p.add_argument("--corpus", type=user_path, default="data/corpus", help="corpus directory (default: data/corpus)")
    p.add_argument("--tokenizer", type=user_path, default="data/tokenizer.json",
                   help="tokenizer.json (default: data/tokenizer.json)")
    p.add_argument("--out", type=user_path, default="data/tokens", help="output directory (default: data/tokens)")
    p.add_argument("--workers", type=positive_int, default=2)
    p.set_defaults(func=run)
    m = subparsers.add_parser(
        "merge-tokens",
        help="concatenate pretokenized directories (a corpus and the code added with `corpus --extends`)",
        description="Write one pretokenized directory holding the documents of several, split by split in the "
        "order given. All must come from one tokenizer. A corpus grown with `infill-engine corpus --extends` has no "
        "held-out files of its own, so the merge keeps the base's held-out split.",
    )
    m.add_argument("dirs", type=user_path, nargs="+", metavar="DIR", help="pretokenized directories, the base first")
    m.add_argument("--out", type=user_path, required=True, help="output directory")
    m.set_defaults(func=run_merge)
