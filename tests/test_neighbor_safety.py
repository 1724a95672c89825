"""What the files beside a document may give, through the server over stdio on real directories: never a file git
ignores nor one named like a secret, nothing outside the document's workspace folder, no more than a share of the
search from any one file, nothing from a minified or generated file, a file with a stray Latin-1 byte all the same;
a cached answer is not thrown away for a tab the search does not read, and the event loop never waits on the disk."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_support import capabilities, config, init_params, loaded, position_of, tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Its `*` import binds any name a copy reads (`scopes.unbound_reads`): which files are searched is the question here.
MINE = "from shared import *\n\n\ndef g(rows):\n    other = 2\n    value = compute_total(\n"
AT = len(MINE) - 1  # after `compute_total(`


def beside(argument: str) -> str:
    """A module whose call the lookup copies into `MINE`'s hole: the fill `items, <argument>)`."""
    return f"def f(items, {argument}):\n    value = compute_total(items, {argument})\n"


def fill(argument: str) -> str:
    return f"items, {argument})"


@pytest_lsp.fixture(scope="module", config=config())
async def server(lsp_client: LanguageClient, tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    params = init_params(capabilities(notebooks=True), modelPath=tiny_model(), debounceMs=0, device="cpu",
                         numCandidates=8)
    params.root_uri = root.as_uri()  # the one folder, as a client that predates workspace folders declares it
    await lsp_client.initialize_session(params)
    await loaded(lsp_client)
    lsp_client.root = root
    yield
    await lsp_client.shutdown_session()


def _open(client, path, text, language="python"):
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=path.as_uri(), language_id=language, version=1, text=text)))


def _change(client, path, version, text):
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
        [types.TextDocumentContentChangeWholeDocument(text=text)]))


def _close(client, path):
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(path.as_uri())))


def _folders(client, added=(), removed=()):
    event = types.WorkspaceFoldersChangeEvent(
        added=[types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in added],
        removed=[types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in removed])
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(event=event))


async def _ask(client, path, text=MINE, offset=AT) -> list[str]:
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri=path.as_uri()), position=position_of(text, offset)))
    return [item.insert_text for item in result.items]


