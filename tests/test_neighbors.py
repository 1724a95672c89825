"""The files searched beside a document: other open documents, then its directory's files on disk."""

from __future__ import annotations

import gc
import nturl2path
import os
import subprocess
import sys
import threading
import time
from pathlib import Path, PureWindowsPath

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from engine.errors import Cancelled
from infill_ls.documents import Snapshot
from engine.lookup import lookup_fills
from infill_ls import neighbors
from infill_ls.neighbors import FILE_CHARS, MAX_FILE_BYTES, DirectoryFiles, Gathered, neighbor_texts, uri_path
from lsp_support import capabilities, config, init_params, loaded, position_of, tiny_model


def _snap(path, text, language="python"):
    return Snapshot(path.as_uri() if hasattr(path, "as_uri") else path, language, 1, text)


def test_open_documents_then_the_directorys_files_with_the_same_suffix(tmp_path):
    (tmp_path / "old.py").write_text("old = 1\n")
    (tmp_path / "new.py").write_text("new = 2\n")
    os.utime(tmp_path / "old.py", ns=(1_000_000_000, 1_000_000_000))
    (tmp_path / "open.py").write_text("on disk, stale\n")
    (tmp_path / "notes.txt").write_text("not python\n")
    (tmp_path / "big.py").write_text("x" * (MAX_FILE_BYTES + 1))
    (tmp_path / "bad.py").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "pkg.py").mkdir()
    doc = _snap(tmp_path / "edited.py", "edited")
    beside = [_snap(tmp_path / "open.py", "open, as edited")]
    texts = neighbor_texts(doc, beside, DirectoryFiles())[0]
    # The open document's text from the store, not from disk; files newest first; the document itself, other
    # suffixes, files too large to be code and files that are not UTF-8 are left out.
    assert texts == ("open, as edited", "new = 2\n", "old = 1\n")
    assert neighbor_texts(doc, beside, None)[0] == ("open, as edited",)
    assert neighbor_texts(doc, beside, DirectoryFiles(), chars=len("open, as edited") + 1)[0] == texts[:2]


def test_the_files_on_disk_searched_are_those_of_the_documents_grammar_and_its_kin(tmp_path):
    # A C file's headers, which VS Code opens as C++ and the C++ grammar reads; a module's `.pyi` stub: listed by
    # the document's own suffix alone, none was searched until opened.
    from infill_ls.syntax import kin_suffixes

    for name, text in (("shop.h", "double total_price(const struct order *order);\n"), ("lib.c", "int lib;\n"),
                       ("util.cpp", "int util();\n"), ("notes.txt", "not code\n"), ("shop.py", "x = 1\n")):
        (tmp_path / name).write_text(text)
        os.utime(tmp_path / name, ns=(10**9 * len(name), 10**9 * len(name)))
    doc = _snap(tmp_path / "main.c", "", "c")
    files = DirectoryFiles()
    texts, disk = neighbor_texts(doc, [], files, suffixes=kin_suffixes("c", doc.uri))
    assert sorted(texts) == ["double total_price(const struct order *order);\n", "int lib;\n", "int util();\n"]
    assert neighbor_texts(doc, [], DirectoryFiles())[0] == ("int lib;\n",)  # its own suffix alone
    assert disk.unchanged()
    (tmp_path / "shop.h").write_text("double total_price(const struct order *order, int express);\n")
    assert not disk.unchanged()  # a header saved: the answer found with the old one does not hold
    stub = _snap(tmp_path / "shop.pyi", "", "python")
    assert neighbor_texts(stub, [], files, suffixes=kin_suffixes("python", stub.uri))[0] == ("x = 1\n",)


STUB = ("class Rect:\n    def area(self) -> float: ...\n    def scaled(self, factor: float) -> Rect: ...  # new\n"
        "    def grow(self, by: float) -> None:\n        ...\n")


def test_a_stubs_bodies_are_left_out_of_copies_into_a_module_but_not_into_another_stub(tmp_path):
    # `def area(self` in `shop.py` was offered `) -> float: ...` from `shop.pyi`: the module writes a body there.
    from infill_ls.syntax import copies_from, kin_suffixes

    (tmp_path / "shop.pyi").write_text(STUB)
    tab = _snap(tmp_path / "tab.pyi", STUB.replace("\n", "\r\n"))
    module = _snap(tmp_path / "shop.py", "")
    texts = neighbor_texts(module, [tab], DirectoryFiles(), suffixes=kin_suffixes("python", module.uri),
                           copied_as=copies_from("python", module.uri))[0]
    signatures = ("class Rect:\n    def area(self) -> float:\n    def scaled(self, factor: float) -> Rect:  # new\n"
                  "    def grow(self, by: float) -> None:\n\n")
    assert texts == (signatures.replace("\n", "\r\n"), signatures)
    assert [f.text for f in lookup_fills("    def area(self", "\n", elsewhere=texts)][:1] == [") -> float:"]
    stub = _snap(tmp_path / "other.pyi", "")
    assert copies_from("python", stub.uri) is None
    assert neighbor_texts(stub, [tab], DirectoryFiles())[0] == (tab.text, STUB)  # as `copied_as` None leaves them
    assert copies_from("c", (tmp_path / "shop.c").as_uri()) is None  # no language but Python's has stubs here


