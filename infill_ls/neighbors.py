"""The files beside a document, searched for fills as the document itself is (`engine.lookup`): the other open
documents in its language, most recently edited first, then the files of its directory on disk with its extension,
most recently modified first. A project repeats itself across files (a signature, a call, a key), and the editor's
other tabs and the file's own directory are where a person would look.

Where the client declared workspace folders, only the document's own folder is searched: its tabs there, and its
directory on disk if it is in one. A new document no file holds yet (`untitled:`) is in no folder and has no
directory: it searches the tabs of its language wherever they are, as any document does where the client declared no
folders. Never searched: a hidden file or folder (below the workspace folder), a file named
like a secret's, a file git ignores, a minified or generated file (`engine.rejection.machine_written`). Each file gives
at most `FILE_CHARS`, so that one large file leaves room for the others.

Open documents come from the store on the event loop; files on disk are read on the worker, and what the lookup
uses of each is kept while its size and modification time stay the same, within a bound on the whole; a directory's
listing is kept while the directory's own modification time, and those of the files that say what git ignores there,
stay the same. What a search found on disk is stamped
(`DiskStamp`), so that a result found with it is kept only while the files of the document's language there are as
they were, whether or not the editor reports changes on disk.
"""

from __future__ import annotations

import codecs
import hashlib
import heapq
import os
import re
import stat
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from engine.errors import Cancelled
from engine.lookup import ELSEWHERE_CHARS, ELSEWHERE_FILE_CHARS as FILE_CHARS
from engine.rejection import machine_written

from .documents import Snapshot

# A larger file is generated or data, not code to copy from.
MAX_FILE_BYTES = 512 * 1024
# The suffixes of the files searched beside a document, in groups, the files of the first searched first: its own
# suffix, then its grammar's others (a C file's `.h` headers), then its kin's (`.cpp`, `.hpp`). By their age alone,
# C++ files and headers newer than a C file's own `.c` siblings filled the search, and none of those was read.
SuffixGroups = tuple[tuple[str, ...], ...]
# Files with the document's suffixes searched at most: of those listed, those of the first groups, the newest first
# within one.
MAX_FILES = 2000
# Entries with the document's suffixes listed at most, so that a huge directory costs a bounded listing: well past
# `MAX_FILES`. Only those count: a directory of other files (assets, data) still yields the code files among them,
# which its own order (a hash's) may put after the first 20,000 entries.
MAX_ENTRIES = 20000
# Directory entries looked at in all, those with other suffixes too: reading a name costs a microsecond or so.
MAX_SCANNED = 500_000
# Bytes read of a file: as many as `FILE_CHARS` characters take in UTF-8 at most.
READ_BYTES = 4 * FILE_CHARS
# Files opened, and bytes read, by one search at most: a directory of files that give nothing (binary, minified,
# unreadable) costs the first keystroke a bounded read, and the next searches go on past those it remembers.
MAX_OPENS = 256
MAX_READ_BYTES = 4_000_000
# Characters kept of files read, over all directories, the least recently used going first.
MAX_CACHED_CHARS = 4_000_000
# Files remembered, read or not (unreadable, binary, machine-written are remembered as such): a bound on the entries
# the character count does not weigh.
MAX_CACHED_FILES = 20000
# The head of a file read first: a NUL byte in it says binary, and the rest is not read.
SNIFF_BYTES = 1024
# Directories whose listing is kept: those of the documents a session edits at once.
MAX_LISTINGS = 64
# Open documents whose verdict (machine-written or not) is kept, by revision: more than a session has open.
MAX_VERDICTS = 256
# A directory modified this recently may change again within its mtime's tick (the kernel's clock for it is coarse,
# a FAT disk's is two seconds): its listing is kept only while its names stay the same (`DirectoryFiles.listing`),
# lest a file added in the same tick never show.
RECENT_NS = 2_000_000_000
# A listing that took this long is kept through changes of its directory for `RELIST_AFTER` times as long, so that
# listing takes a fifth of the time at most: 20,000 files beside, in a directory a build writes to every half
# second, were listed again at each keystroke, at 150 ms or more each. A file added there is found that much later.
SLOW_LISTING_NS = 50_000_000
RELIST_AFTER = 4
# How long `git check-ignore` may take for a listing; past it, none of the files listed is read.
GIT_TIMEOUT_S = 5
# Names of files that hold secrets more often than code to copy: keys and certificates by their extension too.
_SECRET_NAME = re.compile(
    r"secret|credential|passw(?:or)?d|private[-_.]?key|^local_settings\.|^id_(?:rsa|dsa|ecdsa|ed25519)"
    r"|\.(?:pem|key|p12|pfx|ppk|jks|keystore|kdbx|gpg)$", re.IGNORECASE)
