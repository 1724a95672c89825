"""The Neovim plugin against the real server, in a real headless Neovim.

One session runs the scenario in editors/nvim/tests/ghost_text_scenario.lua: it opens a Python
file, enters insert mode inside an empty function body, asks for a suggestion and waits for
the ghost-text extmark, dismisses it, presses <Tab> with nothing shown (an ordinary indent), shows
the suggestion again, leaves insert mode, and finally types its first character, accepts its next
word with <M-Right> and the rest with <Tab>; then it rewrites another line with :InfillRewrite and
with Neovim's own code action menu (in a 'nomodifiable' buffer first), and types with suggestions
turned off and on again by :InfillToggle.
The scenario writes what it saw to JSON; the assertions are here. The server runs the shipped
model, whose suggestions there are several words long.

`:checkhealth infill` is run against the real server (a model, a missing model), a server command
that is not there, and no setup() at all. Against the real server too: insert mode entered before it has
answered `initialize`, and the messages of a server command not on PATH and of a server that exits at start.

The tests after it run editors/nvim/tests/editor_scenarios.lua against a scripted server (this
file, run as a script), for the editor's side: one server across :cd, crashes and :InfillRestart,
a server that cannot start, <C-c>, the user's own mappings of the plugin's keys, the cursor going
back into typed text, :InfillTrigger, compound filetypes, setup() again, settings taken out (vim.NIL), Replace mode,
:e!, undo around an accept, buffers with no name, a model kept after another failed to load, commands before setup(),
the trigger key after a crash, multi-line suggestions beside a diagnostic and at the window's edge, a statusline,
commands run from insert mode (<C-o>), a line of megabytes, each kind of buffer with a 'buftype' and a 'readonly'
one. INFILL_TEST_NVIM=/path/to/nvim runs them all with another
Neovim than the one on PATH (some of these bugs showed only on 0.11).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "editors" / "nvim"
SCENARIO = PLUGIN / "tests" / "ghost_text_scenario.lua"
# INFILL_TEST_NVIM runs these tests with another Neovim than the one on PATH.
NVIM = os.environ.get("INFILL_TEST_NVIM") or shutil.which("nvim")

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed (0.7 or later: editors/nvim/README.md)")

SOURCE = '''\
import math


def circle_area(radius):
    """Area of a circle of the given radius."""
    return math.pi * radius ** 2


def scaled(values, factor):
    result = []
    for value in values:
        
    return result
'''
# Inside the loop body of `scaled`, on the line left blank for it (1-based line).
ROW = SOURCE.splitlines().index("        ") + 1
# The loop's header of `scaled`, which the completion leaves as it was. (The shipped model rewrites the `return` line
# of `circle_area` as `return result`, a name nothing there binds, and its docstring as a `return` above that line,
# which then never runs: the server refuses both.)
REWRITE_ROW = SOURCE.splitlines().index("    for value in values:") + 1
SCENARIO_TIMEOUT_S = 120


def nvim_env(work: Path, server_cmd: list[str]) -> dict[str, str]:
    """The environment of a headless Neovim that loads the plugin and starts `server_cmd`."""
    return {
        **os.environ,
        # Keep Neovim's state, logs and swap files inside the test's directory.
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_STATE_HOME": str(work / "state"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "INFILL_PLUGIN": str(PLUGIN),
        "INFILL_CMD": json.dumps(server_cmd),
    }


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("nvim")
    source = work / "scaled.py"
    source.write_text(SOURCE, encoding="utf-8")
    result_path = work / "result.json"
    env = {
        **nvim_env(work, [sys.executable, "-m", "infill_ls", "--stdio"]),
        "INFILL_FILE": str(source),
        "INFILL_ROW": str(ROW),
        "INFILL_COL": str(len(SOURCE.splitlines()[ROW - 1])),
        "INFILL_REWRITE_ROW": str(REWRITE_ROW),
        "INFILL_RESULT": str(result_path),
        "INFILL_TIMEOUT_MS": str((SCENARIO_TIMEOUT_S - 10) * 1000),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(SCENARIO)],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_S,
    )
    assert result_path.exists(), f"nvim wrote no result (exit {proc.returncode}): {proc.stdout}{proc.stderr}"
    result = json.loads(result_path.read_text(encoding="utf-8"))
    log = Path(result.get("lsp_log") or "")
    result["lsp_log_text"] = log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.is_file() else ""
    return result


def describe(result: dict) -> str:
    return (
        f"status={result.get('status')} error={result.get('error')} stages={result.get('stages')}\n"
        f"messages:\n{result.get('messages')}\nlsp log:\n{result.get('lsp_log_text')}"
    )


def test_scenario_completes(session: dict) -> None:
    assert session["status"] == "ok", describe(session)


def test_ghost_text_is_an_extmark_at_the_cursor(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    marks = session["extmarks"]
    assert len(marks) == 1
    mark = marks[0]
    line = SOURCE.splitlines()[ROW - 1]
    assert (mark["row"], mark["col"]) == (ROW - 1, len(line))
    assert mark["virt_text"] or mark["virt_lines"]
    assert session["ghost"].strip(), "the suggestion drawn is blank"


def test_dismiss_key_and_leaving_insert_mode_clear_it(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    line = SOURCE.splitlines()[ROW - 1]
    assert session["dismissed"] == {"line": line, "mode": "i"}
    assert session["extmarks_after_leave"] == 0


def test_accept_key_falls_through_when_nothing_is_shown(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    line = SOURCE.splitlines()[ROW - 1]
    typed = session["tab_fallthrough"]
    assert typed.startswith(line) and len(typed) > len(line) and typed.isspace()


def test_typing_through_keeps_the_rest_of_the_suggestion(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    ghost = session["ghost"]
    if ghost[0] in "\n\t" or len(ghost) < 2:
        # Nothing the scenario can type through without the editor reindenting it.
        assert "typed" not in session
        return
    assert session["typed"] == ghost[0]
    assert session["ghost_after_typing"] == ghost[1:]


def test_accept_word_key_inserts_the_next_word_and_keeps_the_rest_shown(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    word = session.get("word")
    assert word is not None, f"the suggestion {session['ghost']!r} is one word: nothing to accept a part of"
    rest, part = word["rest"], word["part"]
    assert rest == session.get("ghost_after_typing", session["ghost"])
    # Leading whitespace, then one word or one run of other characters.
    assert re.fullmatch(r"\s*(\w+|[^\w\s]+)", part) and rest.startswith(part) and part != rest
    line = SOURCE.splitlines()[ROW - 1] + session.get("typed", "")
    assert "\n".join(word["lines"]) == line + part
    assert word["cursor"] == [ROW + len(word["lines"]) - 1, len(word["lines"][-1].encode("utf-8"))]
    assert word["ghost_after"] == rest[len(part):]


def test_accept_key_inserts_the_suggestion(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    line = SOURCE.splitlines()[ROW - 1]
    after = session["after_accept"]
    assert after["mode"] == "i"
    inserted = "\n".join(after["lines"])
    assert inserted == line + session["ghost"]
    last = after["lines"][-1]
    # Neovim columns count bytes.
    assert after["cursor"] == [ROW + len(after["lines"]) - 1, len(last.encode("utf-8"))]


def test_rewrite_command_changes_only_the_selected_line(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    rewrite = session["rewrite"]
    before, after = rewrite["before"], rewrite["after"]
    row = rewrite["row"]
    assert after != before
    # Lines above the rewritten one are untouched; so is the tail of the file below it.
    assert after[: row - 1] == before[: row - 1]
    tail = len(before) - row
    assert after[len(after) - tail :] == before[row:]


def test_an_action_from_neovims_menu_in_a_nomodifiable_buffer_says_so_and_runs_no_model(session: dict) -> None:
    # Neovim's menu had the server resolve the action to its edit, which ran the model, then failed to apply it:
    # "Error executing vim.schedule lua callback: .../lsp/util.lua:392: Buffer is not 'modifiable'" and a stack trace.
    assert session["status"] == "ok", describe(session)
    menu = session["menu"]
    assert "Rewrite selection" in menu["offered"], menu
    refused = "infill: this buffer is not 'modifiable'; the action is not run"
    assert (menu["messages"], menu["notes"][0], menu["changed"]["notes"]) == (refused, refused, 1), menu
    assert menu["lines_after"] == menu["lines_before"], menu
    assert menu["runs_after"] == menu["runs_before"], menu


def test_an_action_from_neovims_menu_is_applied_with_nothing_logged(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    menu = session["menu"]
    assert menu["changed"]["after"] != menu["changed"]["before"], menu
    assert menu["runs_applied"] > menu["runs_after"], menu
    # The server's resolve of an action offered with its command said it was not one of its own, a line Neovim's LSP
    # log keeps as an error.
    assert "codeAction/resolve" not in session["lsp_log_text"], session["lsp_log_text"]


def test_toggle_stops_asking_while_typing_and_starts_again(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    toggle = session["toggle"]
    assert (toggle["enabled_off"], toggle["enabled_on"]) == (False, True)
    assert toggle["before"] > 0 and toggle["off"] == toggle["before"] and toggle["extmarks_off"] == 0
    assert toggle["on"] > toggle["off"]


def test_status_names_the_model_the_server_loaded_and_the_pause(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    full, short = session["status_on"]
    # The embedded model, as the server's infill/didChangeStatus named it.
    assert full.startswith("infill: ready (default_model (") and "M params" in full, full
    assert short == "infill: ready" and session["status_off"] == "infill: ready, paused"


PARTS = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
local inline = require('infill.inline')
local out = { parts = {}, rests = {} }
for _, case in ipairs(vim.json.decode(vim.env.INFILL_CASES)) do
  table.insert(out.parts, inline.next_part(case[1], case[2]))
end
-- 'ab' typed of the item 'ab cd(e)\n  fg' that replaces up to 1 byte before the line's end.
local item = { row = 3, start_col = 4, end_from_eol = 1, text = 'ab cd(e)\n  fg', command = 'c' }
local view = { row = 3, col = 6, ghost = ' cd(e)\n  fg' }
for _, part in ipairs({ ' cd', '(e)\n  fg' }) do
  local rest = inline.rest_after(item, view, part)
  table.insert(out.rests, rest)
  item, view = rest, { row = rest.row, col = rest.start_col, ghost = rest.text }
end
io.stdout:write(vim.json.encode(out))
vim.cmd('qall!')
"""


