"""`tokenizers.Tokenizer` plus the model's special ids."""

from __future__ import annotations

import codecs
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer as _HFTokenizer
from tokenizers import decoders

from engine.errors import CheckpointError


def model_text(text: str) -> str:
    """`text` with LF line breaks, as the model reads it: its training text had no others (`holes`), and a CRLF
    file's carriage returns would each be a byte token it never saw, changing most of its fills. Fills come back
    with LF; a caller puts its own line breaks back."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


# A lone UTF-16 surrogate: an editor's buffer can hold one (LSP text arrives as JSON, whose escapes allow it), and
# the tokenizer refuses any string with one in it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _byte_level_alphabet() -> dict[str, int]:
    """The byte-level BPE's character for each byte (GPT-2's table): printable bytes stand for themselves, the
    others for the characters from U+0100 on, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(256 + n): b for n, b in enumerate(others)}


_BYTE_OF = _byte_level_alphabet()


def _whole_characters(data: bytes) -> str:
    """``data`` decoded up to its last whole character: an incremental decoder holds back the bytes of one cut
    short at the end; invalid bytes before it become U+FFFD, as the tokenizer decodes them."""
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=False)


def special_ids(inner: _HFTokenizer) -> set[int]:
    """The ids of the tokenizer's special tokens (added tokens marked special)."""
    return {i for i, token in inner.get_added_tokens_decoder().items() if token.special}


def _check_special(path: Path, inner: _HFTokenizer, ids: dict[str, int]) -> None:
    """CheckpointError naming the config key when an id is not one of the tokenizer's special tokens. Fills drop
    voids and end at EOS, so an ordinary token there (a tokenizer without <pad>/<eos>/<bos>, whose ids 0-2 are '!',
    '"' and '#') would be cut out of every fill that writes it; an added token that is not special is matched in
    code as text, so a file spelling "<eos>" would end its fill."""
    special = special_ids(inner)
    for key, i in ids.items():
        if i in special:
            continue
        token = inner.id_to_token(i)
        if token is None:
            raise CheckpointError(f"{path}: {key} {i} is not a token of this tokenizer")
        raise CheckpointError(f"{path}: {key} {i} is the ordinary token {token!r}, not a special token")


def _keeps_every_character(pre_tokenizer: dict | None) -> bool:
    """Whether a pre-tokenizer (tokenizer.json's) hands the model every character of the text: it splits and maps
    them, one for one or into more, but drops none (`Whitespace` does, a split whose behavior is `Removed`)."""
    if pre_tokenizer is None:
        return True
    kind = pre_tokenizer.get("type")
    if kind == "Sequence":
        return all(_keeps_every_character(step) for step in pre_tokenizer.get("pretokenizers") or [])
    if kind in ("Split", "Punctuation"):
        return pre_tokenizer.get("behavior") != "Removed"
    return kind in ("ByteLevel", "Metaspace", "Digits", "UnicodeScripts")


