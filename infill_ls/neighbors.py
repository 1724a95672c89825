"""The files beside a document, searched for fills as the document itself is (`engine.lookup`): the other open
documents in its language, most recently edited first, then the files of its directory on disk with its extension,
most recently modified first. A project repeats itself across files (a signature, a call, a key), and the editor's
other tabs and the file's own directory are where a person would look.

Open documents come from the store on the event loop; files on disk are read on the worker, each at most once while
its size and modification time stay the same. What was read from disk is stamped (`DiskStamp`), so that a result
found in it is kept only while those files are as they were, whether or not the editor reports changes on disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from engine.lookup import ELSEWHERE_CHARS

from .documents import Snapshot

# A larger file is generated or data, not code to copy from.
MAX_FILE_BYTES = 512 * 1024
# Directory entries looked at, so that a huge directory costs a bounded listing.
MAX_ENTRIES = 2000


def uri_path(uri: str) -> Path | None:
    """The local path of a file: URI, or None for any other scheme (an unsaved buffer, a remote file)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(url2pathname(unquote(parsed.path)))


@dataclass(frozen=True)
class DiskStamp:
    """A directory's files as a search read them: the directory's mtime, which a file added, removed or saved by a
    rename changes, and each file's mtime and size, which an edit in place changes. A few stat calls tell whether a
    result found in them still holds, with no listing and no read."""

    directory: Path
    directory_mtime: int
    files: tuple[tuple[Path, int, int], ...]  # (path, mtime in ns, size)

    def unchanged(self) -> bool:
        try:
            if os.stat(self.directory).st_mtime_ns != self.directory_mtime:
                return False
            for file, mtime, size in self.files:
                stat = os.stat(file)
                if (stat.st_mtime_ns, stat.st_size) != (mtime, size):
                    return False
        except OSError:
            return False
        return True


class DirectoryFiles:
    """Texts of the files beside a document on disk, kept while each file's size and mtime are unchanged."""

    def __init__(self) -> None:
        self._texts: dict[Path, tuple[int, int, str | None]] = {}

    def beside(self, path: Path, skip: set[Path], chars: int) -> tuple[list[str], DiskStamp | None]:
        """Texts of the files in `path`'s directory with its suffix, most recently modified first, leaving out
        `path` and `skip` (open documents, whose text the store has), up to about `chars` characters in all; and
        the stamp of every file looked at, read or passed over, for as long as the search went on."""
        try:
            # Before the listing: a file added while it runs then shows as a change, never as a missed one.
            directory_mtime = os.stat(path.parent).st_mtime_ns
            with os.scandir(path.parent) as entries:
                found = []
                for n, entry in enumerate(entries):
                    if n >= MAX_ENTRIES:
                        break
                    if entry.name.endswith(path.suffix) and entry.is_file():
                        stat = entry.stat()
                        found.append((Path(entry.path), stat.st_mtime_ns, stat.st_size))
        except OSError:
            return [], None
        texts, looked_at = [], []
        for file, mtime, size in sorted(found, key=lambda f: -f[1]):
            if chars <= 0:
                break
            if file == path or file in skip:
                continue
            looked_at.append((file, mtime, size))
            text = self._read(file, mtime, size) if size <= MAX_FILE_BYTES else None
            if text:
                texts.append(text)
                chars -= len(text)
        return texts, DiskStamp(path.parent, directory_mtime, tuple(looked_at))

    def _read(self, file: Path, mtime: int, size: int) -> str | None:
        cached = self._texts.get(file)
        if cached is not None and cached[:2] == (mtime, size):
            return cached[2]
        try:
            text: str | None = file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        self._texts[file] = (mtime, size, text)
        return text


def neighbor_texts(snapshot: Snapshot, open_beside: Sequence[Snapshot], files: DirectoryFiles | None,
                   chars: int = ELSEWHERE_CHARS) -> tuple[tuple[str, ...], DiskStamp | None]:
    """The texts searched besides `snapshot`'s own: `open_beside` (other open documents in its language, most
    recent first), then, with `files`, its directory's files on disk; and the stamp of those files, None where
    none was looked at. Reads files: call on the worker."""
    texts = [s.text for s in open_beside]
    room = chars - sum(map(len, texts))
    path = uri_path(snapshot.uri)
    disk = None
    if files is not None and path is not None and room > 0:
        skip = {p for p in (uri_path(s.uri) for s in open_beside) if p is not None}
        on_disk, disk = files.beside(path, skip, room)
        texts += on_disk
    return tuple(texts), disk


class Gathered(Sequence[str]):
    """Texts gathered on first use. The lookup reads the files beside a document only when the document itself may
    not hold the strongest fills (its best is not a copy of the hole's whole surroundings), so a keystroke it
    answers from such a copy lists no directory."""

    def __init__(self, gather: Callable[[], tuple[Sequence[str], DiskStamp | None]]) -> None:
        self._gather = gather

    @cached_property
    def _gathered(self) -> tuple[Sequence[str], DiskStamp | None]:
        return self._gather()

    @property
    def _texts(self) -> Sequence[str]:
        return self._gathered[0]

    @property
    def disk(self) -> DiskStamp | None:
        """The stamp of the files read from disk, None where none was (or nothing was gathered)."""
        return self._gathered[1] if "_gathered" in self.__dict__ else None

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, index):
        return self._texts[index]
