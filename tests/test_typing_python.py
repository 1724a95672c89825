"""While typing Python: fills that the typing filter (`no_worse`) keeps though the file is broken once they are
accepted: a `)` that closes a signature whose own `):` stands lines below, read as one ERROR over the whole file; and
code that tree-sitter-python reads without an error where CPython does not (a `try:` with no body, a docstring
indented deeper than the body it begins, a `return` at a class's level, a call after an `import`). Honest halves of a
line stay shown: the rest of a parameter, a header whose body is still to come. Through the real parse and
CPython's compiler."""

from __future__ import annotations

import pytest

from lsp_support import kept_while_typing

AGENT = '''from typing import Iterable, Optional

from .mcp_client import MCPClient
from .types import ServerConfig


class Agent(MCPClient):
    """An MCP client with a conversation loop."""

    def __init__(
        self,
        *,
        model: Optional[str] = None,
        servers: Iterable[ServerConfig],
        base_url: Optional[str] = None,
        api|
        prompt: Optional[str] = None,
    ):
        super().__init__(model=model, base_url=base_url, api_key=api_key)
        self._servers_cfg = list(servers)

    async def load_tools(self) -> None:
        for cfg in self._servers_cfg:
            await self.add_mcp_server(**cfg)
'''

# More than `engine.closers.SCAN_CHARS` above the cursor: the scan for brackets left open does not reach the file's
# start, so a closer with nothing open before it may be one of a bracket above the scan.
SCRIPT = '''import asyncio
import sys


class ScriptMagics:
''' + "".join(f'''    def option_{i}(self):
        """The shell's option {i}, as the profile sets it."""
        return self.options[{i}]

''' for i in range(50)) + '''    def shebang(self, line, cell):
        event_loop = self.event_loop

        def in_thread(coro):
            """Call a coroutine on the asyncio thread"""
            return asyncio.run_coroutine_threadsafe(coro, event_loop).result()

        async def _handle_|
            while True:
                line = (await stream.readline()).decode("utf8", errors="replace")
                if not line:
                    break
                file_object.write(line)

        async def _stream_communicate(process, cell):
            process.stdin.write(cell)
            process.stdin.close()
            await asyncio.wait([_handle_stream(process.stdout, sys.stdout)])
'''


HINT = '''def hint(self, warnings):
    if any(
        w.message == self.match
        for w in warnings
        if issubclass(w.category, self.ex|
    ):
        return "escape"
    return ""
'''


@pytest.mark.parametrize("marked, fill", [
    # A copy of the call below: its `)` closes the signature two lines above its own `):`.
    (AGENT, "_key=api_key)"),
    # A copy of a one-line `any(...)`: it closes the `any(` whose own `):` is the next line.
    (HINT, "pected_warning) for w in self):"),
    # The name's rest and a `):` with no `(` on the line: the `(` left open is the enclosing call's, lines above.
    (SCRIPT, "handle_):"),
])
def test_while_typing_a_closer_that_makes_an_error_of_the_whole_file_is_not_shown(marked, fill):
    assert not kept_while_typing("python", marked, fill)


@pytest.mark.parametrize("marked, fill", [
    (AGENT, "_key: Optional[str] = None,"),
    (SCRIPT, "stream(stream, stream_arg, file_object):"),
    (SCRIPT, "stream(stream, stream_arg"),  # the parameters still to come
    (HINT, "pected_warning)"),
])
def test_while_typing_the_rest_of_a_signature_is_still_shown(marked, fill):
    assert kept_while_typing("python", marked, fill)


RUNNER = '''def _asyncio_runner(coro):
    """
    Handler for asyncio autoawait
    """
    return asyncio.run(coro)


def _curio_runner(coroutine):|
    """
    handler for curio autoawait
    """
    import curio

    return curio.run(coroutine)
'''

SHELL = '''class InteractiveShell:
    def run_cell(self, raw_cell):
        if self.loop_runner:
            try:|
                self.loop_runner(raw_cell)
            except KeyboardInterrupt:
                self.showtraceback()
        return raw_cell
'''

MODULE = '''import os
import signal{}
from typing_extensions import deprecated{}

BucketItem = Union[BucketFile, BucketFolder]{}
RepoItem = Union[RepoFile, RepoFolder]
'''

SERVER = '''class WebhooksServer:
    def _payload(self, request):
        payload = request.json()
        return payload
|
    def add_webhook(self, path=None):
        return self._payload
'''


def _at(nth: int) -> str:
    """`MODULE` with the cursor at the end of its ``nth`` line that takes one (from 0)."""
    return MODULE.format(*("|" if i == nth else "" for i in range(3)))