async def _asked(client, path) -> list[str]:
    """The fills offered in `MINE`, written at `path` and open for the request alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MINE)
    _open(client, path, MINE)
    try:
        return await _ask(client, path)
    finally:
        _close(client, path)


async def _stats(client) -> tuple[int, int]:
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    return stats["model_runs"], stats["cache_hits"]


def _git(*args):
    subprocess.run(["git", *args], check=True, capture_output=True)


async def test_files_git_ignores_and_files_named_like_secrets_are_not_searched(server):
    # A gitignored `local_settings.py` beside `settings.py` had its password offered as a suggestion.
    repo = server.root / "repo"
    app = repo / "app"
    app.mkdir(parents=True)
    _git("init", "-q", str(repo))
    (repo / ".gitignore").write_text("prod_config.py\n*.local.py\n")
    (app / "prod_config.py").write_text(beside("prod_key"))  # ignored
    (app / "forced.local.py").write_text(beside("forced"))  # matched by an ignore rule, but tracked: not ignored
    _git("-C", str(repo), "add", "-f", "app/forced.local.py")
    for name, argument in (("db_credentials.py", "credential"), ("api_secrets.py", "secret"),
                           ("passwords.py", "password"), ("local_settings.py", "local")):
        (app / name).write_text(beside(argument))
    (app / "helpers.py").write_text(beside("helper"))
    (app / "token.py").write_text(beside("token_module"))  # a module of source code named so: searched
    (app / ":(glob)odd.py").write_text(beside("odd"))  # a name git would read as a pattern: it refused them all
    offered = await _asked(server, app / "settings.py")
    assert all(fill(argument) in offered for argument in ("helper", "forced", "odd", "token_module"))
    for argument in ("prod_key", "credential", "secret", "password", "local"):
        assert fill(argument) not in offered, argument
    # Open in a tab, a file named like a secret is no more searched than on disk.
    tab = app / "passwords.py"
    _open(server, tab, beside("password_tab"))
    try:
        assert fill("password_tab") not in await _asked(server, app / "settings.py")
    finally:
        _close(server, tab)


async def test_text_files_named_for_a_token_or_key_are_not_searched(server):
    # A deploy token in `api_tokens.txt` was offered as ghost text while typing in `todo.txt` beside it.
    notes = server.root / "notes"
    notes.mkdir()
    sentence = "the deploy token for the billing service is "
    for name, value in (("api_tokens.txt", "ghp_apitoken"), ("auth.txt", "ghp_auth"), ("access-keys.txt", "ghp_key"),
                        ("deploy_key.txt", "ghp_deploy"), ("plans.txt", "rotated")):
        (notes / name).write_text(f"Note that {sentence}{value} for now.\n")
    text = f"Remember: {sentence}"
    path = notes / "todo.txt"
    path.write_text(text)
    _open(server, path, text, language="plaintext")
    try:
        offered = await _ask(server, path, text, len(text))
    finally:
        _close(server, path)
    assert any(item.startswith("rotated") for item in offered), offered
    assert not any(item.startswith("ghp_") for item in offered), offered


async def test_a_document_outside_the_workspace_reads_no_file_beside_it(server, tmp_path):
    # A file opened from Downloads, outside the only workspace folder, was completed from the files beside it.
    (tmp_path / "aws.py").write_text(beside("outside_key"))
    assert fill("outside_key") not in await _asked(server, tmp_path / "notes.py")
    inside = server.root / "inside"
    inside.mkdir()
    (inside / "aws.py").write_text(beside("inside_key"))
    assert fill("inside_key") in await _asked(server, inside / "notes.py")


async def test_a_new_unsaved_document_searches_the_open_tabs_of_its_language_in_every_folder(server, tmp_path):
    # A new tab (`untitled:`) stands in no folder: with a folder declared, it searched no tab at all, and was offered
    # no copy from the others. It searches them as where no folder is declared: those in the folder and outside it,
    # none hidden below its own folder nor named like a secret's (and it has no directory on disk).
    tabs = {server.root / "lib" / "ours.py": "in_folder", tmp_path / "theirs.py": "outside",
            server.root / ".venv" / "site.py": "hidden", server.root / "lib" / "db_passwords.py": "password"}
    for path, argument in tabs.items():
        _open(server, path, beside(argument))
    new = "untitled:Untitled-1"
    server.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=new, language_id="python", version=1, text=MINE)))
    try:
        result = await server.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=new), position=position_of(MINE, AT)))
        offered = [item.insert_text for item in result.items]
        assert fill("in_folder") in offered and fill("outside") in offered, offered
        assert fill("hidden") not in offered and fill("password") not in offered, offered
        # A saved document in the folder reads its folder's tabs alone, as before.
        saved = await _asked(server, server.root / "lib" / "saved.py")
        assert fill("in_folder") in saved and fill("outside") not in saved, saved
    finally:
        server.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(new)))
        for path in tabs:
            _close(server, path)


async def test_a_folder_declared_through_a_symbolic_link_holds_the_documents_opened_by_their_real_path(
        server, tmp_path):
    # As another server's go-to-definition opens them (macOS's /tmp is /private/tmp): it read no file beside them.
    real = tmp_path / "real_project"
    (real / "pkg").mkdir(parents=True)
    (real / "pkg" / "helpers.py").write_text(beside("real_helper"))
    link = tmp_path / "project"
    link.symlink_to(real, target_is_directory=True)
    _folders(server, added=[link])
    try:
        assert fill("real_helper") in await _asked(server, real / "pkg" / "main.py")
        assert fill("real_helper") in await _asked(server, link / "pkg" / "main.py")
    finally:
        _folders(server, removed=[link])
    assert fill("real_helper") not in await _asked(server, real / "pkg" / "main.py")


async def test_open_tabs_count_only_in_the_documents_workspace_folder(server, tmp_path):
    # Another project's tab, open in the same editor, gave its API key to this one.
    other = tmp_path / "other_root"
    (other / "billing").mkdir(parents=True)
    _folders(server, added=[other])
    theirs, ours = other / "billing" / "keys.py", server.root / "lib" / "util.py"
    _open(server, theirs, beside("their_key"))
    _open(server, ours, beside("our_helper"))
    try:
        offered = await _asked(server, server.root / "pay" / "pay.py")
        assert fill("our_helper") in offered and fill("their_key") not in offered
    finally:
        _close(server, theirs)
        _close(server, ours)
        _folders(server, removed=[other])


async def test_a_notebooks_cells_count_as_tabs_in_the_folder_of_the_notebook(server):
    # A cell's URI is no file's: it stands where its notebook does.
    notebook = server.root / "notebooks" / "analysis.ipynb"
    cell = f"vscode-notebook-cell:{notebook.as_posix()}#W0sZmlsZQ%3D%3D"
    server.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(uri=notebook.as_uri(), notebook_type="jupyter-notebook", version=1,
                                                 cells=[types.NotebookCell(types.NotebookCellKind.Code, cell)]),
        cell_text_documents=[types.TextDocumentItem(uri=cell, language_id="python", version=1,
                                                    text=beside("from_cell"))]))
    try:
        assert fill("from_cell") in await _asked(server, server.root / "scripts" / "main.py")
    finally:
        server.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook.as_uri()),
            cell_text_documents=[types.TextDocumentIdentifier(uri=cell)]))


async def test_hidden_folders_count_only_below_the_workspace_folder(server, tmp_path):
    # A project under ~/.config/nvim had no files beside it searched; a `.venv` inside the project still has none.
    nvim = tmp_path / ".config" / "nvim"
    (nvim / "lua").mkdir(parents=True)
    (nvim / "lua" / "plugins.py").write_text(beside("telescope"))
    _folders(server, added=[nvim])
    try:
        assert fill("telescope") in await _asked(server, nvim / "lua" / "keys.py")
        venv = server.root / ".venv" / "lib"
        venv.mkdir(parents=True)
        (venv / "site.py").write_text(beside("vendored"))
        assert fill("vendored") not in await _asked(server, venv / "mine.py")
    finally:
        _folders(server, removed=[nvim])
    # Its folder removed, the file is outside the workspace.
    assert fill("telescope") not in await _asked(server, nvim / "lua" / "keys.py")


async def test_one_large_file_or_tab_leaves_room_for_the_others(server):
    # A file (or an open tab) of more than the whole budget filled it, and no other file beside was read.
    body = "".join(f"def helper_{i}(a, b):\n    return a + b * {i}\n\n" for i in range(4000))
    folder = server.root / "large"
    folder.mkdir()
    (folder / "small.py").write_text(beside("small"))
    os.utime(folder / "small.py", ns=(10**9, 10**9))
    (folder / "huge.py").write_text(body)  # the newest: read first
    assert fill("small") in await _asked(server, folder / "main.py")
    tabs = server.root / "large_tab"
    tabs.mkdir()
    (tabs / "small.py").write_text(beside("after_tab"))
    tab = server.root / "elsewhere" / "huge_tab.py"
    _open(server, tab, body)
    try:
        assert fill("after_tab") in await _asked(server, tabs / "main.py")
    finally:
        _close(server, tab)


async def test_minified_and_generated_files_are_not_searched(server):
    folder = server.root / "machine"
    folder.mkdir()
    header = "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n# source: api.proto\n"
    (folder / "api_pb2.py").write_text(header + beside("generated"))
    (folder / "bundle.py").write_text("x=1;" * 400 + "value = compute_total(items, minified)\n")
    (folder / "hand.py").write_text(beside("hand_written"))
    offered = await _asked(server, folder / "main.py")
    assert fill("hand_written") in offered
    assert fill("generated") not in offered and fill("minified") not in offered


async def test_a_file_with_a_stray_latin1_byte_is_searched(server):
    folder = server.root / "legacy"
    folder.mkdir()
    (folder / "old.py").write_bytes(("# caf\xe9\n" + beside("latin")).encode("latin-1"))
    assert fill("latin") in await _asked(server, folder / "main.py")


async def test_a_keystroke_in_a_tab_the_search_does_not_read_leaves_the_cached_answers(server, tmp_path):
    # Every answer was keyed by the revision of every open document of its language: a keystroke in any tab, of any
    # project, threw all of them away.
    other = tmp_path / "other_project"
    other.mkdir()
    _folders(server, added=[other])
    mine, theirs, ours = server.root / "cached" / "a.py", other / "b.py", server.root / "cached_tab" / "c.py"
    mine.parent.mkdir()
    mine.write_text(MINE)
    _open(server, theirs, "x = 1\n")
    _open(server, ours, "y = 1\n")
    _open(server, mine, MINE)
    try:
        await _ask(server, mine)
        runs, hits = await _stats(server)
        _change(server, theirs, 2, "x = 2\n")
        await _ask(server, mine)
        assert await _stats(server) == (runs, hits + 1)
        # One the search reads is another matter.
        _change(server, ours, 2, "y = 2\n")
        await _ask(server, mine)
        assert await _stats(server) == (runs + 1, hits + 1)
    finally:
        for path in (mine, theirs, ours):
            _close(server, path)
        _folders(server, removed=[other])


# A disk that takes 5 ms a stat under any folder named `slow-disk` (a network mount, WSL's /mnt/c): the server as
# `python -m infill_ls`, with `os.stat` made to wait there.
SLOW_DISK = """
import os, sys, time
real_stat = os.stat
def slow_stat(path, *args, **kwargs):
    if isinstance(path, (str, bytes, os.PathLike)) and "slow-disk" in os.fsdecode(path):
        time.sleep(0.005)
    return real_stat(path, *args, **kwargs)