def test_the_files_of_the_documents_own_suffix_and_grammar_come_before_its_kins_whatever_their_age(
        tmp_path, monkeypatch):
    # A C file's `.c` siblings came after every newer `.cpp` and `.h` file, and the search's characters were spent on
    # those first. Now: its own name's (its header), its suffix's, its grammar's others', its kin's, newest first in
    # each.
    from infill_ls.syntax import kin_suffixes

    for age, name in enumerate(["gen.hpp", "gen.cpp", "lib.h", "util.c", "main.h", "old.c"]):
        (tmp_path / name).write_text(f"// {name}\n")
        os.utime(tmp_path / name, ns=(10**9 * (10 - age), 10**9 * (10 - age)))
    doc = _snap(tmp_path / "main.c", "", "c")
    suffixes = kin_suffixes("c", doc.uri)
    assert suffixes[0] == (".c", ".h") and ".cpp" in suffixes[1] and ".c" not in suffixes[1]
    texts = neighbor_texts(doc, [], DirectoryFiles(), suffixes=suffixes)[0]
    assert texts == tuple(f"// {name}\n" for name in ["main.h", "util.c", "old.c", "lib.h", "gen.hpp", "gen.cpp"])
    # A C++ file's: its suffix's, C++'s others (its `.h` headers among them, which C reads by extension alone), then
    # C's.
    cpp = _snap(tmp_path / "app.cpp", "", "cpp")
    texts = neighbor_texts(cpp, [], DirectoryFiles(), suffixes=kin_suffixes("cpp", cpp.uri))[0]
    assert texts == tuple(f"// {name}\n" for name in ["gen.cpp", "gen.hpp", "lib.h", "main.h", "util.c", "old.c"])
    # So is the listing's bound: the files kept are those of the first groups, not the newest.
    monkeypatch.setattr(neighbors, "MAX_FILES", 3)
    texts = neighbor_texts(_snap(tmp_path / "other.c", "", "c"), [], DirectoryFiles(), suffixes=suffixes)[0]
    assert texts == ("// util.c\n", "// old.c\n", "// lib.h\n")


def test_a_file_is_read_again_only_once_it_changes(tmp_path):
    path = tmp_path / "lib.py"
    path.write_text("first\n")
    doc = _snap(tmp_path / "main.py", "")
    files = DirectoryFiles()
    assert neighbor_texts(doc, [], files)[0] == ("first\n",)
    path.write_text("second, longer\n")
    assert neighbor_texts(doc, [], files)[0] == ("second, longer\n",)
    path.unlink()
    assert neighbor_texts(doc, [], files)[0] == ()


def test_documents_that_are_not_files_have_no_directory(tmp_path):
    assert uri_path("untitled:Untitled-1") is None
    assert uri_path((tmp_path / "a b.py").as_uri()) == tmp_path / "a b.py"
    doc = Snapshot("untitled:Untitled-1", "python", 1, "x")
    assert neighbor_texts(doc, [Snapshot("untitled:Untitled-2", "python", 1, "y")], DirectoryFiles())[0] == ("y",)
    missing = _snap(tmp_path / "gone" / "a.py", "")
    assert neighbor_texts(missing, [], DirectoryFiles())[0] == ()


def test_a_new_unsaved_documents_tabs_are_hidden_or_not_below_their_own_workspace_folder(tmp_path):
    # A project under ~/.config/nvim is not hidden within itself, for a new tab as for its own files.
    from infill_ls.neighbors import tabs_searched, untitled

    nvim, project = tmp_path / ".config" / "nvim", tmp_path / "project"
    tabs = [_snap(nvim / "lua" / "keys.py", "keys"), _snap(project / "main.py", "main"),
            _snap(project / ".venv" / "site.py", "vendored"), _snap(tmp_path / ".cache" / "x.py", "cached"),
            Snapshot("untitled:Untitled-2", "python", 1, "other new")]
    assert untitled("untitled:Untitled-1") and not untitled((tmp_path / "a.py").as_uri())
    found = tabs_searched(None, tabs, (nvim, project), unsaved=True)
    assert [s.text for s in found] == ["keys", "main", "other new"]
    assert tabs_searched(None, tabs, (nvim, project)) == []  # a document of no place that is no new one: as before
    assert [s.text for s in tabs_searched(None, tabs)] == ["main", "other new"]  # no folders: any hidden folder


def test_the_files_beside_are_gathered_only_when_the_file_itself_may_not_hold_the_strongest_fills():
    calls = []

    def gather():
        calls.append(1)
        return ("a = add(x, y)\n",), None

    # The file repeats the hole's whole line (a bridge with the longest key): nothing elsewhere can rank above it.
    line = "result = compute_the_total_of(first_argument, "
    mine = f"{line}1)\n{line}1)\nprint(result)\n{line}"
    assert [f.text for f in lookup_fills(mine, ")\n", limit=1, elsewhere=Gathered(gather))] == ["1"]
    assert calls == []
    # Its fills found with a short key leave room for stronger ones beside it: the other files are read.
    mine = "p = add(1, 2)\nq = add(3, 4)\nr = add(5, 6)\ntotal = add("
    found = [f.text for f in lookup_fills(mine, ")\n", limit=3, elsewhere=Gathered(gather))]
    assert found[0] == "5, 6" and "x, y" in found and calls == [1]