def _plugin_json(tmp_path: Path, name: str, lua: str, **env: str):
    """What a Lua script that loads the plugin's modules (no server) writes to stdout as JSON, run headless."""
    script = tmp_path / name
    script.write_text(lua, encoding="utf-8")
    env = {**os.environ, "INFILL_PLUGIN": str(PLUGIN), "XDG_STATE_HOME": str(tmp_path), **env}
    proc = subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(script)], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    return json.loads(proc.stdout or proc.stderr)


def test_the_parts_that_accept_word_and_accept_line_take(tmp_path: Path) -> None:
    cases = [
        ("foo bar", "word", "foo"), ("  bar(x)", "word", "  bar"), ("(x)", "word", "("), ("), y", "word", "),"),
        ("\n    return x", "word", "\n    return"), ("   ", "word", "   "), ("naïve x", "word", "naïve"),
        ("x", "word", "x"), ("abc\ndef", "line", "abc"), ("\n    def\nx", "line", "\n    def"),
        ("abc", "line", "abc"), ("\n", "line", "\n"),
    ]
    out = _plugin_json(tmp_path, "parts.lua", PARTS, INFILL_CASES=json.dumps([[text, unit] for text, unit, _ in cases]))
    assert out["parts"] == [part for _, _, part in cases]
    # After ' cd' the rest starts where it ends, on the same line; after a part that crosses a line
    # break, at the end of the part's last line. The replaced range's end and the command stay.
    assert out["rests"] == [
        {"row": 3, "start_col": 9, "end_from_eol": 1, "text": "(e)\n  fg", "command": "c"},
        {"row": 4, "start_col": 4, "end_from_eol": 1, "text": "", "command": "c"},
    ]



HEALTH = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
vim.cmd('runtime plugin/infill.lua')
local notes = {}
vim.notify = function(msg)
  table.insert(notes, msg)
end
local setup = vim.json.decode(vim.env.INFILL_SETUP)
if setup ~= vim.NIL then
  require('infill').setup(setup)
end
vim.cmd('filetype on')
if vim.env.INFILL_UNNAMED == '1' then
  vim.cmd('enew')
  vim.bo.filetype = 'python'
else
  vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.INFILL_FILE))
end
-- Until the server has said whether its model loaded, or could not start.
local client = require('infill.client')
vim.wait(tonumber(vim.env.INFILL_WAIT_MS), function()
  local s = client.status()
  return client.start_failure() ~= nil or (s ~= nil and s.kind ~= 'loading')
end, 50)
if vim.env.INFILL_KILL == '1' then
  -- The server is Neovim's only child process here.
  for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
    (vim.uv or vim.loop).kill(pid, 9)
  end
  vim.wait(10000, function()
    return client.get() == nil
  end, 50)
end
vim.cmd('checkhealth infill')
vim.cmd('write! ' .. vim.fn.fnameescape(vim.env.INFILL_RESULT))
vim.fn.writefile({ vim.json.encode(notes) }, vim.env.INFILL_NOTES)
vim.cmd('qall!')
"""
REPORT = re.compile(r"^\s*-\s+(?:\S+\s+)?(OK|WARNING|ERROR):?\s+(.*)$")


def checkhealth(tmp_path: Path, setup: dict | None, wait_ms: int = 30000,
                kill: bool = False, unnamed: bool = False) -> tuple[list[tuple[str, str]], str]:
    """`:checkhealth infill` after setup(setup) (none when None) and opening a Python file (with `unnamed`, a
    Python buffer with no name), and with `kill` the server killed (SIGKILL): its OK / WARNING / ERROR lines as
    (level, text), and the whole report. The messages shown before it are in tmp_path/notes.json."""
    script, out, source = tmp_path / "health.lua", tmp_path / "health.txt", tmp_path / "a.py"
    script.write_text(HEALTH, encoding="utf-8")
    source.write_text("def f(x):\n    return x\n", encoding="utf-8")
    env = {**nvim_env(tmp_path, []), "INFILL_SETUP": json.dumps(setup), "INFILL_FILE": str(source),
           "INFILL_RESULT": str(out), "INFILL_WAIT_MS": str(wait_ms), "INFILL_KILL": "1" if kill else "0",
           "INFILL_UNNAMED": "1" if unnamed else "0", "INFILL_NOTES": str(tmp_path / "notes.json"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(script)], cwd=tmp_path,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    assert out.exists(), f"nvim wrote no report (exit {proc.returncode}): {proc.stdout}{proc.stderr}"
    report = out.read_text(encoding="utf-8")
    return [m.groups() for m in map(REPORT.match, report.splitlines()) if m], report


REAL_SERVER = [sys.executable, "-m", "infill_ls", "--stdio"]


def test_checkhealth_reports_the_running_server_and_its_model(tmp_path: Path) -> None:
    lines, report = checkhealth(tmp_path, {"cmd": REAL_SERVER})
    assert not [line for line in lines if line[0] != "OK"], report
    texts = [text for _, text in lines]
    assert any(t.startswith("infill-ls ") and sys.executable in t for t in texts), report
    assert any(t.startswith("the server is running") and "1 buffer attached" in t for t in texts), report
    # Neovim 0.11's client no longer gives the pid (client.rpc.pid): it went missing from the report there.
    assert any(re.match(r"the server is running \(client \d+, pid \d+\)", t) for t in texts), report
    assert any(t.startswith("model: default_model (") for t in texts), report
    assert "suggestions are drawn by" in report


def test_checkhealth_right_after_the_server_starts_says_it_is_starting(tmp_path: Path) -> None:
    # It said "update it": the server had not yet said whether its model loaded.
    lines, report = checkhealth(tmp_path, {"cmd": REAL_SERVER}, wait_ms=0)
    assert "update it" not in report and "the server is starting" in report, report
    assert not [line for line in lines if line[0] == "ERROR"], report


def test_checkhealth_says_why_there_is_no_model(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-checkpoint"
    lines, report = checkhealth(tmp_path, {"cmd": REAL_SERVER, "settings": {"modelPath": str(missing)}})
    errors = [text for level, text in lines if level == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("no model: ") and str(missing) in errors[0], report
    assert "modelPath" in report  # the advice


def test_checkhealth_names_a_server_command_that_is_not_there(tmp_path: Path) -> None:
    lines, report = checkhealth(tmp_path, {"cmd": ["no-such-infill-ls", "--stdio"]}, wait_ms=2000)
    errors = [text for level, text in lines if level == "ERROR"]
    assert len(errors) == 2, report
    assert "no-such-infill-ls" in errors[0] and "not an executable" in errors[0], report
    assert errors[1].startswith("the server could not start"), report
    assert "pip install ." in report and ":InfillRestart" in report


def test_checkhealth_names_a_server_script_whose_interpreter_is_gone(tmp_path: Path) -> None:
    # An infill-ls left in a virtualenv whose Python was removed: Neovim could not spawn it and said so, the
    # plugin said again that it could not start ("no client"), and checkhealth gave only "no client".
    server = tmp_path / "bin" / "infill-ls"
    server.parent.mkdir()
    server.write_text("#!/nonexistent/venv/bin/python3\nprint('never')\n", encoding="utf-8")
    server.chmod(0o755)
    lines, report = checkhealth(tmp_path, {"cmd": [str(server), "--stdio"]}, wait_ms=2000)
    errors = [text for level, text in lines if level == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("the server could not start: "), report
    assert f"{server} could not be run" in errors[0] and "/nonexistent/venv/bin/python3" in errors[0], report
    notes = json.loads((tmp_path / "notes.json").read_text(encoding="utf-8"))
    # Neovim's own, that it could not spawn the command, alone.
    assert len(notes) == 1 and not notes[0].startswith("infill: "), notes


def test_checkhealth_says_that_an_unnamed_buffer_is_not_sent_to_the_server(tmp_path: Path) -> None:
    # `:enew | setf python` joined the server as `file://`, the URI of every unnamed buffer.
    lines, report = checkhealth(tmp_path, {"cmd": REAL_SERVER}, wait_ms=500, unnamed=True)
    warnings = [text for level, text in lines if level == "WARNING"]
    assert len(warnings) == 1 and "no file name" in warnings[0], report
    assert ":write" in report and "the server is not running" in report, report


def test_checkhealth_says_a_killed_server_stopped_and_how_to_start_it_again(tmp_path: Path) -> None:
    # Neovim's own message is the only one of the exit, and it does not name :InfillRestart.
    lines, report = checkhealth(tmp_path, {"cmd": REAL_SERVER}, kill=True)
    warnings = [text for level, text in lines if level == "WARNING"]
    assert len(warnings) == 1 and "stopped (exit code 0, signal 9)" in warnings[0], report
    assert ":InfillRestart starts it again" in report, report


def test_checkhealth_asks_for_setup_when_it_was_not_called(tmp_path: Path) -> None:
    lines, report = checkhealth(tmp_path, None, wait_ms=0)
    assert [level for level, _ in lines] == ["OK", "WARNING"], report
    assert "setup() has not been called" in lines[1][1], report


COLD_INSERT = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
vim.cmd('runtime plugin/infill.lua')
vim.cmd('filetype on')
local infill = require('infill')
-- The cursor stands on a blank line, where the embedded model's guess is shown while typing only when asked for.
infill.setup({ cmd = vim.json.decode(vim.env.INFILL_CMD), settings = { typingNewLines = true } })
vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.INFILL_FILE))
vim.api.nvim_win_set_cursor(0, { tonumber(vim.env.INFILL_ROW), 0 })
-- Insert mode starts once this script has run, before the server can have answered `initialize`; nothing is
-- typed after it.
vim.cmd('startinsert!')
local uv = vim.uv or vim.loop
local out = {}
local deadline = uv.now() + tonumber(vim.env.INFILL_WAIT_MS)
local timer = uv.new_timer()
timer:start(20, 20, vim.schedule_wrap(function()
  if out.initialized_in_insert == nil and vim.api.nvim_get_mode().mode == 'i' then
    local c = require('infill.client').get()
    out.initialized_in_insert = c ~= nil and c.initialized == true
  end
  local shown = #vim.api.nvim_buf_get_extmarks(0, infill.namespace, 0, -1, {}) > 0
  if shown or uv.now() > deadline then
    timer:stop()
    out.ghost, out.mode, out.status = shown, vim.api.nvim_get_mode().mode, infill.status(true)
    vim.fn.writefile({ vim.json.encode(out) }, vim.env.INFILL_RESULT)
    vim.cmd('qall!')
  end
end))
"""


