"""The service's cached answers and the files beside a document: an answer whose lookup searched the directory holds
while the files of the document's language there are as they were, and an answer found with a document open beside
it is not served once that document closes unless its copy on disk says the same. Real files and a real checkpoint,
through the service as the server drives it."""

import os


from infill_ls.documents import Position, PositionEncoding
from infill_ls.service import InfillService


# Its parameters are the names the copies read: a copy that reads names nothing binds is not shown.
MINE = "def g(rows, rate, items, tax_rate):\n    other = 2\n    value = compute_total(\n"
AT = Position(2, len("    value = compute_total("))
BESIDE = "def f(items, tax_rate):\n    value = compute_total(items, tax_rate)\n"
FILL = "items, tax_rate)"  # what the lookup copies from `BESIDE`, wherever it is read from


async def _ask(service: InfillService, path) -> list[str]:
    suggestions = await service.suggest_in(service.documents.get(path.as_uri()), AT, PositionEncoding.UTF16,
                                           explicit=True)
    return [s.text for s in suggestions]


def _runs_and_hits(service: InfillService) -> tuple[int, int]:
    stats = service.stats()
    return stats["model_runs"], stats["cache_hits"]


def _settled(directory) -> None:
    """The directory as if last modified long ago: a file added now changes its mtime whatever the clock's tick."""
    os.utime(directory, ns=(10**9, 10**9))


async def test_an_answer_that_searched_the_directory_is_stale_once_a_file_of_its_language_appears(service, tmp_path):
    mine = tmp_path / "a.py"
    mine.write_text(MINE)
    _settled(tmp_path)
    service.open(mine.as_uri(), "python", 1, MINE)
    first = await _ask(service, mine)
    assert FILL not in first
    # An editor's backup and swap file, a vim write test, notes: not files the search reads, and the answer holds.
    for name in ("a.py~", ".a.py.swp", "4913", "notes.txt"):
        (tmp_path / name).write_text(BESIDE)
    runs, hits = _runs_and_hits(service)
    assert await _ask(service, mine) == first
    assert _runs_and_hits(service) == (runs, hits + 1)
    # A module written by another tool (a checkout, a generator): the answer it would give is not the cached one.
    (tmp_path / "b.py").write_text(BESIDE)
    assert (await _ask(service, mine))[0] == FILL
    assert _runs_and_hits(service)[0] == runs + 1
    # Deleted: what it was found in is gone.
    (tmp_path / "b.py").unlink()
    assert FILL not in await _ask(service, mine)


async def test_an_answer_is_stale_once_a_file_the_search_passed_over_is_saved(service, tmp_path):
    # More text beside than one search reads: the oldest file is not read, but once saved it is the newest.
    for i in range(12):
        (tmp_path / f"mod{i}.py").write_text(f"# mod{i}\n" + "x = 1\n" * 2000)
        os.utime(tmp_path / f"mod{i}.py", ns=((i + 2) * 10**9, (i + 2) * 10**9))
    mine = tmp_path / "a.py"
    mine.write_text(MINE)
    _settled(tmp_path)
    service.open(mine.as_uri(), "python", 1, MINE)
    assert FILL not in await _ask(service, mine)
    (tmp_path / "mod0.py").write_text(BESIDE)  # saved in place: the directory's mtime stays as it was
    assert (await _ask(service, mine))[0] == FILL


async def test_closing_a_document_beside_serves_no_answer_its_copy_on_disk_contradicts(service, tmp_path):
    mine, other = tmp_path / "a.py", tmp_path / "b.py"
    mine.write_text(MINE)
    _settled(tmp_path)
    service.open(mine.as_uri(), "python", 1, MINE)
    alone = await _ask(service, mine)
    assert FILL not in alone
    # b.py written in the editor, saved, closed: on disk it says what it said open.
    service.open(other.as_uri(), "python", 1, BESIDE)
    assert (await _ask(service, mine))[0] == FILL
    other.write_text(BESIDE)
    service.close(other.as_uri())
    assert (await _ask(service, mine))[0] == FILL
    # Open again and edited, then closed without saving: the copy on disk is what is searched.
    service.open(other.as_uri(), "python", 1, BESIDE.replace("items, tax_rate", "rows, rate"))
    assert (await _ask(service, mine))[0] == "rows, rate)"
    service.close(other.as_uri())
    assert (await _ask(service, mine))[0] == FILL