def test_the_stamp_of_what_was_read_holds_until_a_file_of_the_documents_language_changes(tmp_path):
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(f"{name[0]} = 1\n")
    doc = _snap(tmp_path / "main.py", "")
    files = DirectoryFiles()

    def stamp():
        texts, disk = neighbor_texts(doc, [], files)
        assert len(texts) == 2 and disk.unchanged()
        return disk

    disk = stamp()
    (tmp_path / "main.py").write_text("not read: the document's own file\n")
    disk = stamp()
    os.utime(tmp_path / "main.py", ns=(2, 2))
    assert disk.unchanged()
    os.utime(tmp_path / "a.py", ns=(3, 3))  # edited in place: the same size, another mtime
    assert not disk.unchanged()
    disk = stamp()
    (tmp_path / "c.txt").write_text("c = 3\n")  # another kind of file: not searched
    os.utime(tmp_path, ns=(4, 4))
    assert disk.unchanged()
    (tmp_path / "c.py").write_text("c = 3\n")
    os.utime(tmp_path, ns=(5, 5))
    assert not disk.unchanged()
    (tmp_path / "c.py").unlink()
    disk = stamp()
    (tmp_path / "b.py").unlink()
    assert not disk.unchanged()
    # Nothing read from disk, nothing to stamp: an unsaved buffer, or no files wanted.
    assert neighbor_texts(Snapshot("untitled:Untitled-1", "python", 1, "x"), [], files)[1] is None
    assert neighbor_texts(doc, [], None)[1] is None


def test_a_stamp_holds_through_an_editors_backups_and_breaks_on_any_file_the_search_would_read(tmp_path):
    # An answer the document itself gave was cached for good: a module written beside it later, which a search
    # would read first, never showed. Backups and other files must not throw the answers away at each save.
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    (tmp_path / "main.py").write_text("")
    os.utime(tmp_path, ns=(10**9, 10**9))  # modified long ago: any entry added now changes its mtime
    texts, disk = neighbor_texts(doc, [], files)
    assert texts == () and disk is not None and disk.unchanged()  # nothing to read is a finding too
    for name in ("main.py~", ".main.py.swp", "4913", "#main.py#", "notes.txt"):
        (tmp_path / name).write_text("x = 1\n")
    os.mkdir(tmp_path / "pkg.py")  # a folder: not listed
    assert disk.unchanged() and disk.unchanged()
    (tmp_path / "main.py").write_text("saved = True\n")  # the document's own file is never searched
    assert disk.unchanged()
    (tmp_path / "new.py").write_text("NEW = 1\n")
    assert not disk.unchanged()
    texts, disk = neighbor_texts(doc, [], files)
    assert texts == ("NEW = 1\n",) and disk.unchanged()
    (tmp_path / "new.py").unlink()
    assert not disk.unchanged()


def test_a_stamp_breaks_when_a_file_the_search_passed_over_is_edited(tmp_path):
    # More text beside than one search reads: an older file is not read, but edited it is the newest, read first.
    for i in range(12):
        (tmp_path / f"mod{i}.py").write_text(f"# mod{i}\n" + "x = 1\n" * 2000)
        os.utime(tmp_path / f"mod{i}.py", ns=((i + 1) * 10**9, (i + 1) * 10**9))
    os.utime(tmp_path, ns=(10**9, 10**9))
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    texts, disk = neighbor_texts(doc, [], files)
    assert not any(t.startswith("# mod0\n") for t in texts)
    os.utime(tmp_path / "mod0.py", ns=(20 * 10**9, 20 * 10**9))
    assert not disk.unchanged()


def test_a_gathered_search_has_a_stamp_only_once_it_read_the_disk(tmp_path):
    (tmp_path / "a.py").write_text("a = 1\n")
    gathered = Gathered(lambda: neighbor_texts(_snap(tmp_path / "main.py", ""), [], DirectoryFiles()))
    assert gathered.disk is None
    assert list(gathered) == ["a = 1\n"]
    assert gathered.disk is not None and gathered.disk.unchanged()


def test_an_entry_that_cannot_be_looked_at_hides_no_other_file(tmp_path):
    (tmp_path / "good.py").write_text("COUNTS = collections.Counter(words)\n")
    os.symlink("loop.py", tmp_path / "loop.py")  # stat fails: too many levels of symbolic links
    os.symlink(tmp_path / "gone", tmp_path / "dangling.py")
    texts, disk = neighbor_texts(_snap(tmp_path / "doc.py", ""), [], DirectoryFiles())
    assert texts == ("COUNTS = collections.Counter(words)\n",)
    assert disk.files == 1
    os.unlink(tmp_path / "dangling.py")  # never searched, and not stamped
    assert disk.unchanged()


def test_a_document_with_no_suffix_searches_no_files_on_disk(tmp_path):
    # A script among tools: every file of the directory matched the empty suffix, binaries and all.
    for i in range(3):
        (tmp_path / f"tool{i}").write_text(f"tool {i}\n")
    (tmp_path / "notes.txt").write_text("text\n")
    doc = _snap(tmp_path / "myscript", "")
    assert neighbor_texts(doc, [], DirectoryFiles()) == ((), None)
    # Open documents beside it are still searched.
    assert neighbor_texts(doc, [_snap(tmp_path / "other", "open")], DirectoryFiles()) == (("open",), None)


def test_a_file_with_a_nul_byte_in_its_head_is_binary_and_not_read_past_it(tmp_path, monkeypatch):
    (tmp_path / "blob.py").write_bytes(b"\0\1\2 packed" + b"x" * 300_000)  # valid UTF-8 all the same
    (tmp_path / "code.py").write_text("x = 1\n")
    read = []
    real_open = open

    def counting_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if "b" in mode and str(file).endswith("blob.py"):
            real_read = handle.read
            handle = _Reads(handle, lambda n=-1: read.append(len(chunk := real_read(n))) or chunk)
        return handle

    monkeypatch.setattr("builtins.open", counting_open)
    texts, _ = neighbor_texts(_snap(tmp_path / "doc.py", ""), [], DirectoryFiles())
    assert texts == ("x = 1\n",)
    assert sum(read) <= 1024