@pytest.mark.parametrize("marked, fill", [
    # A `try:` whose body is another `try:` with none.
    (SHELL, "\n                try:\n                self"),
    # A docstring indented deeper than the body it begins.
    (RUNNER, '\n        """Run a coroutine with curio."""'),
    # A call after an `import`, and after a name it imports.
    (_at(0), ".getsignal(signal.SIGINT)"),
    (_at(1), "()"),
    # Prose after an expression.
    (_at(2), " and RepoFile/RepoFolder items."),
    # A `return` at a class's level, on a blank line between methods.
    (SERVER.replace("|", "    |"), "return payload"),
    (SERVER.replace("|", "    ret|"), "urn payload"),
])
def test_while_typing_code_the_grammar_reads_and_python_does_not_is_not_shown(marked, fill):
    assert not kept_while_typing("python", marked, fill)


@pytest.mark.parametrize("marked, fill", [
    # A header whose body is still to come, on a line of its own or half typed.
    (SERVER.replace("|", "    |"), "def _headers(self, request):"),
    (SERVER.replace("|", "    d|"), "ef _headers(self, request):  # the raw ones"),
    (SERVER.replace("|", "    |"), "@property"),
    (RUNNER.replace("):|", "):").replace("    import curio\n", "    i|\n    import curio\n"), "f coroutine is None:"),
    # Code that reads, on its own line or after the header's.
    (SHELL, "  # the runner may be interrupted"),
    (SHELL, "\n                raw_cell = raw_cell.strip()"),
    (RUNNER, '\n    """Run a coroutine with curio."""'),
    (_at(0), "\nimport sys"),
    (_at(1), ", overload"),
])
def test_while_typing_code_python_reads_is_still_shown(marked, fill):
    assert kept_while_typing("python", marked, fill)


COPIER = '''def copy_object(client, bucket, key, extra_args):
    for attempt in range(3):
        response = client.copy(Bucket=bucket, |
    return response
'''
# A body the user is about to write: Python reads no empty one.
RETRY = '''def copy_object(client, bucket, key, extra_args):
    response = client.copy(Bucket=bucket, Key=key)
    if response is None:
        |
    return response
'''


@pytest.mark.parametrize("marked, fill", [
    # A keyword argument given twice, or a positional one after it, on a line the user half typed: no text typed
    # after it mends it.
    (COPIER, "Bucket=bucket)"),
    (COPIER, "key)"),
    (COPIER.replace("Bucket=bucket, |", 'Name="café", Bucket=bucket, |'), "Bucket=bucket)"),
    # A parameter named twice, above the body the header opens.
    (COPIER.replace(", |", ", Key=key)").replace("extra_args):", "|"), "key):"),
    # A `break` or `continue` in no loop.
    (RETRY, "break"),
    (RETRY, "continue"),
    # A definition's name ended with what no parameter list begins with.
    ("class Len:\n    def __it|\n        yield 1\n", "er__:"),
    ("class Len:\n    def __it|\n        yield 1\n", "er__ -> int:"),
])
def test_while_typing_a_half_typed_line_python_cannot_mean_is_not_shown(marked, fill):
    assert not kept_while_typing("python", marked, fill)


@pytest.mark.parametrize("marked, fill", [
    (COPIER, "Key=key)"),
    (COPIER, "Key=key"),  # half of the call: its `)` is to come
    (COPIER, "continue"),  # in the loop
    (COPIER.replace(", |", ", Key=key)").replace("extra_args):", "|"), "extra_args):"),
    (RETRY, 'raise KeyError(key)'),
    (COPIER.replace(", |", ", Key=key)").replace("    for attempt in range(3):", "    for attempt in ran|"), "ge(3"),
    # An error the user wrote stays theirs: the fill passes.
    (COPIER.replace("bucket, |", "bucket, Bucket=bucket, |"), "Key=key)"),
    (COPIER.replace("bucket, |", 'bucket, Name="café", Bucket=bucket, |'), "Key=key)"),
    # A top-level `await`: a notebook's cell runs it.
    ("import asyncio\n\nresult = await |\n", "asyncio.sleep(1)"),
    # A definition's name, its parameter list still to type.
    ("class Len:\n    def __it|\n        yield 1\n", "er__"),
    ("class Len:\n    def __it|\n        yield 1\n", "er__(self):"),
])
def test_while_typing_a_half_typed_line_python_reads_or_may_still_read_is_still_shown(marked, fill):
    assert kept_while_typing("python", marked, fill)


def test_while_typing_a_method_left_unread_elsewhere_in_the_class_hides_no_layout_error_in_another():
    """Only the method around the cursor is compiled, not the whole class: another method whose `try:` has no body
    yet (the user left it half written) does not make every other method's code read as broken already."""
    marked = SERVER.replace("|", "\n    def _retry(self):\n        try:\n\n").replace(
        "payload = request.json()", "payload = request.json()|")
    assert not kept_while_typing("python", marked, "\n            payload = payload or {}")
    assert kept_while_typing("python", marked, "\n        payload = payload or {}")