async def test_an_action_stops_once_its_document_changes(service, tmp_path):
    # Its edit is for the text it started from, and is never applied: it ran on to its end all the same, holding
    # the model while each keystroke's suggestion waited behind it.
    import asyncio

    from infill_ls.actions import ActionKind
    from infill_ls.documents import Range, TextChange

    text = "def area(width, height):\n    ...\n"
    uri = (tmp_path / "shapes.py").as_uri()
    service.open(uri, "python", 1, text)
    placeholder = Range(Position(1, 4), Position(1, 7))
    running = asyncio.ensure_future(
        service.action_in(ActionKind.FILL_PLACEHOLDERS, uri, service.documents.get(uri), placeholder,
                          PositionEncoding.UTF16, 1))
    for _ in range(3):
        await asyncio.sleep(0)  # it takes the model
    service.change(uri, 2, [TextChange(None, text + "\nx = 1\n")], PositionEncoding.UTF16)
    outcome = await running
    assert outcome.edit is None
    assert outcome.reason == "Fill placeholders: the document changed while it ran; nothing was applied"
    assert service.stats()["superseded"] == 1


async def test_a_change_stops_the_fill_for_the_text_before_it(service, tmp_path):
    # As it stops an action: the fill for a text that is gone ran all the same, holding the model while the next
    # keystroke's request waited behind it, and was only then dropped.
    import asyncio
    import threading

    from infill_ls.documents import TextChange

    uri = (tmp_path / "a.py").as_uri()
    service.open(uri, "python", 1, MINE)
    gate = threading.Event()
    held = service.scheduler.submit(lambda: gate.wait(30))  # the worker busy: the fill waits its turn
    running = asyncio.ensure_future(service.suggest_in(service.documents.get(uri), AT, PositionEncoding.UTF16,
                                                       explicit=True))
    for _ in range(10):
        await asyncio.sleep(0)  # it reads the document and waits for the worker
    runs = service.stats()["model_runs"]
    service.change(uri, 2, [TextChange(None, MINE + "\n")], PositionEncoding.UTF16)
    gate.set()
    await asyncio.wrap_future(held)
    suggestions = await running
    assert suggestions == []
    assert service.stats()["superseded"] == 1 and service.stats()["model_runs"] == runs


def test_a_folder_whose_real_path_cannot_be_told_is_kept_as_declared(tmp_path):
    # A `%00` in a folder's URI made `initialize` fail on the server's side: realpath refuses an embedded NUL.
    from infill_ls.settings import Settings

    service = InfillService(Settings())
    service.set_folders(["file:///tmp/a%00b", tmp_path.as_uri()])
    assert service.folders[0].name == "a\0b" and tmp_path in service.folders


async def test_a_request_at_a_line_past_the_documents_end_is_answered_for_no_other_place(service, tmp_path, caplog):
    # Read as the document's end, as a change's position is, the fill and the action were for the last line: text
    # the user was not at, for an editor whose text differs from the server's.
    from infill_ls.actions import ActionKind
    from infill_ls.documents import Range

    text = "def add(a, b):\n    return \n"
    uri = (tmp_path / "add.py").as_uri()
    service.open(uri, "python", 1, text)
    snapshot = service.documents.get(uri)
    end = Position(2, 0)  # the text's end, after its last line break: a place in it
    assert await service.actions_in(snapshot, Range(Position(1, 4), end), PositionEncoding.UTF16) != []
    with caplog.at_level("WARNING", logger="infill_ls.service"):
        assert await service.suggest_in(snapshot, Position(50, 0), PositionEncoding.UTF16, explicit=True) == []
    assert [r.getMessage() for r in caplog.records] == \
        [f"{uri}: a suggestion asked for at line 50 is past the document's end (lines 0 to 2); none given"]
    beyond = Range(Position(1, 4), Position(40, 0))
    assert await service.actions_in(snapshot, beyond, PositionEncoding.UTF16) == []
    outcome = await service.action_in(ActionKind.CLOSE_STRUCTURE, uri, snapshot, beyond, PositionEncoding.UTF16, 1)
    assert (outcome.edit, outcome.reason) == \
        (None, "Close structure: the range's line 40 is past the document's end (lines 0 to 2); nothing was applied")
    assert service.documents.get(uri).text == text