class _Reads:
    """A file handle whose `read` is another function."""

    def __init__(self, handle, read):
        self._handle, self.read = handle, read

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def test_the_cache_keeps_the_head_of_each_file_the_lookup_searches_and_at_most_its_budget(tmp_path, monkeypatch):
    line = "result = transform(value, options={'mode': 'fast'})\n"
    files = DirectoryFiles()
    for i in range(20):  # a long session across a repository: a large file in each directory
        directory = tmp_path / f"pkg{i}"
        directory.mkdir()
        (directory / "data.py").write_text(f"# {i}\n" + line * 8_000)  # 400 KB, under MAX_FILE_BYTES
        texts, _ = neighbor_texts(_snap(directory / "doc.py", ""), [], files)
        assert texts == ((f"# {i}\n" + line * 8_000)[:FILE_CHARS],)  # all that is searched of one file
        assert files.cached_chars <= neighbors.MAX_CACHED_CHARS
    assert files.cached_chars > 0
    # Past the budget the least recently used go first; a file still in the cache is not read again.
    reads = []
    read_text = neighbors._read_text
    monkeypatch.setattr(neighbors, "_read_text", lambda file: reads.append(file.parent.name) or read_text(file))
    small = DirectoryFiles(max_chars=3 * FILE_CHARS)
    for i in (0, 1, 2, 0, 3, 1):
        neighbor_texts(_snap(tmp_path / f"pkg{i}" / "doc.py", ""), [], small)
        assert small.cached_chars <= 3 * FILE_CHARS
    assert reads == ["pkg0", "pkg1", "pkg2", "pkg3", "pkg1"]


def test_the_search_counts_files_with_the_documents_suffix_not_every_entry(tmp_path, monkeypatch):
    for i in range(5):
        (tmp_path / f"mod{i}.py").write_text(f"HANDLER_{i} = make_handler({i})\n")
    for i in range(6_000):  # assets beside the code: the first 2,000 entries listed were all that was looked at
        (tmp_path / f"asset{i:04d}.json").write_text("{}")
    texts, _ = neighbor_texts(_snap(tmp_path / "doc.py", ""), [], DirectoryFiles())
    assert len(texts) == 5
    monkeypatch.setattr(neighbors, "MAX_FILES", 2)
    texts, disk = neighbor_texts(_snap(tmp_path / "doc.py", ""), [], DirectoryFiles())
    assert len(texts) == disk.files == 2


def test_hidden_files_and_symbolic_links_are_never_read(tmp_path):
    # `.env` matched the suffix of `sample.env`, and its secrets came back as suggestions in the template.
    (tmp_path / ".env").write_text("STRIPE_SECRET_KEY=sk_live_secret\n")
    (tmp_path / "other.env").write_text("DEBUG=1\n")
    doc = _snap(tmp_path / "sample.env", "STRIPE_SECRET_KEY=\n", "dotenv")
    assert neighbor_texts(doc, [], DirectoryFiles())[0] == ("DEBUG=1\n",)
    # Nor when it is open in another tab.
    open_env = _snap(tmp_path / ".env", "STRIPE_SECRET_KEY=sk_live_secret\n", "dotenv")
    assert neighbor_texts(doc, [open_env], DirectoryFiles())[0] == ("DEBUG=1\n",)
    (tmp_path / ".hidden.py").write_text("TOKEN = 'hidden'\n")
    # A link can lead out of the directory (a cloned repository can ship one).
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "creds").write_text("aws_secret_access_key = 'outside'\n")
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(outside / "creds", project / "settings_local.py")
    (project / "app.py").write_text("app = make_app()\n")
    assert neighbor_texts(_snap(project / "main.py", ""), [], DirectoryFiles())[0] == ("app = make_app()\n",)
    assert neighbor_texts(_snap(tmp_path / "main.py", ""), [], DirectoryFiles())[0] == ()


def test_files_in_a_hidden_folder_are_not_read(tmp_path):
    # Editing ~/.config/gh/config.yml offered the token in hosts.yml beside it.
    gh = tmp_path / ".config" / "gh"
    gh.mkdir(parents=True)
    (gh / "hosts.yml").write_text("github.com:\n    oauth_token: gho_secret\n")
    doc = _snap(gh / "config.yml", "oauth_token: \n", "yaml")
    assert neighbor_texts(doc, [], DirectoryFiles())[0] == ()
    open_hosts = _snap(gh / "hosts.yml", "oauth_token: gho_secret\n", "yaml")
    assert neighbor_texts(_snap(tmp_path / "a.yml", ""), [open_hosts], DirectoryFiles())[0] == ()