def test_insert_mode_entered_before_the_server_answers_gets_a_suggestion(tmp_path: Path) -> None:
    # The request made on entering insert mode was dropped while the server had not answered `initialize`, and
    # nothing asked again once it had: no suggestion until a key was typed or the cursor moved.
    script, source, out = tmp_path / "cold.lua", tmp_path / "scaled.py", tmp_path / "cold.json"
    script.write_text(COLD_INSERT, encoding="utf-8")
    source.write_text(SOURCE, encoding="utf-8")
    env = {**nvim_env(tmp_path, REAL_SERVER), "INFILL_FILE": str(source), "INFILL_ROW": str(ROW),
           "INFILL_WAIT_MS": "30000", "INFILL_RESULT": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(script)], cwd=tmp_path,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    assert out.exists(), f"nvim wrote no result (exit {proc.returncode}): {proc.stdout}{proc.stderr}"
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["initialized_in_insert"] is False, result
    assert result["ghost"] is True and result["mode"] == "i", result


START = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
vim.cmd('runtime plugin/infill.lua')
vim.cmd('filetype on')
local notes = {}
vim.notify = function(msg)
  table.insert(notes, msg)
end
require('infill').setup({ cmd = vim.json.decode(vim.env.INFILL_CMD) })
vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.INFILL_FILE))
local client = require('infill.client')
vim.wait(30000, function()
  return client.start_failure() ~= nil
end, 20)
vim.wait(500) -- for the messages, which are scheduled
vim.fn.writefile({ vim.json.encode({ notes = notes, status = require('infill').status() }) }, vim.env.INFILL_RESULT)
vim.cmd('qall!')
"""


def start_failure(tmp_path: Path, cmd: list[str]) -> dict:
    """setup{cmd = cmd} and a Python file opened, in a server that does not start: the messages shown
    (`notes`) and :InfillStatus (`status`)."""
    script, source, out = tmp_path / "start.lua", tmp_path / "a.py", tmp_path / "start.json"
    script.write_text(START, encoding="utf-8")
    source.write_text("def f(x):\n    return x\n", encoding="utf-8")
    env = {**nvim_env(tmp_path, cmd), "INFILL_FILE": str(source), "INFILL_RESULT": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(script)], cwd=tmp_path,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    assert out.exists(), f"nvim wrote no result (exit {proc.returncode}): {proc.stdout}{proc.stderr}"
    return json.loads(out.read_text(encoding="utf-8"))


def test_a_server_command_not_on_path_says_so_and_how_to_install_it(tmp_path: Path) -> None:
    # It said "could not start no-such-infill-ls (not an executable)": neither that it was looked for on PATH,
    # nor how to install the server, nor where to look further.
    result = start_failure(tmp_path, ["no-such-infill-ls", "--stdio"])
    assert len(result["notes"]) == 1, result
    note = result["notes"][0]
    assert note.startswith("infill: ") and "no-such-infill-ls" in note and "not found on PATH" in note, note
    assert "pip install" in note and ":checkhealth infill" in note and ":InfillRestart" in note, note
    assert "\n" not in note, note


def test_a_server_that_exits_at_start_shows_its_own_reason(tmp_path: Path) -> None:
    # Only Neovim's "quit with exit code 2 ... check log" was shown; the server's reason was in the log alone.
    cmd = REAL_SERVER + ["--threads", "0"]
    server = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    reason = server.stderr.strip().splitlines()[-1]
    assert server.returncode != 0 and "--threads" in reason, server
    result = start_failure(tmp_path, cmd)
    ours = [note for note in result["notes"] if note.startswith("infill: ")]
    assert len(ours) == 1 and reason in ours[0] and "\n" not in ours[0], result
    assert reason in result["status"] and ":InfillRestart" in result["status"], result

# What the editor does around the suggestions, against a scripted server (this file, run as a
# script) whose answers and lifetime the tests control: editors/nvim/tests/editor_scenarios.lua.
EDITOR_SCENARIOS = PLUGIN / "tests" / "editor_scenarios.lua"
SUGGESTION = "abcdef"
WORDS_ITEM = "ab cd\nef"


def scripted_server(argv: list[str]) -> None:
    """A language server that answers each inline completion with SUGGESTION, for the documents
    it has open (and with an error for others, as the real one does), and appends its start
    (with its pid and arguments), each document opened (with its languageId), each settings change
    and each request as a JSON line to $INFILL_LOG. With --fail it exits first, with code 3; with --version it
    says which it is, as the real one does. A modelPath it is sent it cannot load: it keeps serving and says so
    (infill/didChangeStatus "warning"), as the real one does when it keeps the model it had."""
    if "--version" in argv:
        print("infill-ls 0 (scripted)")
        return
    with open(os.environ["INFILL_LOG"], "a", encoding="utf-8") as log:

        def record(**event) -> None:
            log.write(json.dumps(event) + "\n")
            log.flush()

        record(event="start", pid=os.getpid(), argv=argv)
        if "--fail" in argv:
            sys.exit(3)
        inp, out = sys.stdin.buffer, sys.stdout.buffer

        def send(**msg) -> None:
            body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
            out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            out.flush()

        opened: dict[str, str] = {}  # uri -> text (full sync)
        versions: dict[str, int] = {}
        versioned_edits = False  # the client takes workspace edits with versions (documentChanges)
        stale: tuple[str, int] | None = None  # (uri, version) of a command's edit held until the next change
        while True:
            headers = {}
            while line := inp.readline().strip():
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            if not headers:
                return
            msg = json.loads(inp.read(int(headers["content-length"])))
            method, params = msg.get("method"), msg.get("params") or {}
            uri = (params.get("textDocument") or {}).get("uri")
            if method == "textDocument/didOpen":
                opened[uri] = params["textDocument"]["text"]
                versions[uri] = params["textDocument"]["version"]
                record(event="open", uri=uri, languageId=params["textDocument"]["languageId"])
            elif method == "textDocument/didChange" and uri in opened:
                opened[uri] = params["contentChanges"][-1]["text"]
                versions[uri] = params["textDocument"]["version"]
                if stale is not None and stale[0] == uri:
                    # The edit of a command made before this change arrives after it, as a slow one does.
                    send(id="stale-edit", method="workspace/applyEdit", params={"edit": line_edit(*stale, versioned_edits)})
                    stale = None
            elif method == "textDocument/didClose":
                opened.pop(uri, None)
                record(event="close", uri=uri)
            elif method == "workspace/didChangeWorkspaceFolders":
                event = params.get("event") or {}
                record(event="folders", added=[f["uri"] for f in event.get("added") or []],
                       removed=[f["uri"] for f in event.get("removed") or []])
            elif msg.get("id") == "stale-edit" and not method:
                record(event="applied", result=msg.get("result"))
            elif method == "exit":
                return
            elif method == "workspace/didChangeConfiguration":
                record(event="settings", settings=params.get("settings"))
                model = ((params.get("settings") or {}).get("infill") or {}).get("modelPath")
                if isinstance(model, str):
                    send(method="infill/didChangeStatus", params={
                        "kind": "warning",
                        "message": f"cannot load model from {model}: no config.json; keeping the model loaded from "
                                   "/scripted/model"})
            elif method == "initialize":
                record(event="initialize", options=params.get("initializationOptions"),
                       folders=[f["uri"] for f in params.get("workspaceFolders") or []])
                workspace = (params.get("capabilities") or {}).get("workspace") or {}
                versioned_edits = bool((workspace.get("workspaceEdit") or {}).get("documentChanges"))
                send(id=msg["id"], result={"capabilities": {"textDocumentSync": 1, "inlineCompletionProvider": True}})
            elif method == "workspace/executeCommand":
                record(event="command", arguments=params.get("arguments"))
                send(id=msg["id"], result=None)
                target = (params.get("arguments") or [None])[0]
                if "STALE" in opened.get(target, ""):
                    stale = (target, versions[target])
                elif "FRESH_EDIT" in opened.get(target, ""):
                    send(id="stale-edit", method="workspace/applyEdit",
                         params={"edit": line_edit(target, versions[target], versioned_edits)})
            elif method == "textDocument/inlineCompletion":
                record(event="inline", uri=uri, open=uri in opened,
                       trigger=(params.get("context") or {}).get("triggerKind"))
                if "EXIT0" in opened.get(uri, ""):  # a server that ends of its own accord, with code 0
                    os._exit(0)
                if "FAILING" in opened.get(uri, ""):  # an error whose text differs each time
                    send(id=msg["id"], error={"code": -32603, "message": f"fill failed after {msg['id']} ms"})
                elif uri in opened:
                    send(id=msg["id"], result={"items": scripted_items(opened[uri], params["position"])})
                else:
                    send(id=msg["id"], error={"code": -32602, "message": f"{uri} is not open"})
            elif "id" in msg and method:
                send(id=msg["id"], result=None)


def line_edit(uri: str, version: int, versioned: bool) -> dict:
    """The first line replaced by REWRITTEN, made at `version`: versioned where the client takes
    documentChanges, as the real server sends it then, else a plain `changes` edit."""
    edits = [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 5}},
              "newText": "REWRITTEN"}]
    if not versioned:
        return {"changes": {uri: edits}}
    return {"documentChanges": [{"textDocument": {"uri": uri, "version": version}, "edits": edits}]}


def scripted_items(text: str, at: dict) -> list[dict]:
    """The scripted server's answer: two items for a document holding TWO; two lines with a CRLF break for one
    holding CRLF, as the server writes them for a CRLF document; for one holding RANGE, an item that
    replaces the character after the cursor (a closer the editor inserted) as well; WORDS_ITEM, words over two
    lines, for one holding WORDS; else SUGGESTION."""
    if "TWO" in text:
        return [{"insertText": "abc"}, {"insertText": "xyz"}]
    if "WORDS" in text:
        return [{"insertText": WORDS_ITEM}]
    if "CRLF" in text:
        return [{"insertText": "one\r\n    two"}]
    if "RANGE" in text:
        end = {"line": at["line"], "character": at["character"] + 1}
        return [{"insertText": "x)", "range": {"start": at, "end": end}}]
    return [{"insertText": SUGGESTION}]


def editor_scenario(name: str, tmp_path: Path) -> dict:
    for file in ("a.py", "b.py", "c.py"):
        (tmp_path / file).write_text("x = f(\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    result_path, log = tmp_path / "result.json", tmp_path / "server.log"
    env = {
        **nvim_env(tmp_path, [sys.executable, __file__] + (["--fail"] if name == "bad_start" else [])),
        "INFILL_DIR": str(tmp_path),
        "INFILL_LOG": str(log),
        "INFILL_SCENARIO": name,
        "INFILL_RESULT": str(result_path),
    }
    proc = subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(EDITOR_SCENARIOS)],
                          cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result_path.exists(), f"nvim wrote no result (exit {proc.returncode}): {proc.stdout}{proc.stderr}"
    result = json.loads(result_path.read_text(encoding="utf-8"))
    result["server_log"] = log.read_text(encoding="utf-8") if log.exists() else ""
    assert result["status"] == "ok", result
    return result


def test_a_buffer_outside_the_workspace_folders_adds_its_project_to_them(tmp_path: Path) -> None:
    # Neovim started in elsewhere/: project/src/c.py is in no workspace folder, and the server searched no file
    # beside it. Its project (the folder above it that holds a pyproject.toml) is added, then a.py's directory (no
    # such file above it); b.py, beside a.py, adds nothing more.
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    (project / "src" / "c.py").write_text("x = f(\n", encoding="utf-8")
    result = editor_scenario("outside", tmp_path)
    assert result["initialize"] == [(tmp_path / "elsewhere").as_uri()], result
    assert result["folders"] == [{"added": [project.as_uri()], "removed": []},
                                 {"added": [tmp_path.as_uri()], "removed": []}], result
    assert result["ghost"] == SUGGESTION, result


def test_one_server_across_cd(tmp_path: Path) -> None:
    # Neovim 0.11's vim.lsp.start started a second server for the new working directory, and the
    # first buffer, attached to the first, got no suggestions.
    result = editor_scenario("cd", tmp_path)
    assert (result["starts"], result["clients"], result["a_attached"]) == (1, 1, True), result
    assert result["a_ghost"] == SUGGESTION, result


def test_buffers_rejoin_the_server_after_a_crash_and_on_restart(tmp_path: Path) -> None:
    result = editor_scenario("crash", tmp_path)
    # Neovim's own message alone (the plugin's repeated it); :InfillStatus has the way back.
    notes = result["notes_after_kill"]
    assert len(notes) == 1 and "quit with exit code 0 and signal 9" in notes[0], result
    assert "signal 9" in result["status_after_kill"] and ":InfillRestart" in result["status_after_kill"], result
    # The buffer open before the crash joins the server that the next buffer starts.
    assert result["after_new_buffer"] == {"a": True, "b": True, "clients": 1}, result
    assert result["a_ghost"] == SUGGESTION, result
    assert result["after_restart"] == {"a": True, "b": True, "clients": 1}, result
    assert result["starts"] == 3 and result["notes"] == result["notes_after_kill"], result


def test_a_server_that_cannot_start_is_reported_once(tmp_path: Path) -> None:
    # Not started again, nor reported, for each buffer opened after it; :InfillRestart tries again.
    result = editor_scenario("bad_start", tmp_path)
    # Neovim's own message says it, once; the plugin's said it again.
    assert result["starts"] == 1 and len(result["notes"]) == 1, result
    assert "quit with exit code 3" in result["notes"][0], result
    assert "could not start" in result["status_line"] and ":InfillRestart" in result["status_line"], result
    assert result["starts_after_restart"] == 2 and len(result["notes_after_restart"]) == 2, result


def test_ctrl_c_clears_the_ghost_text(tmp_path: Path) -> None:
    result = editor_scenario("ctrl_c", tmp_path)
    assert result["ghost"] == SUGGESTION, result
    assert result["after"] == {"mode": "n", "ghost": False, "visible": False}, result


def test_keys_fall_through_to_the_users_own_mappings(tmp_path: Path) -> None:
    # With nothing shown, global mappings: <Tab> to text, <M-]> a Lua expr one, <M-[> one to a
    # <Plug> mapping, <M-Right> a Vim script expr one; the buffer's own, which the plugin's replace:
    # <C-]> one that starts with <C-]>, <M-C-Right> a Lua callback.
    result = editor_scenario("user_maps", tmp_path)
    assert result["line"] == result["original"] + "[TAB][DISMISS][NEXT][PREV][WORD]", result
    assert result["lua_callback_ran"] is True, result
    # With a suggestion shown the plugin's <Tab> accepts it.
    assert result["ghost"] == SUGGESTION, result
    assert result["accepted"] == result["before_accept"] + SUGGESTION, result


def test_accept_and_accept_word_work_from_the_users_own_expr_mapping(tmp_path: Path) -> None:
    (tmp_path / "words.py").write_text("WORDS = f(\n", encoding="utf-8")
    result = editor_scenario("expr_accept", tmp_path)
    # Nothing shown: the mapping goes on with its own keys.
    assert result["nothing_shown"].endswith("[TAB]"), result
    assert result["ghost"] == SUGGESTION, result
    assert result["accepted"] == result["before"] + SUGGESTION and result["ghost_after"] is False, result
    assert result["words_ghost"].startswith("ab"), result
    assert result["after_word"] == result["words_before"] + "ab", result
    assert result["ghost_after_word"] and result["ghost_after_word"].startswith(" cd"), result
    assert result["notes"] == [], result


def test_setup_again_with_fewer_filetypes_takes_their_buffers_off_the_server(tmp_path: Path) -> None:
    result = editor_scenario("narrower", tmp_path)
    assert (result["before"], result["after"], result["closed"], result["clients"]) == (True, False, 1, 1), result


def test_a_buffer_that_cannot_be_changed_gets_no_suggestion(tmp_path: Path) -> None:
    result = editor_scenario("nomodifiable", tmp_path)
    assert result["ghost"] is False and result["asked"] == 0, result
    assert result["line"].endswith("\t") or "E5108" not in " ".join(result["notes"]), result


def test_accepting_in_a_buffer_made_nomodifiable_says_why_once_and_keeps_the_key(tmp_path: Path) -> None:
    # The plugin said why, then the key fell through as well: Neovim's E21 twice more for one <Tab>.
    result = editor_scenario("refused", tmp_path)
    assert result["ghost"] == SUGGESTION and result["line"] == "x = f(", result
    assert result["notes"] == ["infill: the buffer is not 'modifiable'; the suggestion is not inserted"], result
    assert "E21" not in result["errors"], result


def test_an_action_in_a_nomodifiable_buffer_says_so_and_is_not_run(tmp_path: Path) -> None:
    # The server ran it, and its edit was refused by Neovim with "...lsp/util.lua:392: Buffer is not 'modifiable'",
    # which the server showed.
    result = editor_scenario("nomodifiable_action", tmp_path)
    assert result["lines"] == ["FRESH_EDIT", "line two"], result
    assert (result["commands"], result["applied"]) == ([], []), result
    assert result["notes"] == ["infill: this buffer is not 'modifiable'; the action is not run"], result


def test_a_buffer_made_one_that_holds_no_file_leaves_the_server(tmp_path: Path) -> None:
    # `setlocal buftype=nofile` after its filetype kept it on the server, with suggestions, while :checkhealth said
    # that it was not sent.
    result = editor_scenario("buftype", tmp_path)
    assert result["before"] is True, result
    assert result["nofile"] == {"attached": False, "why": "it holds no file (buftype 'nofile')"}, result
    assert result["again"] is True and result["ghost"] == SUGGESTION, result


def test_only_a_file_buffer_gets_suggestions_and_a_readonly_one_takes_them_with_vims_warning(tmp_path: Path) -> None:
    # Help, terminal, prompt (a picker's or a REPL's input line), quickfix and nofile buffers are not sent to the
    # server, even named and of an enabled filetype, and show nothing; 'readonly' guards only writing: Vim changes
    # the text after its W10 warning, which an accepted suggestion gives as a typed key does.
    result = editor_scenario("buffer_kinds", tmp_path)
    for kind in ("help", "quickfix", "terminal", "prompt", "nofile"):
        assert (result[kind]["attached"], result[kind]["why"]) == (False, f"it holds no file (buftype '{kind}')"), \
            result
    assert (result["prompt"]["ghost"], result["nofile"]["ghost"]) == (False, False), result
    opened = [event["uri"] for event in map(json.loads, result["server_log"].splitlines()) if event["event"] == "open"]
    assert opened == [(tmp_path / "a.py").as_uri(), (tmp_path / "c.py").as_uri()], result
    readonly = result["readonly"]
    assert (readonly["attached"], readonly["ghost"], readonly["line"]) == (True, SUGGESTION, "x = f(" + SUGGESTION), \
        result
    assert readonly["messages"] == "W10: Warning: Changing a readonly file" and result["notes"] == [], result


def test_a_server_that_exits_with_code_0_of_its_own_accord_is_said_as_a_crash_is(tmp_path: Path) -> None:
    # (Started again for the buffer, it is asked again and exits again: each time one line.)
    (tmp_path / "exit0.py").write_text("EXIT0 = f(\n", encoding="utf-8")
    result = editor_scenario("exit0", tmp_path)
    assert result["notes"] and set(result["notes"]) == {result["notes"][0]}, result
    assert "exit code 0" in result["notes"][0], result
    assert ":InfillRestart" in result["notes"][0], result
    assert "exit code 0" in result["infill_status"] and ":InfillRestart" in result["infill_status"], result


def test_ghost_text_hides_when_the_cursor_goes_back_into_typed_text(tmp_path: Path) -> None:
    result = editor_scenario("left", tmp_path)
    assert result["typed"] == {"line": "x = f(ab", "ghost": SUGGESTION[2:]}, result
    assert result["left"] == {"col": len("x = f(a"), "ghost": False}, result


def test_trigger_command_asks_in_insert_mode_and_says_so_in_normal_mode(tmp_path: Path) -> None:
    result = editor_scenario("trigger_command", tmp_path)
    assert len(result["normal_notes"]) == 1 and "insert mode" in result["normal_notes"][0], result
    assert result["insert_ghost"] == SUGGESTION and result["notes"] == result["normal_notes"], result


def test_the_completion_menu_hides_the_suggestion_and_keeps_its_keys(tmp_path: Path) -> None:
    # <Tab> under the menu accepted the suggestion drawn beside it (stale: the menu had inserted a word), and the
    # menu's <C-e> then took the accepted text away again.
    result = editor_scenario("menu", tmp_path)
    assert result["ghost"] == SUGGESTION, result
    assert result["menu"] == {"pum": True, "ghost": False, "accepted": False}, result
    assert result["after"] == {"line": "x = ab", "pum": False}, result


def test_a_line_range_rewrite_is_not_narrowed_by_an_old_selection(tmp_path: Path) -> None:
    result = editor_scenario("rewrite_range", tmp_path)
    whole, selected, exclusive = result["ranges"]
    assert whole == {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 9}}, result
    assert selected == {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 4}}, result
    # With 'selection' exclusive one character more was taken.
    assert exclusive == selected, result


def test_typing_past_one_suggestion_keeps_the_others_that_still_agree(tmp_path: Path) -> None:
    # Typing what only the first of two items agrees with, while the second was shown, threw both away.
    result = editor_scenario("cycle", tmp_path)
    assert (result["first"], result["second"], result["typed"]) == ("abc", "xyz", "bc"), result
    assert result["cycled"] == "bc", result  # one item left: cycling stays on it


def test_a_candidate_picked_and_typed_into_stays_shown_when_typing_asks_again(tmp_path: Path) -> None:
    # The new answer at each keystroke put its first candidate back in place of the one picked with <M-]>.
    result = editor_scenario("cycle_typing", tmp_path)
    assert (result["first"], result["second"]) == ("abc", "xyz"), result
    assert result["asked"] >= 2 and result["typed"] == "yz", result


def test_a_suggestion_that_replaces_the_closer_after_the_cursor_shows_it_once(tmp_path: Path) -> None:
    # Drawn inline (Neovim 0.10 on), `foo(|)` with the item `x)` for `)` showed `foo(x))`.
    result = editor_scenario("replaced_closer", tmp_path)
    assert result["mark"] == {"pos": "overlay", "text": "x) RANGE"}, result


def nvim_version(result: dict) -> tuple[int, int]:
    return tuple(int(part) for part in result["nvim_version"].split(".")[:2])


def test_a_multi_line_suggestion_shows_its_first_line_beside_a_diagnostic_and_at_the_windows_edge(
        tmp_path: Path) -> None:
    # From Neovim 0.10 on its first line was drawn over the line's end (overlay), not in it: a diagnostic's text at
    # the end of the line hid it, and past the window's edge it was cut off where a one-line suggestion wraps.
    result = editor_scenario("multiline", tmp_path)
    first, second = WORDS_ITEM.split("\n")
    for key in ("diagnostic", "edge"):
        mark = result[key]
        assert (mark["first"], mark["lines"]) == (first, [second]), result
        assert mark["pos"] == ("inline" if nvim_version(result) >= (0, 10) else "overlay"), result
    if nvim_version(result) < (0, 10):
        pytest.skip("Neovim before 0.10 has no inline virtual text: the first line is drawn over the line's end")
    row, below, _ = result["diagnostic"]["screen"]
    assert row.startswith("x = WORDS" + first) and "DIAG" in row and below == second, result
    row, wrapped, below = result["edge"]["screen"]
    # 76 columns of text and 5 of the suggestion's first line in an 80-column window: its last column wraps.
    assert len(row) == 80 and (row + wrapped).endswith(first) and below == second, result


def test_a_statusline_follows_the_servers_state_without_a_key(tmp_path: Path) -> None:
    # A statusline built on status() said "starting" long after the model had loaded, and "ready" after the server
    # had gone, until a key was pressed: nothing drew it again, and there was no event to draw it on.
    result = editor_scenario("statusline", tmp_path)
    assert result["before"]["shown"] == "infill: starting", result
    changed, exited = result["changed"], result["exited"]
    assert changed["shown"] == changed["status"] == "infill: ready (warning)", result
    assert exited["shown"] == exited["status"] == "infill: not running", result
    assert result["before"]["events"] < changed["events"] < exited["events"], result


@pytest.mark.parametrize("auto", [False, True])
def test_commands_run_from_insert_mode_leave_a_suggestion_and_trigger_one(tmp_path: Path, auto: bool,
                                                                          monkeypatch) -> None:
    # <C-o>:InfillTrigger<CR> showed nothing: asked with the cursor one character back (where the command runs),
    # its answer was dropped on the way back to insert mode; on 0.7 leaving the command line cancelled it; and with
    # suggestions while typing on, the request of coming back to insert mode replaced it.
    monkeypatch.setenv("INFILL_AUTO", "1" if auto else "0")
    result = editor_scenario("ctrl_o", tmp_path)
    assert result["ghost"] == SUGGESTION, result
    # The write's message kept on screen, then back in insert mode, the suggestion asked for again while typing
    # asks (with it off, the one shown was dismissed on leaving insert mode, and nothing asks).
    assert result["after_write"] == {"mode": "i", "ghost": SUGGESTION if auto else False}, result
    after = result["after_trigger"]
    assert (after["mode"], after["ghost"], after["notes"]) == ("i", SUGGESTION, []), result
    # The last request is the command's explicit one (triggerKind 1), not replaced by one of typing (2).
    assert after["trigger_kinds"][-1] == 1, result


def test_typing_on_a_line_of_megabytes_reads_it_once_per_key_and_never_measures_it(tmp_path: Path) -> None:
    # Each key read the line several times and measured its display width twice: 13 ms of plugin work per key on a
    # 2 MB line (minified code) on Neovim 0.11, 31 ms on 0.7.
    result = editor_scenario("long_line", tmp_path)
    assert result["ghost"] == SUGGESTION and result["ghost_after"] == SUGGESTION[3:], result
    line, keys = result["line_bytes"], 3
    assert result["read"] <= keys * line * 1.01, result
    assert result["measured"] < keys * 100, result


def test_setup_uses_no_call_that_neovim_deprecates(tmp_path: Path) -> None:
    # The table form of vim.validate, which :checkhealth vim.deprecated reports from Neovim 0.11 on.
    result = editor_scenario("deprecated", tmp_path)
    if nvim_version(result) < (0, 11):
        pytest.skip(":checkhealth vim.deprecated is Neovim 0.11's")
    report = "\n".join(result["report"])
    assert "No deprecated functions detected" in report and "editors/nvim" not in report, report


def test_setup_refuses_an_option_of_the_wrong_type_in_one_line(tmp_path: Path) -> None:
    script = tmp_path / "types.lua"
    script.write_text(TYPES, encoding="utf-8")
    out = _plugin_json(tmp_path, "types.lua", TYPES)
    # `settings = 5` and setup('x') failed with a place in the plugin's or Neovim's files before the message, and a
    # number among cmd or filetypes was taken without a word.
    assert out == ["infill: setup{} cmd: expected table, got string",
                   "infill: setup{} auto_trigger: expected boolean, got number",
                   "infill: setup{} settings: expected table, got number",
                   "infill: setup() takes a table of options, got string",
                   "infill: setup{filetypes=...} must be a list of strings; item 2 is 1",
                   "infill: setup{cmd=...} must be a list of strings; item 2 is 5",
                   'infill: setup{cmd=...} must name the server executable, e.g. {"infill-ls", "--stdio"}'], out


TYPES = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
local out = {}
for _, opts in ipairs({ { cmd = 'infill-ls' }, { auto_trigger = 1 }, { settings = 5 }, 'x',
                        { filetypes = { 'python', 1 } }, { cmd = { 'infill-ls', 5 } }, { cmd = { '' } } }) do
  table.insert(out, select(2, pcall(require('infill.config').resolve, opts)))
end
io.stdout:write(vim.json.encode(out))
vim.cmd('qall!')
"""