LOGGER = '''class CommitLogger:
    def __init__(self, scheduler):
        self.repo_id = scheduler.repo_id
        self.repo_type = |
        self.pending = []
'''


@pytest.mark.parametrize("marked, fill, kept", [
    # A trailing comma that makes the value a tuple of one: the code after reads a tuple.
    (LOGGER, "None,", False),
    (LOGGER.replace("self.repo_type = |", "return |"), "None,", False),
    (LOGGER.replace("self.repo_type = |", "|"), "None,", False),
    # A comma inside brackets, or between two values, is the code's own.
    (LOGGER, "scheduler.repo_type", True),
    (LOGGER, "(None,)", True),
    (LOGGER, "None, None", True),
    (LOGGER.replace("self.repo_type = |", "self.run(\n            |\n        )"), "scheduler,", True),
])
def test_while_typing_a_comma_that_makes_a_tuple_of_one_is_not_shown(marked, fill, kept):
    assert kept_while_typing("python", marked, fill) is kept


CODEC = '''class PositionCodec:
    def __init__(self, encoding=None):
        se|
        self.impl = impls.get(encoding, Utf16())
'''


@pytest.mark.parametrize("marked, fill, kept", [
    # A line ended with a comma no bracket holds: Python reads a tuple there, which the grammar joins to the next
    # line (`self, self.impl = ...`).
    (CODEC, "lf,", False),
    (CODEC.replace("se|", "projec|"), "t_path, directory, level,", False),
    (CODEC.replace("se|", "self.writeframes|"), ",", False),
    (CODEC.replace("se|", "x = f(a)[0], |"), "g(b),", False),
    # The statement itself; a comma inside a bracket, open or closed on the line, or in a comment.
    (CODEC, "lf.encoding = encoding", True),
    (CODEC.replace("se|", "self.run(\n            |"), "encoding,", True),
    (CODEC.replace("se|", "table[|"), "encoding,", True),
    (CODEC.replace("se|", "x = {|"), "'a': 1,", True),
    (CODEC.replace("se|", "x = 1  # a,|"), "b,", True),
])
def test_while_typing_a_line_ended_with_a_comma_outside_brackets_is_not_shown(marked, fill, kept):
    assert kept_while_typing("python", marked, fill) is kept


LOADER = '''import json
from pathlib import |


def load(path: str) -> dict:
    return json.loads(Path(path).read_text())
'''


@pytest.mark.parametrize("marked, fill, kept", [
    # A name no module of the standard library of that name defines, which the file reads nowhere.
    (LOADER, "get", False),
    (LOADER, "Path, get", False),
    (LOADER.replace("pathlib", "typing"), "get", False),
    # One the module defines; one the file reads (a newer Python's, maybe); the project's own modules.
    (LOADER, "Path", True),
    (LOADER, "PurePath as Path", True),
    (LOADER.replace("pathlib", "typing").replace("-> dict", "-> override"), "override", True),
    (LOADER.replace("from pathlib", "from .paths"), "get", True),
    (LOADER.replace("pathlib", "mypackage.paths"), "get", True),
])
def test_while_typing_an_import_of_a_name_its_standard_module_does_not_define_is_not_shown(marked, fill, kept):
    assert kept_while_typing("python", marked, fill) is kept


WARNS = '''from typing import overload


@overload
def warns(expected: type) -> "Checker": ...


def warns(
    expected: type = Warning,
    *args: object,
) -> |
    """Assert that code warns."""
    return Checker(expected, *args)
'''

TOTAL = '''def total(prices, tax, base):
    result = compute(|
        prices,
        tax,
    )
    return result
'''


@pytest.mark.parametrize("marked, fill, kept", [
    # A line ended where the code below goes on indented deeper: a header's body on its own line above its body
    # (CPython: unexpected indent), a bracket closed above its items.
    (WARNS, '"Checker": ...', False),
    (TOTAL, "base)", False),
    # The header ended as its body wants; the bracket's items going on below.
    (WARNS, '"Checker":', True),
    (TOTAL, "base,", True),
])
def test_while_typing_a_line_ended_above_code_indented_to_go_on_from_it_is_not_shown(marked, fill, kept):
    assert kept_while_typing("python", marked, fill) is kept


LOADING = '''def load(path):
    try:
        data = read(path)
        |
'''


@pytest.mark.parametrize("marked, fill, kept", [
    # A `try:` whose `except` is still to come: a line of its body reads as well as the body did.
    (LOADING, "data = data.strip()", True),
    (LOADING, "return data", True),
    (LOADING.replace("        |", "    |"), "except OSError:", True),
    # A statement between the body and where its `except` must stand: no line typed below mends it.
    (LOADING.replace("        |", "    |") + "    except OSError:\n        data = None\n", "return data", False),
])
def test_while_typing_the_body_of_a_try_with_no_except_yet_its_lines_are_shown(marked, fill, kept):
    assert kept_while_typing("python", marked, fill) is kept