def test_a_file_swapped_for_a_link_or_a_fifo_after_the_listing_is_not_read(tmp_path):
    # The listing checks each entry without following links; what is opened afterwards may be another thing: a link
    # to a file outside (its contents came back), or a FIFO (the read never returned, and no suggestion after it).
    outside = tmp_path / "secret.txt"
    outside.write_text("API_KEY = 'outside'\n")
    os.symlink(outside, tmp_path / "link.py")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "plain.py").write_text("x = 1\n")
    assert neighbors._read_text(tmp_path / "link.py") is None
    read = []
    reader = threading.Thread(target=lambda: read.append(neighbors._read_text(tmp_path / "pipe.py")), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert read == [None], "the read of a FIFO did not return"
    assert neighbors._read_text(tmp_path / "plain.py") == "x = 1\n"


def test_a_path_with_a_percent_sign_is_the_file_it_names(tmp_path):
    # Decoded twice, `my%20script.py` became `my script.py`: its own stale copy on disk was searched, and
    # `proj%41/` searched `projA/`.
    edited = tmp_path / "my%20script.py"
    edited.write_text("OLD DISK COPY\n")
    (tmp_path / "my script.py").write_text("ANOTHER FILE\n")
    assert uri_path(edited.as_uri()) == edited
    assert neighbor_texts(_snap(edited, "as edited"), [], DirectoryFiles())[0] == ("ANOTHER FILE\n",)
    (tmp_path / "proj%41").mkdir()
    (tmp_path / "projA").mkdir()
    (tmp_path / "projA" / "other.py").write_text("IN ANOTHER DIRECTORY\n")
    assert neighbor_texts(_snap(tmp_path / "proj%41" / "main.py", ""), [], DirectoryFiles())[0] == ()
    assert uri_path("file://otherhost/share/x.py") is None and uri_path("file://localhost/x.py") == Path("/x.py")


def test_a_windows_file_uri_with_an_escaped_drive_is_the_path_it_names(monkeypatch):
    # VS Code on Windows escapes the drive's colon: the path came out as `\\c:\\Users\\...`, with no drive, and
    # no file beside a document was ever searched.
    monkeypatch.setattr(neighbors, "url2pathname", nturl2path.url2pathname)  # what urllib uses on Windows
    monkeypatch.setattr(neighbors, "Path", PureWindowsPath)
    for uri in ("file:///c%3A/Users/me/proj/app.py", "file:///c%3a/Users/me/proj/app.py",
                "file:///C:/Users/me/proj/app.py"):
        path = uri_path(uri)
        assert path == PureWindowsPath("C:/Users/me/proj/app.py") and path.drive.upper() == "C:", uri
    assert uri_path("file:///c%3A/Users/me/my%2520app.py") == PureWindowsPath("C:/Users/me/my%20app.py")
    assert uri_path("file:///c%253A/x.py") == PureWindowsPath("/c%3A/x.py")  # an escaped percent sign stays one


def test_a_posix_file_uri_with_a_colon_is_the_path_it_names():
    assert uri_path("file:///c%3A/x.py") == uri_path("file:///c:/x.py") == Path("/c:/x.py")
    assert uri_path("file:///c%253A/x.py") == Path("/c%3A/x.py")


def test_the_newest_files_are_searched_whatever_the_listing_order(tmp_path, monkeypatch):
    for i in range(5):
        (tmp_path / f"mod{i}.py").write_text(f"M{i} = {i}\n")
    # Newer in the order the directory lists them: the first listed, taken before sorting, were the oldest.
    for age, name in enumerate(os.listdir(tmp_path)):
        os.utime(tmp_path / name, ns=(10**9 * (age + 1), 10**9 * (age + 1)))
    newest = [(tmp_path / name).read_text() for name in reversed(os.listdir(tmp_path))][:2]
    monkeypatch.setattr(neighbors, "MAX_FILES", 2)
    assert list(neighbor_texts(_snap(tmp_path / "doc.py", ""), [], DirectoryFiles())[0]) == newest


def test_a_directory_is_listed_again_only_once_it_changes(tmp_path, monkeypatch):
    for i in range(3):
        (tmp_path / f"mod{i}.py").write_text(f"M{i} = {i}\n")
    os.utime(tmp_path, ns=(10**9, 10**9))  # modified long ago: a listing of it holds
    listed, scanned = [], []  # listings (a stat of each file, git), and scans of the names alone
    ignored, scandir = neighbors._ignored, os.scandir
    monkeypatch.setattr(neighbors, "_ignored", lambda path, names: listed.append(path) or ignored(path, names))
    monkeypatch.setattr(os, "scandir", lambda path: scanned.append(path) or scandir(path))
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    texts, disk = neighbor_texts(doc, [], files)
    # A keystroke listed (and stat'ed) the whole directory again: 20,000 files beside took 260 ms each time.
    assert neighbor_texts(doc, [], files) == (texts, disk)
    assert len(listed) == len(scanned) == 1
    # Nor to check a stamp: the listing kept is the directory as it is.
    assert disk.unchanged() and len(listed) == len(scanned) == 1
    # Edited in place, which leaves the directory's mtime: the listing stands, the file is read again.
    (tmp_path / "mod1.py").write_text("M1 = 'edited'\n")
    texts, disk = neighbor_texts(doc, [], files)
    assert "M1 = 'edited'\n" in texts and disk.unchanged() and len(listed) == len(scanned) == 1
    # A file added changes the directory: listed again.
    (tmp_path / "new.py").write_text("NEW = 1\n")
    assert "NEW = 1\n" in neighbor_texts(doc, [], files)[0] and len(listed) == 2
    # Its mtime that recent, a file added within the same tick of the directory's clock leaves it as it is: the
    # names are read again, and only they. (Listed again at each keystroke for two seconds after a save by a rename,
    # thousands of files beside cost each one 120 to 390 ms.)
    neighbor_texts(doc, [], files)
    assert len(listed) == 2 and len(scanned) == 3
    assert not disk.unchanged() and len(listed) == 2  # nor to check a stamp
    recent = os.stat(tmp_path).st_mtime_ns
    (tmp_path / "same_tick.py").write_text("SAME = 1\n")
    os.utime(tmp_path, ns=(recent, recent))
    assert "SAME = 1\n" in neighbor_texts(doc, [], files)[0] and len(listed) == 3
    # Once its mtime has settled, the names too are read no more.
    monkeypatch.setattr(neighbors, "RECENT_NS", 0)
    neighbor_texts(doc, [], files)
    before = len(scanned)
    neighbor_texts(doc, [], files)
    assert not disk.unchanged() and len(scanned) == before and len(listed) == 3
    os.utime(tmp_path, ns=(2 * 10**9, 2 * 10**9))
    neighbor_texts(doc, [], files)
    neighbor_texts(doc, [], files)
    assert len(listed) == 4


def _held(obj, shared) -> int:
    """Bytes of the objects `obj` holds, but for `shared` (one for every stamp) and classes."""
    seen, stack, size = set(), [obj], 0
    while stack:
        o = stack.pop()
        if id(o) in seen or o is shared or isinstance(o, type):
            continue
        seen.add(id(o))
        size += sys.getsizeof(o)
        stack.extend(gc.get_referents(o))
    return size


def test_a_stamp_holds_the_same_few_bytes_however_many_files_its_directory_has(tmp_path):
    # A folder whose mtime keeps moving (an editor's swap file coming and going) is listed again at each search,
    # and each cached answer's stamp held a copy of its own of every name and file there: 1.5 MB for 3,000 files.
    files, held = DirectoryFiles(), []
    for count in (10, 2000):
        folder = tmp_path / f"pkg{count:05d}"
        folder.mkdir()
        for i in range(count):
            (folder / f"mod{i:05d}.py").write_text(f"M{i} = {i}\n")
        _, disk = neighbor_texts(_snap(folder / "main.py", ""), [], files)
        held.append(_held(disk, files))
    assert held[1] == held[0] < 4096
    # As exact as ever: a file passed over, edited in place, breaks it.
    assert disk.unchanged()
    os.utime(folder / "mod00000.py", ns=(10**9, 10**9))
    assert not disk.unchanged()


def test_a_file_saved_in_place_is_searched_first_though_the_listing_is_kept(tmp_path):
    # More text beside than one search reads: the most recently modified comes first, and a save in place leaves
    # the directory's mtime (and the kept listing, in its old order) as they were.
    for i in range(12):
        (tmp_path / f"mod{i}.py").write_text(f"# mod{i}\n" + "x = 1\n" * 2000)
        os.utime(tmp_path / f"mod{i}.py", ns=((i + 1) * 10**9, (i + 1) * 10**9))
    os.utime(tmp_path, ns=(10**9, 10**9))
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    assert neighbor_texts(doc, [], files)[0][0].startswith("# mod11")
    (tmp_path / "mod0.py").write_text("# mod0 edited\n" + "x = 1\n" * 2000)
    texts, _ = neighbor_texts(doc, [], files)
    assert texts[0].startswith("# mod0 edited") and sum(len(t) for t in texts) < 12 * 12000


def test_a_search_of_the_files_beside_stops_when_told(tmp_path):
    for i in range(3):
        (tmp_path / f"mod{i}.py").write_text(f"M{i} = {i}\n")
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    with pytest.raises(Cancelled):
        neighbor_texts(doc, [], files, should_stop=lambda: True)
    polls = []
    with pytest.raises(Cancelled):  # listed, then stopped among the reads
        neighbor_texts(doc, [], files, should_stop=lambda: polls.append(1) or len(polls) > 4)
    assert len(neighbor_texts(doc, [], files, should_stop=lambda: False)[0]) == 3


def test_a_file_with_a_stray_byte_of_another_encoding_is_read_as_latin1_but_binary_is_not(tmp_path):
    (tmp_path / "legacy.py").write_bytes("# café\nname = 'José'\n".encode("latin-1"))
    (tmp_path / "noise.py").write_bytes(bytes(range(1, 256)) * 16)  # no NUL, and Latin-1 reads any byte
    # Read up to `READ_BYTES`, which falls inside a character here.
    long = "x" + ("é" * 39 + "\n") * (neighbors.READ_BYTES // 40)
    assert len(long[:neighbors.READ_BYTES].encode()) > neighbors.READ_BYTES
    (tmp_path / "long.py").write_text(long)
    texts = neighbor_texts(_snap(tmp_path / "doc.py", ""), [], DirectoryFiles())[0]
    assert sorted(texts) == ["# café\nname = 'José'\n", long[:FILE_CHARS]]


def test_a_search_reads_a_bounded_number_of_bytes_and_the_next_goes_on_past_them(tmp_path, monkeypatch):
    # Files that give nothing (2,000 of them, not UTF-8) made the first keystroke read every one, 512 KB each.
    blob = b"\xff\x01 packed" * 10_000
    for i in range(300):
        (tmp_path / f"blob{i:03d}.py").write_bytes(blob)
    opened = []
    read_text = neighbors._read_text
    monkeypatch.setattr(neighbors, "_read_text", lambda file: opened.append(file.name) or read_text(file))
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    assert neighbor_texts(doc, [], files)[0] == ()
    first = len(opened)
    read_each = min(len(blob), neighbors.READ_BYTES)
    assert 0 < first <= min(neighbors.MAX_OPENS, neighbors.MAX_READ_BYTES // read_each + 1)
    neighbor_texts(doc, [], files)
    assert len(opened) > first and len(set(opened)) == len(opened)  # others, and not those again


def test_without_git_no_file_is_taken_for_ignored(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("built.py\n")
    (tmp_path / "built.py").write_text("BUILT = 1\n")
    doc = _snap(tmp_path / "main.py", "")
    assert neighbor_texts(doc, [], DirectoryFiles())[0] == ()
    monkeypatch.setenv("PATH", "")
    assert neighbor_texts(doc, [], DirectoryFiles())[0] == ("BUILT = 1\n",)


def test_a_rule_the_repositorys_gitignore_gains_holds_once_the_directory_changes(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "tables.py").write_text("TABLES = 1\n")
    doc, files = _snap(package / "main.py", ""), DirectoryFiles()
    assert neighbor_texts(doc, [], files)[0] == ("TABLES = 1\n",)
    (tmp_path / ".gitignore").write_text("pkg/tables.py\n")
    (package / "notes.txt").write_text("x")  # the directory changes
    os.utime(package, ns=(5 * 10**9, 5 * 10**9))
    assert neighbor_texts(doc, [], files)[0] == ()


def test_a_rule_a_gitignore_edited_in_place_gains_or_loses_holds_at_the_next_search(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "tables.py").write_text("TABLES = 1\n")
    (package / ".gitignore").write_text("*.log\n")
    doc, files = _snap(package / "main.py", ""), DirectoryFiles()
    assert neighbor_texts(doc, [], files)[0] == ("TABLES = 1\n",)
    # Written in place, as editors save: the directory's mtime stays as it was.
    mtime = os.stat(package).st_mtime_ns
    with open(package / ".gitignore", "a") as ignore:
        ignore.write("tables.py\n")
    os.utime(package, ns=(mtime, mtime))
    assert neighbor_texts(doc, [], files)[0] == ()
    (package / ".gitignore").write_text("*.log\n")
    os.utime(package, ns=(mtime, mtime))
    assert neighbor_texts(doc, [], files)[0] == ("TABLES = 1\n",)
    # The repository's own exclude file, and a .gitignore above the directory, alike.
    (tmp_path / ".git" / "info" / "exclude").write_text("pkg/tables.py\n")
    assert neighbor_texts(doc, [], files)[0] == ()
    (tmp_path / ".git" / "info" / "exclude").write_text("")
    (tmp_path / ".gitignore").write_text("tables.py\n")
    assert neighbor_texts(doc, [], files)[0] == ()


def test_a_slow_listing_is_kept_through_changes_for_a_few_times_as_long_as_it_took(tmp_path, monkeypatch):
    (tmp_path / "util.py").write_text("UTIL = 1\n")
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    monkeypatch.setattr(neighbors, "SLOW_LISTING_NS", 0)  # every listing counts as slow
    monkeypatch.setattr(neighbors, "RELIST_AFTER", 10**12)
    assert neighbor_texts(doc, [], files)[0] == ("UTIL = 1\n",)
    (tmp_path / "more.py").write_text("MORE = 1\n")
    assert neighbor_texts(doc, [], files)[0] == ("UTIL = 1\n",)  # within its time: the listing kept
    monkeypatch.setattr(neighbors, "RELIST_AFTER", 0)
    assert sorted(neighbor_texts(doc, [], files)[0]) == ["MORE = 1\n", "UTIL = 1\n"]


@pytest_lsp.fixture(scope="module", config=config())
async def server(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), debounceMs=0, device="cpu")
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


def _open(client, path, text):
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)))