def test_a_crlf_documents_suggestion_is_inserted_without_carriage_returns(tmp_path: Path) -> None:
    # The item's "\r\n" was split at "\n" alone: the ghost text showed ^M, and the accepted lines ended in "\r".
    result = editor_scenario("crlf", tmp_path)
    assert result["whole"] == ["x = CRLF one", "    two"], result
    assert result["line"] == ["x = CRLF one"], result
    assert "\r" not in result["ghost_whole"], result


def test_accepting_is_its_own_undo_step_and_replace_mode_shows_nothing(tmp_path: Path) -> None:
    # One `u` took back the accepted text and what was typed before it; in Replace mode an accepted suggestion was
    # inserted, not overwritten, and <BS> then "restored" characters that had never stood there.
    result = editor_scenario("undo", tmp_path)
    assert (result["ghost"], result["accepted"], result["undone"]) == (SUGGESTION, "x = f(zz" + SUGGESTION,
                                                                     "x = f(zz"), result
    assert result["replace_mode"] == "R" and result["replace_ghost"] is False, result
    # The undo break leaves 'undolevels' as it was, the buffer's own too (it set the global value to the local one).
    assert result["undolevels"] == [1000, 50], result


def test_text_typed_after_an_accept_is_an_undo_step_of_its_own(tmp_path: Path) -> None:
    # The break came before the accepted text only: one `u` took back the accept and all typed after it, in the
    # same insert.
    result = editor_scenario("undo_typed", tmp_path)
    assert result["typed"] == {
        "accept": ["x = WORDS yy ab cd", "ef zz"],
        "accept_word": ["x = WORDS yy ab zz"],
        "accept_line": ["x = WORDS yy ab cd zz"],
    }, result
    assert result["undone"] == {
        "accept": ["x = WORDS yy ab cd", "ef"],
        "accept_word": ["x = WORDS yy ab"],
        "accept_line": ["x = WORDS yy ab cd"],
    }, result