os.stat = slow_stat
from infill_ls.cli import main
sys.exit(main())
"""


@pytest_lsp.fixture(scope="module", config=config([sys.executable, "-c", SLOW_DISK, "--stdio"]))
async def slow(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), debounceMs=0, device="cpu"))
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_a_cached_answer_is_checked_against_the_disk_off_the_event_loop(slow, tmp_path):
    # The check of a cached answer's files stat'ed each of them on the event loop: on a slow disk every other
    # message (a keystroke, a cancel, shutdown) waited seconds behind it.
    folder = tmp_path / "slow-disk"
    folder.mkdir()
    for i in range(400):
        (folder / f"mod{i:03d}.py").write_text(f"M{i} = {i}\n")
    (folder / "calls.py").write_text(beside("slow"))
    path = folder / "main.py"
    path.write_text(MINE)
    _open(slow, path, MINE)
    try:
        assert fill("slow") in await _ask(slow, path)
        runs, hits = await _stats(slow)
        cached = asyncio.ensure_future(_ask(slow, path))
        await asyncio.sleep(0.3)  # the check has begun: 2 s of stats
        await _stats(slow)
        assert not cached.done(), "the stats command waited for the check of the cached answer"
        assert fill("slow") in await cached
        assert await _stats(slow) == (runs, hits + 1)
    finally:
        _close(slow, path)