def _close(client, path):
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(path.as_uri())))


async def _inline(client, path, text, offset):
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri=path.as_uri()), position=position_of(text, offset)))
    return [item.insert_text for item in result.items]


async def _stats(client):
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    return stats["model_runs"], stats["cache_hits"], stats["cache_stale"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("line, read_beside", [
    # Short enough that no copy of the hole's whole surroundings decides alone: the files beside are read.
    ("total = sum_of(first, ", True),
    # The file repeats the hole's whole surroundings, which decide alone (`engine.lookup.gather_fills`): no file
    # beside it is read, so none can stale the answer.
    ("result = compute_the_total_of(first_argument, ", False),
])
async def test_an_answer_the_file_itself_gave_outlives_other_files_added_beside_it_but_not_a_module_it_read(
        server, tmp_path, line, read_beside):
    (tmp_path / "util.py").write_text("def helper():\n    return 1\n")
    text = f"{line}1)\n{line}1)\nprint(total)\n{line})\n"
    path = tmp_path / "main.py"
    _open(server, path, text)
    try:
        cursor = text.rindex(")")
        assert await _inline(server, path, text, cursor) == ["1"]
        runs, hits, stale = await _stats(server)
        # An editor's backup, notes: the answer came from the file itself, and still holds.
        (tmp_path / "main.py~").write_text(text)
        (tmp_path / "notes.txt").write_text("x = 2\n")
        assert await _inline(server, path, text, cursor) == ["1"]
        assert await _stats(server) == (runs, hits + 1, stale)
        # A module: a search that read the files beside would read it, and may find a stronger fill in it.
        (tmp_path / "unrelated_new.py").write_text("x = 2\n")
        assert await _inline(server, path, text, cursor) == ["1"]
        assert await _stats(server) == ((runs + 1, hits + 1, stale + 1) if read_beside else (runs, hits + 2, stale))
    finally:
        _close(server, path)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_module_is_offered_the_signature_its_stub_declares_not_the_stubs_body(server, tmp_path):
    (tmp_path / "shop.pyi").write_text(STUB)
    text = "class Rect:\n    def __init__(self, width, height):\n        self.width = width\n\n    def area(self\n"
    cursor = text.index("def area(self") + len("def area(self")
    for name, offered in (("shop.py", ") -> float:"), ("other.pyi", ") -> float: ...")):
        path = tmp_path / name
        _open(server, path, text)
        try:
            assert await _inline(server, path, text, cursor) == [offered]
        finally:
            _close(server, path)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_c_files_own_siblings_are_searched_before_newer_cpp_files_and_headers(server, tmp_path):
    (tmp_path / "util.c").write_text("int f(int items, int helper) {\n    int value = compute_total(items, helper);\n"
                                     "    return value;\n}\n")
    os.utime(tmp_path / "util.c", ns=(10**9, 10**9))
    # Newer, and more than the search reads: it read them, and never came to `util.c`.
    for n in range(4):
        body = "".join(f"int helper_{i}(int a, int b) {{\n    return a + b * {i};\n}}\n\n" for i in range(800))
        (tmp_path / f"gen{n}.cpp").write_text(body)
        (tmp_path / f"gen{n}.h").write_text("".join(f"int helper_{i}(int a, int b);\n" for i in range(800)))
    text = "#include \"shared.h\"\n\nint g(int rows) {\n    int other = 2;\n    int value = compute_total(\n"
    path = tmp_path / "main.c"
    server.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=path.as_uri(), language_id="c", version=1, text=text)))
    try:
        result = await server.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()), position=position_of(text, len(text) - 1)))
        assert "items, helper);" in [item.insert_text for item in result.items]
    finally:
        _close(server, path)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_closed_documents_answers_leave_the_cache(server, tmp_path):
    text = "def area(width, height):\n    return width * height\n\n\ndef volume(width, height, depth):\n    return "
    path = tmp_path / "shapes.py"
    _open(server, path, text)
    await _inline(server, path, text, len(text))
    _close(server, path)
    runs, hits, _ = await _stats(server)
    _open(server, path, text)
    try:
        await _inline(server, path, text, len(text))
        assert (await _stats(server))[:2] == (runs + 1, hits)
    finally:
        _close(server, path)