def test_a_buffer_whose_filetype_is_no_longer_enabled_leaves_the_server(tmp_path: Path) -> None:
    # `:set ft=text` on a Python buffer went on asking for (and showing) suggestions; `python.django` never got any.
    result = editor_scenario("filetype", tmp_path)
    assert (result["before"], result["after"], result["triggered"]) == (True, False, False), result
    assert (result["ghost"], result["requests"]) == (False, 0), result
    assert result["compound"] is True, result


def test_an_error_that_differs_each_time_is_shown_once(tmp_path: Path) -> None:
    # Shown once per distinct text, one whose text changes with each request was shown on every keystroke.
    result = editor_scenario("failing", tmp_path)
    assert result["requests"] == 3 and len(result["shown"]) == 1, result
    assert result["shown"][0].startswith("infill: fill failed after "), result


def test_a_compound_filetype_is_sent_as_the_part_the_plugin_serves(tmp_path: Path) -> None:
    # Sent as 'python.django', which the server's enabledLanguages (and its grammars) do not know.
    result = editor_scenario("compound", tmp_path)
    assert result["language_ids"] == ["python", "python"], result


def test_setup_again_sends_the_new_settings_restarts_for_a_new_command_and_remaps(tmp_path: Path) -> None:
    # A second setup() kept the old server and its settings, and the old keys mapped beside the new ones.
    result = editor_scenario("setup_again", tmp_path)
    first, same = result["first_maps"], result["same_cmd"]
    assert first["<tab>"] == "infill: accept" and first["<c-]>"] == "infill: dismiss", result
    assert same["same_client"] and same["settings"][-1]["settings"] == {"infill": {"maxHoleTokens": 32}}, result
    maps = same["maps"]
    assert "<tab>" not in maps and maps["<c-l>"] == "infill: accept", result
    assert maps["<c-]>"] == "[DISMISS]", result  # the buffer's own mapping, which the plugin's had replaced
    new = result["new_cmd"]
    assert [ev["argv"][-1:] for ev in new["starts"]] == [[], ["--second"]], result
    assert (new["clients"], new["attached"], new["same_client"]) == (1, True, False), result


