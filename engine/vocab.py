"""Byte-level BPE trained on the corpus's train split, saved as `tokenizer.json`.

Ids 0, 1, 2 are `<pad>` (also the void that fills a hole past its end), `<eos>` and `<bos>`; the BPE vocabulary
follows. Text is never normalized, so every string (tabs, trailing spaces, CRLF, any unicode) round-trips exactly.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from engine.arguments import user_path
from engine.corpus import read_documents
from engine.errors import EngineError
from engine.tokenizer import special_ids

SPECIAL_TOKENS = ("<pad>", "<eos>", "<bos>")  # ids 0, 1, 2
PAD_ID, EOS_ID, BOS_ID = 0, 1, 2

# Pieces BPE may not merge across: identifiers (with one leading non-word character such as a space or a dot),
# numbers of up to three digits, punctuation runs with the line breaks after them, line breaks, and whitespace
# runs (whose last space joins the next word). Keeping digits short and identifiers whole spends the small
# vocabulary on the words code repeats.
SPLIT_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{L}\p{M}_]+[\p{L}\p{M}\p{N}_]*"
    r"|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}_]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)


def new_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """A byte-level BPE of `vocab_size` ids in all, specials first."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return tok


def load_tokenizer(path: Path) -> Tokenizer:
    """The tokenizer with literal special-token text (e.g. a string "<eos>" in code) encoded as ordinary bytes."""
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as err:  # noqa: BLE001 - the tokenizers library raises a bare Exception for any bad file
        reason = ("file not found" if not Path(path).exists() else "a folder, not a file" if Path(path).is_dir()
                  else f"not a tokenizer.json ({err})")
        raise EngineError(f"{path}: {reason}") from None
    tok.encode_special_tokens = True
    # Training and pretokenizing lay samples out with ids 0-2 as <pad> (the void), <eos> and <bos>: in a tokenizer
    # where one is an ordinary token, every sample would teach the model to write that text as a void.
    special = special_ids(tok)
    for i, name in enumerate(SPECIAL_TOKENS):
        if i not in special:
            token = tok.id_to_token(i)
            what = "no token" if token is None else f"the ordinary token {token!r}"
            raise EngineError(f"{path}: id {i} is {what}; training needs a special token there ({name})")
    return tok


def encode(tok: Tokenizer, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False).ids


def sampled_texts(corpus_file: Path, max_bytes: int, stride: int = 1) -> Iterator[str]:
    """Every `stride`-th document, up to `max_bytes` of text: BPE merges settle long before the whole corpus."""
    total = 0
    for n, doc in enumerate(read_documents(corpus_file)):
        if n % stride:
            continue
        text = doc["text"]
        total += len(text)
        if total > max_bytes:
            return
        yield text


def round_trip_failures(tok: Tokenizer, texts: Iterable[str]) -> int:
    return sum(tok.decode(encode(tok, t), skip_special_tokens=False) != t for t in texts)


def run(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus) / "train.jsonl"
    if not corpus.is_file():
        print(f"tokenizer: {corpus}: not found (run `infill-engine corpus` first)", file=sys.stderr)
        return 2
    if not 259 <= args.vocab_size <= 65536:
        print(f"tokenizer: --vocab-size {args.vocab_size}: must be between 259 and 65536", file=sys.stderr)
        return 2
    if args.stride < 1 or args.max_mb <= 0:
        print("tokenizer: --stride must be at least 1 and --max-mb positive", file=sys.stderr)
        return 2
    heldout = Path(args.corpus) / "heldout.jsonl"
    if not heldout.is_file():
        print(f"tokenizer: {heldout}: not found (the round trip is checked on it)", file=sys.stderr)
        return 2
    out = Path(args.out)
    from engine.cli import check_not_an_input, check_writable, folder_files, replaced

    check_writable(out)
    check_not_an_input(out, folder_files(args.corpus, "the corpus"))
    start = time.time()
    texts = list(sampled_texts(corpus, int(args.max_mb * 1e6), args.stride))
    if not texts:
        print(f"tokenizer: {corpus}: no documents to learn from", file=sys.stderr)
        return 2
    tok = train_tokenizer(texts, args.vocab_size)
    with replaced(out) as temp:  # whole or not at all: an interrupted save left half a tokenizer in its place
        tok.save(str(temp))
    tok = load_tokenizer(out)
    check = list(sampled_texts(Path(args.corpus) / "heldout.jsonl", 2_000_000))
    failures = round_trip_failures(tok, check)
    n_bytes = sum(len(t.encode("utf-8")) for t in check)
    n_tokens = sum(len(encode(tok, t)) for t in check)
    print(f"tokenizer: {tok.get_vocab_size()} ids -> {out} in {time.time() - start:.0f}s; held-out round trip: "
          f"{len(check) - failures}/{len(check)} exact, {n_bytes / max(n_tokens, 1):.2f} bytes/token")
    return 0 if failures == 0 else 1


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tokenizer",
        help="train the byte-level BPE tokenizer on the corpus's train split",
        description="Train a byte-level BPE (ids 0-2: <pad>, <eos>, <bos>) on train.jsonl and check the exact "
        "round trip on held-out files.",
    )
    p.add_argument("--corpus", type=user_path, default="data/corpus", help="corpus directory (default: data/corpus)")
    p.add_argument("--out", type=user_path, default="data/tokenizer.json",
                   help="output file (default: data/tokenizer.json)")
    p.add_argument("--vocab-size", type=int, default=8192)
    p.add_argument("--max-mb", type=float, default=120.0, help="text to learn merges from, in MB (default 120)")
    p.add_argument("--stride", type=int, default=1, help="use every N-th document (default 1)")
    p.set_defaults(func=run)