@pytest.mark.parametrize("name, private", [
    ("api_tokens.txt", True), ("auth.json", True), ("deploy_key.yaml", True), ("github_token", True),
    ("server.pem", True), ("id_ed25519", True),
    # Source code named for what it handles, in any language, is searched.
    ("token.py", False), ("auth_controller.rb", False), ("auth.php", False), ("tokens.css", False),
    ("auth.sh", False), ("AuthService.kt", False), ("other.env", False),
])
def test_a_name_for_a_token_or_a_key_is_private_in_a_file_of_text_or_data_only(name, private):
    assert neighbors._private_name(name) is private


def test_git_runs_no_command_the_repository_configures(tmp_path):
    # A project unpacked from an archive is the user's own, so git's ownership check lets its config be read.
    marker = tmp_path.parent / f"{tmp_path.name}-ran"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "config", "core.fsmonitor", f"touch '{marker}'; false"], check=True)
    (tmp_path / "util.py").write_text("UTIL = 1\n")
    assert neighbor_texts(_snap(tmp_path / "main.py", ""), [], DirectoryFiles())[0] == ("UTIL = 1\n",)
    assert not marker.exists()


def test_a_repository_git_refuses_to_read_is_not_one_without_ignored_files(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("built.py\n")
    (tmp_path / "built.py").write_text("BUILT = 1\n")
    # As git answers in another user's checkout (a mounted volume): "dubious ownership".
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")  # no safe.directory of this machine's
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")  # git's own switch for "owned by another user"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")  # git's messages are translated where its catalogues are installed
    assert neighbor_texts(_snap(tmp_path / "main.py", ""), [], DirectoryFiles())[0] == ()