# Words that name a secret in a file of text or data (`api_tokens.txt`, `auth.json`), but a module in source code
# (`token.py`, `auth.rb`): only in a file of these extensions, or of none.
_SECRET_WORD = re.compile(r"(?:^|[-_.\s])(?:tokens?|auth|(?:api|access|deploy|ssh)[-_]?keys?)(?:[-_.\s]|$)",
                          re.IGNORECASE)
_DATA_EXTENSIONS = frozenset({"", ".txt", ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".csv",
                              ".tsv", ".xml", ".properties", ".secret", ".secrets", ".cred", ".creds"})
# Bytes that no text has, in any encoding read as Latin-1: whitespace and escape aside, the C0 controls and DEL.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
# A drive whose colon is escaped, as VS Code sends it on Windows (`file:///c%3A/Users/...`).
_ESCAPED_DRIVE = re.compile(r"^/([A-Za-z])%3[Aa](?=/|$)")


def uri_path(uri: str) -> Path | None:
    """The local path of a file: URI, or None for any other scheme (an unsaved buffer, a remote file) or another
    host's file (`file://server/share/x.py`)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    # url2pathname decodes the %XX escapes itself: decoded twice, `my%2520script.py` named another file. Windows'
    # finds a drive by its colon, though, before it decodes: with it escaped the path had no drive, and no file beside
    # was searched. Unescaped here alone, it is the same path on POSIX.
    # Its dot segments removed, as a URI's are (RFC 3986, 5.2.4): `file:///ws/../etc/x.py` stood in the folder /ws,
    # and its directory, /etc, was searched.
    return Path(os.path.normpath(url2pathname(_ESCAPED_DRIVE.sub(r"/\1:", parsed.path))))


def untitled(uri: str) -> bool:
    """Whether a document is a new one no file holds yet (VS Code's `untitled:Untitled-1`, a new tab not saved)."""
    return urlparse(uri).scheme == "untitled"


@dataclass(frozen=True)
class DiskStamp:
    """A directory's files with a document's suffixes as a search found them, in a few bytes however many there are:
    a digest of the names listed, and one of the name, mtime, size and ctime of each file it read or passed over (one
    passed over, once saved, is the newest and read first). Each cached answer holds one, and a copy of the listing
    in each held 1.5 MB for 3,000 files. Whether a result found with them still holds takes the directory's listing
    (kept by `listings` while the directory's mtime stays the same) and a stat of each file, which an edit in place
    changes; other files there (an editor's backup or swap file) leave the result holding. That is a stat of each
    file listed: `unchanged` is called off the event loop (`Scheduler.run`)."""

    directory: Path
    suffixes: SuffixGroups  # `DirectoryFiles.beside`
    left_out: frozenset[str]  # names of the files there not searched: the document's own and those open
    names: bytes  # digest of every file listed with the suffixes, the document's own too
    found: bytes  # digest of the (name, mtime in ns, size, ctime in ns) of each file searched
    files: int  # how many files were searched
    listings: DirectoryFiles = field(compare=False, repr=False)

    def unchanged(self) -> bool:
        try:
            listing = self.listings.listing(self.directory, self.suffixes)
        except OSError:
            return False
        return listing.names == self.names and _found_digest(_look(listing, self.left_out)) == self.found


def _settled(directory_mtime: int) -> bool:
    """Whether a directory last modified at `directory_mtime` would show any change from now on in its mtime."""
    return time.time_ns() - directory_mtime >= RECENT_NS


def _entries(directory: Path, suffixes: tuple[str, ...], should_stop: Callable[[], bool] | None = None
             ) -> Iterator[os.DirEntry]:
    """The files in `directory` that a search may read: with one of `suffixes`, not hidden nor named like a
    secret's, not symbolic links; the first `MAX_ENTRIES` of those among its first `MAX_SCANNED` entries. Raises
    OSError where the directory cannot be listed."""
    matched = 0
    with os.scandir(directory) as entries:
        for n, entry in enumerate(entries):
            if n >= MAX_SCANNED:
                break
            if n % 4096 == 4095 and should_stop is not None and should_stop():
                raise Cancelled("search of the files beside cancelled")  # among many others: a third of a second
            if not entry.name.endswith(suffixes) or _private_name(entry.name):
                continue
            matched += 1
            if matched > MAX_ENTRIES:
                break
            if should_stop is not None and should_stop():
                raise Cancelled("search of the files beside cancelled")
            # One entry that cannot be looked at (a permission) leaves the others be.
            try:
                if entry.is_file(follow_symlinks=False):
                    yield entry
            except OSError:
                continue


def _private_name(name: str) -> bool:
    """Whether a file's name says it is hidden (`.env`) or holds a secret (`db_password.txt`, `local_settings.py`,
    `api_tokens.txt`)."""
    return name.startswith(".") or _SECRET_NAME.search(name) is not None or \
        (_suffix(name).lower() in _DATA_EXTENSIONS and _SECRET_WORD.search(name) is not None)


def _suffix(name: str) -> str:
    """A file name's suffix as `PurePath.suffix` reads it, without making a path of it: asked of every name in a
    directory a search lists, which took 95 ms of 20,000."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


# What tells git which repository, index or work tree to read, where the directory's own are meant: an editor that
# `git commit` or `git rebase -i` started hands its server the commit's (`GIT_INDEX_FILE=.git/index`, relative to the
# repository it was started in).
_GIT_LOCATIONS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
                  "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_PREFIX")


def _git_environment() -> dict[str, str]:
    """The server's environment for git, less `_GIT_LOCATIONS`, its messages in English (`_ignored` reads one)."""
    environment = {name: value for name, value in os.environ.items() if name not in _GIT_LOCATIONS}
    return {**environment, "LC_ALL": "C", "LANGUAGE": "C"}


def _ignored(directory: Path, names: list[str]) -> set[str] | None:
    """Those of `names` (files in `directory`) that git ignores; none where git is not installed or the directory
    is in no repository. None where git did not answer in time, or will not read the repository. A tracked file is
    not ignored."""
    if not names:
        return set()
    try:
        done = subprocess.run(
            # core.fsmonitor names a command git runs as it reads the index, check-ignore too: a project unpacked
            # from an archive ran its own at the first keystroke in one of its files.
            ["git", "-c", "core.fsmonitor=false", "check-ignore", "-z", "--stdin"], cwd=directory,
            capture_output=True, timeout=GIT_TIMEOUT_S, env=_git_environment(),
            # `./`: a name that begins with a colon is read as a pattern's magic, and git refuses it.
            input=b"".join(b"./" + os.fsencode(name) + b"\0" for name in names))
    except subprocess.TimeoutExpired:
        return None
    except OSError:
        return set()
    if done.returncode not in (0, 1):
        # 128 says "not in a repository", but also a repository git refuses to read (another user's: "dubious
        # ownership"), whose ignored files were all searched: only the first has none ignored. (Its words in
        # English whatever the user's locale: `_git_environment`.)
        return set() if b"not a git repository" in done.stderr else None
    return {os.fsdecode(name.removeprefix(b"./")) for name in done.stdout.split(b"\0") if name}


# Levels above a directory looked at for the files that say what git ignores: deeper than any work tree.
MAX_IGNORE_LEVELS = 64


def _ignore_files(directory: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """The (mtime in ns, size, ctime in ns) of each file that says what git ignores in `directory` (None where there
    is none): the `.gitignore` of it and of each directory above it up to the work tree's top, and that repository's
    `.git/info/exclude`. Such a file edited in place leaves the directory's mtime as it was, and with it the
    listing, whose ignored files were then read, or left out, until a file there was added or removed. A stat or
    two a level, at each search; the global excludes file (`core.excludesFile`) is not looked at."""
    stamps: list[tuple[int, int, int] | None] = []
    for level in (directory, *directory.parents[:MAX_IGNORE_LEVELS]):
        stamps.append(_stat_stamp(level / ".gitignore"))
        top = level / ".git"
        if top.exists():
            stamps.append(_stat_stamp(top / "info" / "exclude"))
            break
    return tuple(stamps)


def _stat_stamp(file: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(file)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ctime_ns


@dataclass(frozen=True)
class _Listing:
    """A directory's files with a document's suffixes as listed while its mtime was `directory_mtime`, those git
    ignores left out: (path, mtime in ns, size, the place of its suffix's group in `SuffixGroups`), `MAX_FILES` at
    most, those of the first group first, the newest first within one; and a digest of the names of all, those
    ignored too."""

    directory_mtime: int
    ignore_files: tuple[tuple[int, int, int] | None, ...]  # `_ignore_files`, as listed
    files: list[tuple[Path, int, int, int]]
    names: bytes
    settled: bool  # listed once `directory_mtime` had settled: kept while it stays the same
    made_ns: int = 0  # when it was listed, and how long that took (`time.monotonic_ns`)
    cost_ns: int = 0


def _look(listing: _Listing, left_out: frozenset[str], should_stop: Callable[[], bool] | None = None
          ) -> list[tuple[tuple[Path, int, int, int], bool]]:
    """Each listed file but those `left_out`, as it is now: (path, mtime in ns, size, ctime in ns), and whether it
    is a regular file; those of the first group of suffixes first, the most recently modified first within one. One
    edited in place leaves its directory's mtime, and so the listing, as they were, but comes first in its group now.
    One that is gone is left out."""
    current = []
    for n, listed in enumerate(listing.files):
        if listed[0].name in left_out:
            continue
        if should_stop is not None and n % 256 == 0 and should_stop():
            raise Cancelled("search of the files beside cancelled")
        try:
            now = os.stat(listed[0], follow_symlinks=False)
        except OSError:
            continue
        # Its change time too, which no tool sets back: a copy that kept the mtime (cp -p, rsync -a, tar x) of the
        # same size, or a file made readable again (chmod), was taken for the text, or the None, kept of it.
        current.append(((listed[0], now.st_mtime_ns, now.st_size, now.st_ctime_ns), stat.S_ISREG(now.st_mode),
                        listed[3]))
    # Two sorts by one number each, the second stable: a key of both took a millisecond more of 2,000 files.
    current.sort(key=lambda item: item[0][1], reverse=True)
    current.sort(key=itemgetter(2))
    return [(seen, regular) for seen, regular, _ in current]


def _names_digest(names: list[str]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(names):
        # No file name holds a NUL: the names cannot run into one another.
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
    return digest.digest()


def _found_digest(current: list[tuple[tuple[Path, int, int, int], bool]]) -> bytes:
    return _names_digest([f"{file.name}\0{mtime}\0{size}\0{ctime}" for (file, mtime, size, ctime), _ in current])


class DirectoryFiles:
    """Texts of the files beside a document on disk, kept while each file's size and mtime are unchanged: the first
    `FILE_CHARS` of each, up to `MAX_CACHED_CHARS` in all, the least recently used dropped first; the listing of
    each directory, kept while the directory's mtime is unchanged; and whether an open document is machine-written,
    by revision."""

    def __init__(self, max_chars: int = MAX_CACHED_CHARS, max_files: int = MAX_CACHED_FILES) -> None:
        self._texts: OrderedDict[Path, tuple[int, int, int, str | None]] = OrderedDict()
        self._chars = 0  # in `_texts`
        self._max_chars = max_chars
        self._max_files = max_files
        self._listings: OrderedDict[tuple[Path, SuffixGroups], _Listing] = OrderedDict()
        # Stamps look at the listings from a thread of their own while a search lists on the worker.
        self._listings_lock = threading.Lock()
        self._machine_written: OrderedDict[int, bool] = OrderedDict()  # by revision

    @property
    def cached_chars(self) -> int:
        return self._chars

    def beside(self, path: Path, skip: set[Path], chars: int, should_stop: Callable[[], bool] | None = None,
               suffixes: SuffixGroups = (), copied_as: Callable[[str, str], str] | None = None
               ) -> tuple[list[str], DiskStamp | None]:
        """Texts of the files in `path`'s directory with its suffix or one of `suffixes` (its grammar's, then its
        kin's: `syntax.kin_suffixes`), leaving out `path` and `skip` (open documents, whose text the store has), up
        to about `chars` characters in all: those of its own name first (`shop.h`, `shop.pyi` beside `shop.c`,
        `shop.py`), then those of its suffix, then of each group of `suffixes` in turn (`SuffixGroups`), the most
        recently modified first within each; and the stamp of those files, read or passed over (`DiskStamp`). A
        document with no suffix has none: every file of its directory would match (a script among binaries). Hidden
        files (`.env` beside `sample.env`: secrets offered as suggestions) and symbolic links (one can lead out of the
        directory) are never read. `copied_as`: each file's text (by its suffix) as the document's copies read it
        (`syntax.copies_from`); the text kept of each is the file's own. Raises `engine.errors.Cancelled` once
        `should_stop` says so: a directory of thousands of files is a long search for a keystroke already typed
        over."""
        if not path.suffix:
            return [], None
        groups = ((path.suffix,), *(tuple(sorted(set(group) - {path.suffix})) for group in suffixes))
        suffixes = tuple(group for group in groups if group)
        try:
            listing = self.listing(path.parent, suffixes, should_stop)
        except OSError:
            return [], None
        left_out = frozenset(p.name for p in (path, *skip) if p.parent == path.parent)
        current = _look(listing, left_out, should_stop)
        # Those of its own name first, in the order they are in: a module's stub, a C file's own header. By name,
        # not by each path's stem: 2,000 stems took a millisecond and a half a search.
        own = {path.stem + suffix for group in suffixes for suffix in group}
        current.sort(key=lambda item: item[0][0].name not in own)
        texts, reads = [], _Reads()
        for seen, regular in current:
            if chars <= 0:
                break
            if should_stop is not None and should_stop():
                raise Cancelled("search of the files beside cancelled")
            text = self._read(*seen, reads) if seen[2] <= MAX_FILE_BYTES and regular else None
            if text and copied_as is not None:
                text = copied_as(seen[0].suffix, text)
            if text:
                texts.append(text)
                chars -= len(text)
        # The files passed over are stamped too: whichever of them is saved next is the newest, and read first.
        return texts, DiskStamp(path.parent, suffixes, left_out, listing.names, _found_digest(current),
                                len(current), self)

    def listing(self, directory: Path, suffixes: SuffixGroups, should_stop: Callable[[], bool] | None = None
                ) -> _Listing:
        """The files in `directory` with one of `suffixes` (`SuffixGroups`) but those git ignores (`_ignored`, once
        per listing), listed again only once the directory's mtime has changed (a file added, removed or saved by a
        rename) or a file that says what git ignores has (`_ignore_files`), and, where listing it is slow, not before `RELIST_AFTER` times as long as that took. Raises OSError
        where the directory cannot be listed."""
        # Before the listing: a file added while it runs then shows as a change, never as a missed one.
        directory_mtime = os.stat(directory).st_mtime_ns
        ignore_files = _ignore_files(directory)
        key = (directory, suffixes)
        listed = tuple(suffix for group in suffixes for suffix in group)
        with self._listings_lock:
            kept = self._listings.get(key)
        if kept is not None and kept.cost_ns >= SLOW_LISTING_NS and \
                time.monotonic_ns() - kept.made_ns < RELIST_AFTER * kept.cost_ns:
            self._keep(key, kept)
            return kept
        if kept is not None and (kept.directory_mtime, kept.ignore_files) == (directory_mtime, ignore_files):
            if not kept.settled:
                # Its mtime may hide a change made since: its names are read again, with no stat of each file nor
                # git (listed again at each keystroke for two seconds after a save by a rename, thousands of files
                # beside cost each one a few hundred milliseconds). Settled before they are read, it is kept as is.
                settled = _settled(directory_mtime)
                if _names_digest([entry.name for entry in _entries(directory, listed, should_stop)]) != kept.names:
                    kept = None
                elif settled:
                    kept = replace(kept, settled=True)
            if kept is not None:
                self._keep(key, kept)
                return kept
        started = time.monotonic_ns()
        settled = _settled(directory_mtime)
        found, names = [], []
        group_of: dict[str, int] = {}
        for n, group in enumerate(suffixes):
            for suffix in group:
                group_of.setdefault(suffix, n)
        for entry in _entries(directory, listed, should_stop):
            names.append(entry.name)
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found.append((entry.name, info.st_mtime_ns, info.st_size, group_of.get(_suffix(entry.name), len(suffixes))))
        ignored = _ignored(directory, names)
        if ignored is None:
            found = []
        elif ignored:
            found = [f for f in found if f[0] not in ignored]
        # Those of the first group first, the newest first within one. Ties broken by name: the same files listed
        # twice are the same, whatever order the directory gives. A path is made of those kept only: of each of
        # 20,000 names, it took 250 ms a listing.
        newest = [(directory / name, mtime, size, group) for name, mtime, size, group
                  in heapq.nlargest(MAX_FILES, found, key=lambda f: (-f[3], f[1], f[0]))]
        done = time.monotonic_ns()
        listing = _Listing(directory_mtime, ignore_files, newest, _names_digest(names), settled, done,
                           done - started)
        self._keep(key, listing)
        return listing

    def _keep(self, key: tuple[Path, SuffixGroups], listing: _Listing) -> None:
        with self._listings_lock:
            self._listings.pop(key, None)
            self._listings[key] = listing
            while len(self._listings) > MAX_LISTINGS:
                self._listings.popitem(last=False)

    def machine_written(self, snapshot: Snapshot) -> bool:
        """Whether an open document's text (as searched: its first `FILE_CHARS`) is minified or generated."""
        verdict = self._machine_written.get(snapshot.revision)
        if verdict is None:
            verdict = self._machine_written[snapshot.revision] = _machine_written(snapshot.text[:FILE_CHARS])
            while len(self._machine_written) > MAX_VERDICTS:
                self._machine_written.popitem(last=False)
        return verdict

    def _read(self, file: Path, mtime: int, size: int, ctime: int, reads: _Reads) -> str | None:
        """The text searched of a file (None: none), from the cache while its mtime, size and ctime are the same;
        None for one not kept once `reads` is spent."""
        cached = self._texts.get(file)
        if cached is not None and cached[:3] == (mtime, size, ctime):
            self._texts.move_to_end(file)
            return cached[3]
        if not reads.take(size):
            return None
        text = _read_text(file)
        if text is not None and _machine_written(text):
            text = None
        self._forget(file)
        self._texts[file] = (mtime, size, ctime, text)
        self._chars += len(text or "")
        while self._texts and (self._chars > self._max_chars or len(self._texts) > self._max_files):
            self._forget(next(iter(self._texts)))
        return text

    def _forget(self, file: Path) -> None:
        dropped = self._texts.pop(file, None)
        if dropped is not None:
            self._chars -= len(dropped[3] or "")


class _Reads:
    """What one search has opened and read: at most `MAX_OPENS` files and about `MAX_READ_BYTES`."""

    def __init__(self) -> None:
        self.opens = self.bytes = 0

    def take(self, size: int) -> bool:
        """Whether a file of `size` bytes may be read, counted as read if so."""
        if self.opens >= MAX_OPENS or self.bytes >= MAX_READ_BYTES:
            return False
        self.opens += 1
        self.bytes += min(size, READ_BYTES)
        return True


def _machine_written(text: str) -> bool:
    return machine_written(text) is not None


def _read_text(file: Path) -> str | None:
    """The first `FILE_CHARS` of a text file, from its first `READ_BYTES`; None for one that cannot be read, is
    binary (a NUL byte in its head, which is all that is read of it; or not UTF-8, and with a control character no
    text has), and for anything but a regular file when it is opened: the listing saw a file, but another process
    may have put a symbolic link (to a file outside the directory) or a FIFO (an open that never returns, and no
    suggestion after it) in its place since."""
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            head = f.read(SNIFF_BYTES)
            if b"\0" in head:
                return None
            data = head + f.read(READ_BYTES - len(head))
    except OSError:
        return None
    text = _decoded(data, whole=len(data) < READ_BYTES)
    return text[:FILE_CHARS] if text is not None else None


def _decoded(data: bytes, whole: bool) -> str | None:
    """`data` as UTF-8 (a character cut short at its end, where it is not `whole`, left out); else as Latin-1: one
    byte of another encoding (`café` written in Latin-1 in a comment) dropped the whole file. Not UTF-16 (its mark
    first) nor binary (`_CONTROL_BYTES`), which Latin-1 would read as well as text."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
    except UnicodeDecodeError:
        pass
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _CONTROL_BYTES.search(data):
        return None
    return data.decode("latin-1")


def neighbor_texts(snapshot: Snapshot, open_beside: Sequence[Snapshot], files: DirectoryFiles | None,
                   chars: int = ELSEWHERE_CHARS, path: Path | None = None,
                   should_stop: Callable[[], bool] | None = None, folders: Sequence[Path] = (),
                   locate: Callable[[str], Path | None] = uri_path, suffixes: SuffixGroups = (),
                   copied_as: Callable[[str, str], str] | None = None, unsaved: bool = False
                   ) -> tuple[tuple[str, ...], DiskStamp | None]:
    """The texts searched besides `snapshot`'s own: those of `open_beside` (other open documents in its language,
    most recent first) that `tabs_searched` takes, but machine-written ones, then, with `files`, its directory's
    files on disk; and the stamp of those files, None where none was looked at. `path`: where the document stands
    on disk, where its URI does not say (a notebook cell), and `locate` where each of `open_beside` does.
    `folders`: the workspace's, where the client declared any: a document in none of them has no files on disk
    searched. `suffixes`: of the files on disk searched besides the document's own, in groups, the first searched
    first (`DirectoryFiles.beside`).
    `copied_as`: each text, by the suffix of its file, as the document's copies read it (`syntax.copies_from`).
    `unsaved`: the document is a new one no file holds yet (`tabs_searched`). Reads files: call on the
    worker. Raises `engine.errors.Cancelled` once `should_stop` says so."""
    path = path or uri_path(snapshot.uri)
    texts = []
    for s in tabs_searched(path, open_beside, folders, chars, locate, unsaved):
        if not (files.machine_written(s) if files is not None else _machine_written(s.text[:FILE_CHARS])):
            where = locate(s.uri)
            text = s.text[:FILE_CHARS]
            texts.append(copied_as(where.suffix if where is not None else "", text) if copied_as else text)
    room = chars - sum(map(len, texts))
    root = _folder_of(path, folders)
    disk = None
    if files is not None and path is not None and room > 0 and (root is not None or not folders) \
            and not _hidden_path(path, root):
        # Every open document's copy on disk is passed over, searched or not: the store has its text.
        skip = {p for p in (locate(s.uri) for s in open_beside) if p is not None}
        on_disk, disk = files.beside(path, skip, room, should_stop, suffixes, copied_as)
        texts += on_disk
    return tuple(texts), disk


def tabs_searched(path: Path | None, open_beside: Sequence[Snapshot], folders: Sequence[Path] = (),
                  chars: int = ELSEWHERE_CHARS, locate: Callable[[str], Path | None] = uri_path,
                  unsaved: bool = False) -> list[Snapshot]:
    """Those of `open_beside` (each where `locate` says it stands on disk) that a search beside the document at
    `path` reads (`neighbor_texts`), in order: with workspace `folders`, those in the document's folder alone
    (another project's tab gave its keys to this one); never a hidden file, one in a hidden folder (below the
    workspace folder), nor one named like a secret's; as many as `chars` takes, each counted up to `FILE_CHARS`.
    A document no file holds yet (`unsaved`: `untitled`), in no folder, reads those of every folder and of none, as
    where the client declared no folders, each hidden or not below its own folder: with folders, a new tab not yet
    saved read none, and was offered no copy from the others. Decided on the event loop, from paths alone, so that a
    cached answer hangs on these and no other."""
    root = _folder_of(path, folders)
    if folders and root is None and not unsaved:
        return []
    taken = []
    for s in open_beside:
        if chars <= 0:
            break
        where = locate(s.uri)
        if root is not None and (where is None or not where.is_relative_to(root)):
            continue
        if where is not None and (_hidden_path(where, root if root is not None else _folder_of(where, folders))
                                  or _private_name(where.name)):
            continue
        taken.append(s)
        chars -= min(len(s.text), FILE_CHARS)
    return taken


def _folder_of(path: Path | None, folders: Sequence[Path]) -> Path | None:
    """The innermost of `folders` that holds `path`, if any."""
    holding = [folder for folder in folders if path is not None and path.is_relative_to(folder)]
    return max(holding, key=lambda folder: len(folder.parts), default=None)


def _hidden_path(path: Path, root: Path | None = None) -> bool:
    """Whether the file, or a folder it is in below `root` (the workspace folder; without one, any), is hidden (its
    name starts with a dot): `~/.config/gh/hosts.yml` gave its token beside `config.yml`, and a project under
    `~/.config/nvim` is not hidden within itself."""
    parts = path.relative_to(root).parts if root is not None else path.parts
    return any(part.startswith(".") and part not in (".", "..") for part in parts)


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