def test_a_removed_setting_is_sent_with_its_default(tmp_path: Path) -> None:
    # Left out, the server kept the removed setting: the plugin said every language, the server only Go. Sent as
    # null, a removed typingMaxSteps meant "as maxSteps" to the server, not its default 6.
    result = editor_scenario("setup_drops", tmp_path)
    assert result["setup_again"] == {
        "infill": {"maxHoleTokens": 48, "enabledLanguages": ["*"], "typingMaxSteps": 6}}, result
    # update_settings({ key = vim.NIL }) takes the key out of the plugin's settings too.
    assert result["update"] == {"infill": {"maxHoleTokens": 48, "numCandidates": 3}}, result
    assert result["plugin_settings"] == ["maxHoleTokens"], result
    # threads given, then left out: a new server, for the --threads of its command line to apply again.
    started = {"maxHoleTokens": 48, "enabledLanguages": ["go"], "typingMaxSteps": 2}
    assert [e["options"] for e in result["initialize"]] == [started, {"maxHoleTokens": 48}], result
    assert result["attached"] is True, result


def test_a_nil_setting_is_taken_out_and_a_removed_threads_restarts_the_server(tmp_path: Path) -> None:
    # On Neovim 0.7 and 0.8 vim.NIL in the settings failed every update_settings() and :InfillRestart after it
    # ("Cannot deepcopy object of type userdata"), and :InfillStatus said "not running"; from 0.9 on a removed
    # threads was sent as null, which the server reads as half the cores, not the --threads of its command line.
    result = editor_scenario("nil_settings", tmp_path)
    assert result["calls"] == [True, True, True], result
    assert result["same_client"] is True, result
    settings = [event["settings"]["infill"] for event in result["settings"]]
    assert {"threads": 2, "typingMaxSteps": 6} in settings, result
    assert not [sent for sent in settings if "threads" in sent and sent["threads"] is None], result
    # Started with the settings given, then twice without threads: its command line's value applies again.
    assert [event["options"] for event in result["initialize"]] == [{"threads": 2, "typingMaxSteps": 3}, {}, {}], result
    assert result["plugin_settings"] == [] and result["attached"] is True, result
    assert "not running" not in result["status_line"], result


