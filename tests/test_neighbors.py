"""The files searched beside a document: other open documents, then its directory's files on disk."""

from __future__ import annotations

import os

from infill_ls.documents import Snapshot
from engine.lookup import lookup_fills
from infill_ls.neighbors import MAX_FILE_BYTES, DirectoryFiles, Gathered, neighbor_texts, uri_path


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


def test_the_files_beside_are_gathered_only_when_the_file_itself_may_not_hold_the_strongest_fills():
    calls = []

    def gather():
        calls.append(1)
        return ("a = add(x, y)\n",), None

    # The file repeats the hole's whole line (a bridge with the longest key): nothing elsewhere can rank above it.
    line = "result = compute_the_total_of(first_argument, "
    mine = f"{line}1)\n{line}1)\n{line}"
    assert [f.text for f in lookup_fills(mine, ")\n", limit=1, elsewhere=Gathered(gather))] == ["1"]
    assert calls == []
    # Its fills found with a short key leave room for stronger ones beside it: the other files are read.
    mine = "p = add(1, 2)\nq = add(3, 4)\nr = add(5, 6)\ntotal = add("
    assert [f.text for f in lookup_fills(mine, ")\n", limit=3, elsewhere=Gathered(gather))] == ["5, 6", "3, 4", "1, 2"]
    assert calls == [1]


def test_the_stamp_of_what_was_read_holds_until_one_of_those_files_or_the_directory_changes(tmp_path):
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
    (tmp_path / "c.txt").write_text("c = 3\n")  # any new entry changes the directory
    os.utime(tmp_path, ns=(4, 4))
    assert not disk.unchanged()
    disk = stamp()
    (tmp_path / "b.py").unlink()
    assert not disk.unchanged()
    # Nothing read from disk, nothing to stamp: an unsaved buffer, or no files wanted.
    assert neighbor_texts(Snapshot("untitled:Untitled-1", "python", 1, "x"), [], files)[1] is None
    assert neighbor_texts(doc, [], None)[1] is None


def test_a_gathered_search_has_a_stamp_only_once_it_read_the_disk(tmp_path):
    (tmp_path / "a.py").write_text("a = 1\n")
    gathered = Gathered(lambda: neighbor_texts(_snap(tmp_path / "main.py", ""), [], DirectoryFiles()))
    assert gathered.disk is None
    assert list(gathered) == ["a = 1\n"]
    assert gathered.disk is not None and gathered.disk.unchanged()
