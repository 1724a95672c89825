"""The Neovim plugin against the real server, in a real headless Neovim.

One session runs the scenario in editors/nvim/tests/ghost_text_scenario.lua: it opens a Python
file, enters insert mode inside an empty function body, asks for a suggestion and waits for
the ghost-text extmark, dismisses it, presses <Tab> with nothing shown (an ordinary indent), shows
the suggestion again, leaves insert mode, and finally types its first character, accepts its next
word with <M-Right> and the rest with <Tab>; then it rewrites another line with :InfillRewrite,
and types with suggestions turned off and on again by :InfillToggle.
The scenario writes what it saw to JSON; the assertions are here. The server runs the shipped
model, whose suggestions there are several words long.
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
NVIM = shutil.which("nvim")

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed (apt-get install -y neovim)")

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
# The body of `circle_area`, far from the lines the completion touches.
REWRITE_ROW = SOURCE.splitlines().index("    return math.pi * radius ** 2") + 1
SCENARIO_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("nvim")
    source = work / "scaled.py"
    source.write_text(SOURCE, encoding="utf-8")
    result_path = work / "result.json"
    env = {
        **os.environ,
        # Keep Neovim's state, logs and swap files inside the test's directory.
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_STATE_HOME": str(work / "state"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "INFILL_PLUGIN": str(PLUGIN),
        "INFILL_CMD": json.dumps([sys.executable, "-m", "infill_ls", "--stdio"]),
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


def test_toggle_stops_asking_while_typing_and_starts_again(session: dict) -> None:
    assert session["status"] == "ok", describe(session)
    toggle = session["toggle"]
    assert (toggle["enabled_off"], toggle["enabled_on"]) == (False, True)
    assert toggle["before"] > 0 and toggle["off"] == toggle["before"] and toggle["extmarks_off"] == 0
    assert toggle["on"] > toggle["off"]


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


def test_the_parts_that_accept_word_and_accept_line_take(tmp_path: Path) -> None:
    cases = [
        ("foo bar", "word", "foo"), ("  bar(x)", "word", "  bar"), ("(x)", "word", "("), ("), y", "word", "),"),
        ("\n    return x", "word", "\n    return"), ("   ", "word", "   "), ("naïve x", "word", "naïve"),
        ("x", "word", "x"), ("abc\ndef", "line", "abc"), ("\n    def\nx", "line", "\n    def"),
        ("abc", "line", "abc"), ("\n", "line", "\n"),
    ]
    script = tmp_path / "parts.lua"
    script.write_text(PARTS, encoding="utf-8")
    env = {**os.environ, "INFILL_PLUGIN": str(PLUGIN), "XDG_STATE_HOME": str(tmp_path),
           "INFILL_CASES": json.dumps([[text, unit] for text, unit, _ in cases])}
    proc = subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(script)], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    out = json.loads(proc.stdout or proc.stderr)
    assert out["parts"] == [part for _, _, part in cases]
    # After ' cd' the rest starts where it ends, on the same line; after a part that crosses a line
    # break, at the end of the part's last line. The replaced range's end and the command stay.
    assert out["rests"] == [
        {"row": 3, "start_col": 9, "end_from_eol": 1, "text": "(e)\n  fg", "command": "c"},
        {"row": 4, "start_col": 4, "end_from_eol": 1, "text": "", "command": "c"},
    ]