def test_a_model_kept_after_another_failed_to_load_shows_as_ready_with_a_warning(tmp_path: Path) -> None:
    result = editor_scenario("warning", tmp_path)
    full, short = result["status_lines"]
    why = f"cannot load model from {tmp_path / 'broken-model'}: no config.json; keeping the model loaded from"
    assert full.startswith("infill: ready, but " + why), result
    assert short == "infill: ready (warning)", result
    reports = [m.groups() for m in map(REPORT.match, result["health"]) if m]
    assert [text for level, text in reports if level != "OK"] == [
        "the server is ready, but " + why + " /scripted/model"], result["health"]


def test_setup_refuses_a_key_or_delay_it_cannot_use_in_one_line(tmp_path: Path) -> None:
    # `accept = ''` failed each buffer's mapping with a stack trace, leaving the keys after it unmapped; a negative
    # delay left the timer that asks while typing never firing, without a word.
    result = editor_scenario("bad_options", tmp_path)
    errors = [re.sub(r"^.*?(infill: )", r"\1", error) for error in result["errors"]]
    assert errors == [
        "infill: setup{keymaps={accept=...}} must be a key such as \"<Tab>\", or false to leave it unmapped; got \"\"",
        "infill: setup{keymaps={accept=...}} must be a key such as \"<Tab>\", or false to leave it unmapped; got true",
        'infill: setup{keymaps=...} has no key "acept"; its keys are accept, accept_line, accept_word, dismiss, '
        "next, prev, trigger",
        "infill: setup{debounce_ms=...} must be 0 or more milliseconds, got -1",
        "infill: setup{debounce_ms=...} must be 0 or more milliseconds, got nan",
        'infill: setup{} has no option "autotrigger"; its options are auto_trigger, cmd, debounce_ms, filetypes, '
        "hl_group, keymaps, settings, use_builtin_inline_completion",
    ], result
    # One line each, with no place in the plugin's files before it.
    assert all(error.startswith("infill: ") for error in result["errors"]), result
    assert (result["mapped"], result["starts"]) == (0, 0), result


NOT_SET_UP = "infill: call require('infill').setup() first"


def test_commands_and_calls_before_setup_say_so_in_one_line(tmp_path: Path) -> None:
    # They failed with Lua stack traces (`attempt to index upvalue 'opts'`, `client.lua:399`, ...), and
    # :InfillStatus spoke of suggestions while typing being off.
    result = editor_scenario("no_setup", tmp_path)
    calls = {call["name"]: call for call in result["calls"]}
    assert not [call for call in result["calls"] if call["error"] is not None], result
    status = "infill: not set up: call require('infill').setup() first"
    assert calls.pop("InfillStatus")["said"] == [status] and result["status_line"] == status, result
    assert calls.pop("visible")["said"] == [], result
    assert {name: call["said"] for name, call in calls.items()} == {name: [NOT_SET_UP] for name in calls}, result
    assert len(result["notes"]) == len(calls) + 1, result  # nothing said later (:InfillTrigger's mode check)


def test_the_trigger_key_says_once_that_the_server_stopped(tmp_path: Path) -> None:
    # It did nothing, without a word, after Neovim's own message of the exit, which does not say what to do.
    result = editor_scenario("crash_trigger", tmp_path)
    assert result["before"] == [] and result["starts"] == 1, result
    assert len(result["after"]) == 1, result
    assert "stopped (exit code 0, signal 9)" in result["after"][0] and ":InfillRestart" in result["after"][0], result


@pytest.mark.parametrize("fresh", [False, True])
def test_an_edit_made_before_the_buffer_changed_is_not_applied_over_the_change(tmp_path: Path, fresh: bool,
                                                                                monkeypatch) -> None:
    # A rewrite's edit that arrived after a line was typed above it replaced the typed line: the plugin
    # did not take versioned edits, so Neovim applied it at the old line numbers; and Neovim does not check
    # version 0, which a buffer keeps until its first change.
    if fresh:
        monkeypatch.setenv("INFILL_FRESH", "1")
    result = editor_scenario("stale_edit", tmp_path)
    assert result["lines"] == ["TYPED", "STALE", "line two"], result
    assert [e["result"]["applied"] for e in result["applied"]] == [False], result