def test_git_reads_the_directorys_own_repository_whatever_git_told_the_editor(tmp_path, monkeypatch):
    # As in an editor that `git commit` or `git rebase -i` started, in another repository (relative: its own).
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("built.py\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "built.py").write_text("BUILT = 1\n")
    (tmp_path / "src" / "util.py").write_text("UTIL = 1\n")
    monkeypatch.setenv("GIT_DIR", ".git")
    monkeypatch.setenv("GIT_INDEX_FILE", ".git/index")
    assert neighbor_texts(_snap(tmp_path / "src" / "main.py", ""), [], DirectoryFiles())[0] == ("UTIL = 1\n",)


def test_a_file_replaced_by_one_of_the_same_size_and_mtime_is_read_again(tmp_path):
    # cp -p, rsync -a and tar keep the mtime; a chmod changes neither it nor the size.
    (tmp_path / "util.py").write_text("UTIL = 1\n")
    os.utime(tmp_path / "util.py", ns=(10**9, 10**9))
    doc, files = _snap(tmp_path / "main.py", ""), DirectoryFiles()
    texts, stamp = neighbor_texts(doc, [], files)
    assert texts == ("UTIL = 1\n",)
    time.sleep(0.05)  # past a tick of the kernel's coarse clock (4 to 10 ms), which stamps a change time
    (tmp_path / "copy.tmp").write_text("UTIL = 2\n")
    os.utime(tmp_path / "copy.tmp", ns=(10**9, 10**9))
    os.replace(tmp_path / "copy.tmp", tmp_path / "util.py")
    assert not stamp.unchanged()
    assert neighbor_texts(doc, [], files)[0] == ("UTIL = 2\n",)


def test_code_files_among_many_other_files_are_all_listed(tmp_path, monkeypatch):
    monkeypatch.setattr(neighbors, "MAX_ENTRIES", 5)
    for n in range(300):
        (tmp_path / f"d{n:03d}.json").write_text("{}\n")
    for n in range(3):
        (tmp_path / f"m{n}.py").write_text(f"M{n} = 1\n")
    texts = neighbor_texts(_snap(tmp_path / "main.py", ""), [], DirectoryFiles())[0]
    assert sorted(texts) == ["M0 = 1\n", "M1 = 1\n", "M2 = 1\n"]


def test_dot_segments_in_a_uri_do_not_put_a_file_in_a_workspace_folder(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keys.py").write_text("OUTSIDE = 1\n")
    doc = Snapshot((tmp_path / "ws").as_uri() + "/../outside/main.py", "python", 1, "")
    assert neighbor_texts(doc, [], DirectoryFiles(), folders=[tmp_path / "ws"])[0] == ()
    assert uri_path((tmp_path / "ws").as_uri() + "/sub/../main.py") == tmp_path / "ws" / "main.py"