@dataclass
class Tokenizer:
    inner: _HFTokenizer
    pad_id: int = 0
    eos_id: int = 1
    bos_id: int = 2
    # Ids that end a fill as EOS does (an instruction-tuned checkpoint's end of turn).
    stop_ids: frozenset[int] = frozenset()

    @property
    def void_id(self) -> int:
        """Hole positions past the fill hold this; stripped from the output."""
        return self.pad_id

    @classmethod
    def from_file(cls, path: Path, pad_id: int = 0, eos_id: int = 1, bos_id: int = 2,
                  vocab_size: int | None = None, stop_ids: Iterable[int] = ()) -> "Tokenizer":
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: {'a folder, not a file' if path.is_dir() else 'file not found'}")
        try:
            inner = _HFTokenizer.from_file(str(path))
        except Exception as err:  # the tokenizers library raises a bare Exception on bad JSON
            raise CheckpointError(f"{path}: not a valid tokenizer.json ({str(err).splitlines()[0]})") from None
        # Code may contain the literal text "<eos>": it must stay ordinary bytes, not become the special id.
        inner.encode_special_tokens = True
        size = inner.get_vocab_size(with_added_tokens=True)
        if vocab_size is not None and size > vocab_size:
            raise CheckpointError(
                f"{path}: tokenizer has {size} tokens but the model's vocabulary is {vocab_size}")
        _check_special(path, inner, {"pad_token_id": pad_id, "eos_token_id": eos_id, "bos_token_id": bos_id})
        return cls(inner, pad_id=pad_id, eos_id=eos_id, bos_id=bos_id, stop_ids=frozenset(stop_ids))

    @functools.cached_property
    def longest_token_chars(self) -> int | None:
        """The most characters of text one token stands for: a text of n characters has at least n / this many
        tokens, known without tokenizing it. Only for BPE whose steps before the model keep every character (a
        byte-level token's characters are bytes, at least as many as the characters they spell); None for anything
        else, where no such bound holds: a normalizer may join characters, a pre-tokenizer drop whitespace, a word
        model or a fused unknown token stand for any run of them, an added token swallow the spaces beside it."""
        spec = json.loads(self.inner.to_str())
        model = spec.get("model") or {}
        if (model.get("type") != "BPE" or model.get("fuse_unk") or spec.get("normalizer") is not None
                or not _keeps_every_character(spec.get("pre_tokenizer"))
                or any(t.get("lstrip") or t.get("rstrip") for t in spec.get("added_tokens") or [])):
            return None
        return max((len(token) for token in self.inner.get_vocab(with_added_tokens=True)), default=None)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; a lone surrogate is read as U+FFFD, one code point for one, as a decoder would."""
        return self.inner.encode(_SURROGATE.sub("\ufffd", text), add_special_tokens=False).ids

    def encode_markup(self, text: str) -> list[int]:
        """Token ids of text whose special tokens are meant (a chat template's turn markers), unlike code's."""
        self.inner.encode_special_tokens = False
        try:
            return self.inner.encode(_SURROGATE.sub("\ufffd", text), add_special_tokens=False).ids
        finally:
            self.inner.encode_special_tokens = True

    def special_tokens(self) -> dict[str, str]:
        """bos_token, eos_token and pad_token as text, as chat templates name them."""
        names = {"bos_token": self.bos_id, "eos_token": self.eos_id, "pad_token": self.pad_id}
        return {name: self.inner.id_to_token(i) or "" for name, i in names.items()}

    def strip(self, ids: list[int]) -> list[int]:
        """`ids` up to the first EOS (or other stop id), voids dropped: what a hole's fill really holds."""
        out = []
        for i in ids:
            if i == self.eos_id or i in self.stop_ids:
                break
            if i != self.pad_id:
                out.append(i)
        return out

    def decode(self, ids: list[int]) -> str:
        """The text of a fill or reply. Special tokens a model emits (a stray BOS, a turn marker) are not text the
        user wrote and are left out; code that spells `<bos>` is encoded as ordinary bytes, so it stays. A fill
        that stops inside a character (a byte-level BPE writes one a byte at a time) ends at the last whole one:
        the bytes after it would decode to U+FFFD. Bytes broken off before more text stay U+FFFD, for the caller."""
        ids = self.strip(ids)
        text = self.inner.decode(ids, skip_special_tokens=True)
        if not text.endswith("\ufffd") or not isinstance(self.inner.decoder, decoders.ByteLevel):
            return text
        return _whole_characters(self._byte_level_bytes(ids))

    def _byte_level_bytes(self, ids: list[int]) -> bytes:
        """The bytes a byte-level decoder joins for ``ids``, special tokens left out as `decode` leaves them: each
        token's characters mapped back to bytes, or a token holding another character (an added token) as its
        UTF-8."""
        special = special_ids(self.inner)
        out = bytearray()
        for i in ids:
            token = self.inner.id_to_token(i)
            if token is None or i in special:
                continue
            if all(ch in _BYTE_OF for ch in token):
                out.extend(_BYTE_OF[ch] for ch in token)
            else:
                out.extend(token.encode("utf-8"))
        return bytes(out)

    def holds_word(self, word: str) -> bool:
        """Whether the vocabulary holds ``word`` after a space as one token, as typed or in lower case: a word the
        tokenizer's training text used often."""
        return any(len(self.encode(" " + w)) == 1 for w in {word, word.lower()})

    def token_text(self, i: int) -> str:
        return self.inner.decode([i], skip_special_tokens=False)