def test_an_action_in_an_unnamed_buffer_asks_for_a_file_name(tmp_path: Path) -> None:
    # Its URI is `file://`, to which Neovim applies no workspace edit: the action ran and its edit was refused
    # as made for another version of the buffer.
    result = editor_scenario("unnamed_edit", tmp_path)
    assert result["lines"] == ["FRESH_EDIT", "line two"] and result["commands"] == [], result
    assert any("no file name" in note for note in result["notes"]), result


def test_unnamed_buffers_wait_for_a_name_before_they_join_the_server(tmp_path: Path) -> None:
    # Both were sent as `file://`, one document on the server: each got suggestions for the other's text, and
    # wiping one closed the document that the other still used.
    result = editor_scenario("unnamed", tmp_path)
    assert result["unnamed"] == {"attached": [False, False], "opened": []}, result
    # Named by :saveas, by :write and by :file: each joins the server under its own name.
    names = [(tmp_path / name).as_uri() for name in ("s.py", "w.py", "f.py")]
    assert result["named"] == {"attached": [True, True, True], "opened": names}, result
    assert result["ghost"] == SUGGESTION, result


def test_an_action_in_a_buffer_the_plugin_does_not_serve_says_why(tmp_path: Path) -> None:
    # The server answered that the file was not open, while it was open in the editor.
    result = editor_scenario("unserved_action", tmp_path)
    assert result["commands"] == [], result
    assert any("filetype 'python' is not in setup{filetypes}" in note for note in result["notes"]), result


def test_replace_mode_hides_the_suggestion(tmp_path: Path) -> None:
    # One shown in insert mode stayed after <Insert>, and followed what was typed over the text.
    result = editor_scenario("replace", tmp_path)
    assert result["ghost"] == SUGGESTION, result
    assert result["entered"] == {"mode": "R", "ghost": False}, result
    assert result["typed"] == {"line": "x = f(a", "ghost": False}, result


def test_reading_a_buffer_again_does_not_add_autocommands(tmp_path: Path) -> None:
    # :e! and :bd then :e added the plugin's buffer autocommands once more each time.
    result = editor_scenario("reopen", tmp_path)
    first = result["autocmds"][0]
    assert first > 0 and result["autocmds"] == [first] * 3, result
    assert result["ghost"] == SUGGESTION, result


TABS = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
local ghost = require('infill.ghost')
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].expandtab, vim.bo[buf].tabstop = false, 8
vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'ab' })
local out = {}
for _, ghost_text in ipairs({ '\t# c', 'x\n\ty' }) do
  local id = ghost.draw(buf, 0, 2, ghost_text, '', 'Comment', nil)
  local details = vim.api.nvim_buf_get_extmark_by_id(buf, ghost.namespace, id, { details = true })[3]
  table.insert(out, { first = details.virt_text[1][1],
                      second = details.virt_lines and details.virt_lines[1][1][1] or vim.NIL })
end
io.stdout:write(vim.json.encode(out))
vim.cmd('qall!')
"""


def test_a_tab_in_the_suggestion_is_drawn_to_the_next_tab_stop(tmp_path: Path) -> None:
    # Each tab was drawn 'tabstop' wide wherever it fell: `ab` + tab showed 8 columns, where the text has 6.
    inline, lines = _plugin_json(tmp_path, "tabs.lua", TABS)
    assert inline["first"] == " " * 6 + "# c", inline
    assert (lines["first"], lines["second"]) == ("x", " " * 8 + "y"), lines


DEFAULTS = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
local config = require('infill.config')
io.stdout:write(vim.json.encode({ defaults = config.server_defaults,
                                  command_line = vim.tbl_keys(config.command_line_settings) }))
vim.cmd('qall!')
"""


def test_the_plugins_setting_defaults_are_the_servers_and_vscodes(tmp_path: Path) -> None:
    # What a removed setting is sent as: the server's default, which the VS Code extension sends too; and the
    # settings whose removal restarts the server instead, in both editors.
    from infill_ls.settings import _FIELDS, Settings, as_json

    plugin = _plugin_json(tmp_path, "defaults.lua", DEFAULTS)
    server = {key: json.loads(as_json(getattr(Settings(), field))) for key, (field, _) in _FIELDS.items()}
    assert plugin["defaults"] == server
    vscode = ROOT / "editors" / "vscode"
    properties = json.loads((vscode / "package.json").read_text(encoding="utf-8"))["contributes"]["configuration"][
        "properties"]
    package = {key: properties[f"infill.{key}"]["default"] for key in server}
    package["modelPath"] = package["modelPath"] or None  # an empty one is sent as null (settings.ts valueOf)
    assert plugin["defaults"] == package
    settings_ts = (vscode / "src" / "settings.ts").read_text(encoding="utf-8")
    keys = re.search(r"COMMAND_LINE_KEYS[^=]*= new Set<\w+>\(\[([^\]]*)\]", settings_ts)[1]
    assert sorted(plugin["command_line"]) == sorted(re.findall(r"'(\w+)'", keys))


def test_readme_lists_every_server_setting_and_command() -> None:
    from infill_ls.settings import _FIELDS

    readme = (PLUGIN / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"nvim_create_user_command\('(\w+)'", (PLUGIN / "plugin" / "infill.lua").read_text())
    commands += re.findall(r"^  (Infill\w+) = ", (PLUGIN / "plugin" / "infill.lua").read_text(), re.M)
    assert "InfillRestart" in commands
    missing = [key for key in _FIELDS if f"-- {key} = " not in readme] + [c for c in commands if c not in readme]
    assert not missing, missing


def test_the_rewrite_commands_description_is_the_readmes() -> None:
    # `:command` shows the description: it said "the selected lines" where a charwise selection is rewritten as is.
    plugin = (PLUGIN / "plugin" / "infill.lua").read_text(encoding="utf-8")
    desc = re.search(r"InfillRewrite = \{[^}]*desc = '([^']*)'", plugin)[1]
    readme = (PLUGIN / "README.md").read_text(encoding="utf-8")
    row = re.search(r"^\| `:'<,'>InfillRewrite` \| (.*) \|$", readme, re.M)[1]
    assert desc == f"infill: {row}"



def _headless_on_a_py(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    """Headless Neovim with the plugin set up on the scripted server, running ``body`` (Lua) once a.py (its path in
    INFILL_FILE) can be edited: after startup, when filetypes are detected."""
    (tmp_path / "a.py").write_text("x = f(\n", encoding="utf-8")
    script = tmp_path / "script.lua"
    script.write_text(HEADLESS_ON_A_PY.replace("BODY", body), encoding="utf-8")
    env = {**nvim_env(tmp_path, [sys.executable, __file__]), "INFILL_FILE": str(tmp_path / "a.py"),
           "INFILL_LOG": str(tmp_path / "server.log")}
    return subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(script)], cwd=tmp_path,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


HEADLESS_ON_A_PY = r"""
vim.opt.runtimepath:prepend(vim.env.INFILL_PLUGIN)
vim.cmd('runtime plugin/infill.lua')
require('infill').setup({ cmd = vim.json.decode(vim.env.INFILL_CMD) })
vim.defer_fn(function()
  local client = require('infill.client')
  vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.INFILL_FILE))
  local ready = vim.wait(20000, function() local c = client.get(); return c ~= nil and c.initialized end, 50)
BODY
  vim.cmd('qa!')
end, 100)
"""


def test_quitting_neovim_says_nothing_of_the_server_it_stops(tmp_path: Path) -> None:
    # Neovim 0.7 stops its servers itself as it quits, and the plugin said "infill-ls stopped (exit code 0, ...);
    # :InfillRestart starts it again" on the way out.
    proc = _headless_on_a_py(tmp_path, "  io.stdout:write(ready and 'ready' or 'not ready')")
    assert proc.returncode == 0 and proc.stdout == "ready" and "stopped" not in proc.stderr, proc


def test_setting_buftype_on_a_buffer_that_stays_served_starts_no_stopped_server(tmp_path: Path) -> None:
    # The buffer was served before and after: as a write does not, an OptionSet starts no server that crashed.
    proc = _headless_on_a_py(tmp_path, """
  vim.loop.kill(client.pid(), 9)
  local gone = vim.wait(5000, function() return client.get() == nil end, 50)
  vim.cmd('setlocal buftype=')
  io.stdout:write(vim.json.encode({ ready = ready, gone = gone, started = client.get() ~= nil }))""")
    assert json.loads(proc.stdout) == {"ready": True, "gone": True, "started": False}, proc


if __name__ == "__main__":
    scripted_server(sys.argv[1:])
