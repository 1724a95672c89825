"""The ``infill-ls`` command line, run as a real subprocess."""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

from lsp_support import SERVER_ENV, messages_in, read_message, tiny_model

CMD = [sys.executable, "-m", "infill_ls"]


def _run(*args, timeout=120):
    return subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=timeout, env=SERVER_ENV)


def test_version_and_help():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.startswith("infill-ls ")
    out = _run("--help")
    assert out.returncode == 0
    for flag in ("--stdio", "--tcp", "--port", "--check", "--model", "--version"):
        assert flag in out.stdout


def test_check_loads_fills_and_reports():
    out = _run("--check", "--model", tiny_model(), "--device", "cpu", "--threads", "3")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    assert tiny_model() in lines["model"]
    assert lines["device"].strip() == "cpu, 3 threads"


def test_check_uses_half_the_cores_by_default():
    env = {k: v for k, v in SERVER_ENV.items() if k != "OMP_NUM_THREADS"}  # torch's own default: every core
    cores = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                           capture_output=True, text=True, env=env, check=True).stdout.strip()
    out = subprocess.run([*CMD, "--check", "--model", tiny_model(), "--device", "cpu"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    # The editor, the event loop and parsing need the rest; --threads sets it.
    expected = max(1, int(cores) // 2)
    assert lines["device"].strip() == f"cpu, {expected} thread" + ("s" if expected != 1 else "")
    for timing in ("load", "fill"):
        value, unit = lines[timing].split()[:2]
        assert value.isdigit() and unit == "ms"


def test_threads_outside_what_the_setting_takes_are_refused_in_one_line():
    for threads in ("0", "257", "300"):
        out = _run("--check", "--model", tiny_model(), "--device", "cpu", "--threads", threads)
        assert out.returncode == 2 and out.stdout == ""
        assert out.stderr == f"infill-ls: --threads must be from 1 to 256, got {threads}\n"


def test_an_empty_model_is_refused_in_one_line_not_read_as_the_embedded_one():
    for mode in ("--check", "--stdio"):
        out = _run(mode, "--model", " ")
        assert out.returncode == 2 and out.stdout == ""
        assert out.stderr.splitlines()[-1] == (
            "infill-ls: error: argument --model: is empty (an unset variable?); leave it out for the embedded model")
    # The server's bench and evaluations alike (they loaded the embedded model).
    for module in ("infill_ls.bench", "infill_ls.typing_eval"):
        out = subprocess.run([sys.executable, "-m", module, "--model", ""], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and out.stderr.splitlines()[-1] == (
            f"python -m {module}: error: argument --model: is empty (an unset variable?); leave it out for the "
            "embedded model"), out.stderr


def test_check_with_a_broken_model_is_one_line_and_status_2(tmp_path):
    (tmp_path / "config.json").write_text("{ not json")
    out = _run("--check", "--model", str(tmp_path))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and str(tmp_path) in out.stderr
    out = _run("--check", "--model", str(tmp_path / "missing"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connect(port: int) -> socket.socket:
    """A connection to the server listening on ``port``, once it listens."""
    for _ in range(200):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not listen")


def _message(payload):
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@contextmanager
def _server(*args: str, **popen):
    """The server run with `args`, killed at the end if it is still running, its pipes closed."""
    process = subprocess.Popen([*CMD, *args], env=SERVER_ENV, **popen)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_started_by_hand_in_a_terminal_it_says_it_waits_for_an_editor():
    # It sat silent, and a user who typed `infill-ls` to try it saw nothing happen.
    import pty
    import select

    pid, terminal = pty.fork()
    if pid == 0:
        try:
            os.execve(sys.executable, [*CMD, "--model", "/nonexistent"], SERVER_ENV)
        finally:
            os._exit(127)  # the test goes on in the parent alone
    said = b""
    deadline = time.monotonic() + 60
    while b"\n" not in said and time.monotonic() < deadline:
        if select.select([terminal], [], [], 1)[0]:
            said += os.read(terminal, 4096)
    os.write(terminal, b"\x04")  # Ctrl-D: the end of its input
    status = os.waitpid(pid, 0)[1]
    os.close(terminal)
    assert said.decode().splitlines()[0] == ("infill-ls: waiting for LSP messages on stdin; an editor starts it (the "
                                             "README's \"Editors\"); infill-ls --check tries the model; the end of "
                                             "input (Ctrl-D) ends it")
    assert os.waitstatus_to_exitcode(status) == 0
    # From an editor (a pipe), not a word.
    result = subprocess.run([*CMD, "--model", "/nonexistent"], input=b"", capture_output=True, timeout=60,
                            env=SERVER_ENV)
    assert (result.returncode, result.stderr) == (0, b"")


def test_tcp_listens_on_localhost_and_speaks_lsp():
    port = _free_port()
    server = subprocess.Popen(
        [*CMD, "--tcp", "--port", str(port), "--model", "/nonexistent"], stderr=subprocess.PIPE, env=SERVER_ENV
    )
    try:
        sock = _connect(port)
        with sock, sock.makefile("rb") as stream:
            assert sock.getpeername()[0] == "127.0.0.1"
            sock.sendall(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}))
            reply = read_message(stream)
            assert reply["id"] == 1 and reply["result"]["serverInfo"]["name"] == "infill-ls"
            sock.sendall(_message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
            while read_message(stream).get("id") != 2:
                pass
            sock.sendall(_message({"jsonrpc": "2.0", "method": "exit"}))
        # A clean session ends cleanly: pygls's exit raised SystemExit in the connection's callback, and asyncio
        # wrote 45 lines of traceback.
        assert server.wait(timeout=20) == 0
        assert "Traceback" not in server.stderr.read().decode()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def test_tcp_serves_one_client_and_a_probe_does_not_end_it():
    # A second connection took over the editor's answers (the text of its documents in them), and any connection
    # that closed, a port probe included, ended the server.
    port = _free_port()
    with _server("--tcp", "--port", str(port), "--model", "/nonexistent", stderr=subprocess.PIPE) as server:
        _connect(port).close()  # a probe: connects and goes
        editor = _connect(port)
        _connect(port).close()  # and another, after the editor connected and before it said anything
        with editor, editor.makefile("rb") as stream:
            editor.sendall(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}))
            assert read_message(stream)["id"] == 1
            with _connect(port) as intruder:
                intruder.sendall(_message({"jsonrpc": "2.0", "id": 7, "method": "shutdown"}))
                intruder.settimeout(10)
                try:
                    data = intruder.recv(100)
                except ConnectionResetError:  # closed with the request unread
                    data = b""
                assert data == b""  # closed, unanswered
            editor.sendall(_message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
            while read_message(stream).get("id") != 2:
                pass
            editor.sendall(_message({"jsonrpc": "2.0", "method": "exit"}))
        assert server.wait(timeout=20) == 0
    # Listening beyond this machine is said.
    with _server("--tcp", "--host", "0.0.0.0", "--port", str(_free_port()), "--model", "/x",
                 stderr=subprocess.PIPE) as other:
        assert other.stderr.readline().decode().startswith("infill-ls: warning: --host 0.0.0.0: whoever reaches port")


def test_tcp_closes_a_silent_connection_while_it_serves_and_ends_without_a_traceback():
    # One that said nothing was kept open until the server ended, and one still silent then made asyncio write 37
    # lines of traceback.
    port = _free_port()
    with _server("--tcp", "--port", str(port), "--model", "/nonexistent", stderr=subprocess.PIPE) as server:
        early = _connect(port)  # connected before the editor spoke, silent to the end
        editor = _connect(port)
        with early, editor, editor.makefile("rb") as stream:
            editor.sendall(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}))
            assert read_message(stream)["id"] == 1
            with _connect(port) as silent:
                silent.settimeout(10)
                assert silent.recv(100) == b""  # closed at once, though it said nothing
            editor.sendall(_message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
            while read_message(stream).get("id") != 2:
                pass
            editor.sendall(_message({"jsonrpc": "2.0", "method": "exit"}))
            assert server.wait(timeout=20) == 0
        assert server.stderr.read().decode() == ""


def test_tcp_says_in_one_line_where_it_cannot_listen():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for argv, expected in ((["--port", str(port)], f"infill-ls: --tcp on 127.0.0.1:{port}: "),
                               (["--port", "70000"], "argument --port: '70000' is not a port number (0 to 65535)"),
                               (["--host", "nowhere.invalid"], "infill-ls: --tcp on nowhere.invalid:2087: ")):
            result = subprocess.run([*CMD, "--tcp", *argv, "--model", "/nonexistent"], capture_output=True,
                                    text=True, timeout=60, env=SERVER_ENV)
            assert result.returncode == 2, result.stderr
            assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    # Beyond this machine, the warning that anyone may connect comes once the port is open, and none opened.
    result = subprocess.run([*CMD, "--tcp", "--host", "nowhere.invalid", "--model", "/nonexistent"],
                            capture_output=True, text=True, timeout=60, env=SERVER_ENV)
    assert result.returncode == 2 and result.stderr.startswith("infill-ls: --tcp on nowhere.invalid"), result.stderr


def test_latency_bench_refuses_a_setting_or_thread_count_the_server_would_not_take_in_one_line():
    # The server's warning went to its log, unseen, and the bench ran and printed figures for the default.
    for setting, expected in (
            ("typingMaxStep=null", "infill.typingMaxStep: unknown setting; did you mean typingMaxSteps?"),
            ("typingMaxSteps=-3", "infill.typingMaxSteps: expected an integer from 1 to 512, got -3"),
            # A key no setting is near: the server lets it pass as an editor's own, but none is given here.
            ("foo=1", "infill.foo: unknown setting")):
        result = subprocess.run([sys.executable, "-m", "infill_ls.bench", "--tiny", "--setting", setting],
                                capture_output=True, text=True, timeout=120, env=SERVER_ENV)
        assert result.returncode == 2 and result.stdout == "", result
        # Refused, so nothing is "kept" in its place as the server says of an editor's setting.
        assert result.stderr.splitlines()[-1] == f"python -m infill_ls.bench: error: --setting: {expected}", result
    # Nor a thread count the server would not start with: its refusal was lost, and the bench ended in a traceback.
    result = subprocess.run([sys.executable, "-m", "infill_ls.bench", "--tiny", "--threads", "999"],
                            capture_output=True, text=True, timeout=120, env=SERVER_ENV)
    assert result.returncode == 2 and result.stderr.splitlines()[-1] == (
        "python -m infill_ls.bench: error: argument --threads: must be from 1 to 256, got 999"), result


def test_latency_bench_drives_the_server_and_reports_by_hole_shape():
    result = subprocess.run(
        [sys.executable, "-m", "infill_ls.bench", "--model", tiny_model(), "--lines", "1", "--threads", "1", "--json"],
        capture_output=True, text=True, timeout=600, env=SERVER_ENV,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["keystrokes"] > 20 and summary["requests"] >= summary["keystrokes"]
    assert 0 < summary["p50_ms"] <= summary["p95_ms"]
    shapes = summary["by_shape"]
    assert "line" in shapes and sum(row["requests"] for row in shapes.values()) == summary["requests"]
    # Each answer is put with those the model ran for or with those it did not, by the server's count after it.
    answers = summary["by_answer"]
    assert sum(row["requests"] for row in answers.values()) == summary["requests"]
    assert answers["a model run"]["requests"] == summary["model_runs"] - summary["without_model"] > 0
    assert summary["without_model"] >= summary["file_fills"]
    assert answers["no model run"]["requests"] > 0  # the typist's typos come back as cache hits
    assert summary["typing_along_p50_ms"] is not None and summary["first_completion_s"] > 0
    # The server's status notifications are the bench client's to take, not a warning each.
    assert "Ignoring notification" not in result.stderr, result.stderr


def test_the_bench_client_parses_each_file_once_and_follows_it_by_its_edits(tmp_path, monkeypatch):
    import asyncio

    from infill_ls import bench
    from infill_ls.context import shape_at
    from infill_ls.syntax import SyntaxIndex
    from lsp_support import parsed_text

    indexes, shapes = [], []

    class Followed(SyntaxIndex):
        def __init__(self):
            super().__init__()
            indexes.append(self)

    def shape(parsed, offset):
        # The shape the client read off its tree is the one a fresh parse of the same text gives.
        found = shape_at(parsed, offset)
        assert found is shape_at(parsed_text("python", parsed.snapshot.text), offset)
        shapes.append(found)
        return found

    monkeypatch.setattr(bench, "SyntaxIndex", Followed)
    monkeypatch.setattr(bench, "shape_at", shape)
    mine = tmp_path / "orders.py"
    mine.write_text("def total(orders):\n    result = 0\n    for order in orders:\n"
                    "        result += order.price * order.count\n    return result\n")
    result = asyncio.run(bench.run(tiny_model(), 1, 0, "cpu", [(mine, "python")], 1))
    requests = len(result["measurements"].latencies_ms)
    assert requests > 20 and len(shapes) == requests
    assert [(i.stats.full_parses, i.stats.incremental_parses) for i in indexes] == [(1, requests - 1)]


def test_latency_bench_types_in_files_of_ones_own(tmp_path):
    mine = tmp_path / "shapes.rs"
    mine.write_text("fn area(w: u32, h: u32) -> u32 {\n    let a = w * h;\n    a\n}\n")
    bench = [sys.executable, "-m", "infill_ls.bench", "--model", tiny_model(), "--lines", "1", "--threads", "1"]
    result = subprocess.run([*bench, "--json", "--files", str(mine)], capture_output=True, text=True, timeout=600,
                            env=SERVER_ENV)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # One line of the file retyped, a request a keystroke or more.
    assert 5 < summary["keystrokes"] < 40 and summary["requests"] >= summary["keystrokes"]
    missing = tmp_path / "gone.py"
    result = subprocess.run([*bench, "--files", str(mine), str(missing)], capture_output=True, text=True, timeout=60,
                            env=SERVER_ENV)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].endswith(
        f"{missing}: cannot be read as UTF-8 text ([Errno 2] No such file or directory: '{missing}')")
    # A file with no line to type again is said in one line: the percentiles of no latencies were a traceback.
    short = tmp_path / "short.py"
    short.write_text("x = 1\n")
    result = subprocess.run([*bench, "--files", str(short)], capture_output=True, text=True, timeout=60,
                            env=SERVER_ENV)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(
        f"{short}: no indented code line of more than 12 characters to type again")


def test_reloading_the_model_keeps_the_default_thread_count():
    script = (
        "import torch\n"
        "torch.set_num_threads(8)\n"  # as the library's default on an 8-core machine
        "from infill_ls.model_loader import load_engine\n"
        "from infill_ls.settings import Settings\n"
        f"s = Settings(model_path={tiny_model()!r}, device='cpu')\n"
        "counts = []\n"
        "for settings in (s, Settings(model_path=s.model_path, device='cpu', threads=3), s, s):\n"
        "    load_engine(settings)\n"
        "    counts.append(torch.get_num_threads())\n"
        "print(counts)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=SERVER_ENV, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[4, 3, 4, 4]"


def _frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _latin1_session(uri: str, write, stream) -> None:
    """A Python file whose buffer holds bytes that are not UTF-8, opened and edited; the suggestions land where the
    editor counts them. ``write`` sends bytes to the server, ``stream`` reads its answers."""

    def send(payload: dict, raw: bytes = b"") -> None:
        body = json.dumps(payload).encode()
        write(_frame(body.replace(b"@RAW@", raw) if raw else body))

    def answer(request_id: int) -> dict:
        while (reply := read_message(stream)).get("id") != request_id:
            pass
        return reply

    def complete(request_id: int, line: int, character: int) -> list:
        send({"jsonrpc": "2.0", "id": request_id, "method": "textDocument/inlineCompletion", "params": {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1}}})
        return answer(request_id)["result"]["items"]

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
    answer(1)
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    # Two bytes of Latin-1 that are not UTF-8, before the cursor on the cursor's line.
    text = 'total = compute(first, second)\nname = "@RAW@"; total = compute(first, )\n'
    send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}}}, raw=b"\xe9\xe8")
    cursor = len('name = "xx"; total = compute(first, ')
    items = complete(2, 1, cursor)
    assert items and items[0]["insertText"] == "second"
    assert items[0]["range"]["start"] == {"line": 1, "character": cursor}
    # A later change lands where the editor put it.
    send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": 2}, "contentChanges": [{
            "range": {"start": {"line": 1, "character": 8}, "end": {"line": 1, "character": 8}},
            "text": "\u00e9"}]}})
    items = complete(3, 1, cursor + 1)
    assert items and items[0]["insertText"] == "second"
    send({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})
    answer(4)
    send({"jsonrpc": "2.0", "method": "exit"})


def test_a_buffer_that_is_not_utf8_stays_in_step(tmp_path):
    """Neovim sends a buffer's bytes as they are; a body that is not UTF-8 must not be dropped, or the document
    misses the change. Each stray byte counts as one character, as the editor counts it."""
    with _server("--stdio", "--model", tiny_model(), "--device", "cpu", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 stderr=subprocess.DEVNULL) as server:

        def write(data: bytes) -> None:
            server.stdin.write(data)
            server.stdin.flush()

        _latin1_session((tmp_path / "latin.py").as_uri(), write, server.stdout)
        assert server.wait(timeout=20) == 0


def test_a_buffer_that_is_not_utf8_stays_in_step_over_tcp(tmp_path):
    # As over stdio: pygls's TCP reader dropped such a body.
    port = _free_port()
    server = subprocess.Popen([*CMD, "--tcp", "--port", str(port), "--model", tiny_model(), "--device", "cpu"],
                              stderr=subprocess.DEVNULL, env=SERVER_ENV)
    try:
        sock = _connect(port)
        with sock, sock.makefile("rb") as stream:
            _latin1_session((tmp_path / "latin.py").as_uri(), sock.sendall, stream)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _quit_while_loading(shutdown: bool, exit: bool = True, *argv: str,
                        cmd: list[str] = CMD) -> subprocess.CompletedProcess:
    """An editor opened and closed at once: initialize, initialized, (shutdown,) (exit,) while the model (the
    embedded one, unless `argv` names another) is still loading; without `exit`, the stream closes after the last
    message sent. `cmd`: the server's command line, short of its arguments."""
    messages = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
                {"jsonrpc": "2.0", "method": "initialized", "params": {}}]
    if shutdown:
        messages.append({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    if exit:
        messages.append({"jsonrpc": "2.0", "method": "exit"})
    return subprocess.run([*cmd, "--stdio", *argv], input=b"".join(map(_message, messages)), capture_output=True,
                          timeout=60, env=SERVER_ENV)


def test_exit_ends_with_the_status_the_protocol_asks_and_sends_nothing_after_it():
    # The model's load ends while `exit` waits for it; its status message used to go to the closed stream, and
    # each failed write was reported by another write: hundreds of thousands of lines of tracebacks on stderr.
    for shutdown, status in ((True, 0), (False, 1)):
        out = _quit_while_loading(shutdown)
        assert out.returncode == status, out.stderr[-2000:]
        assert len(out.stderr.splitlines()) < 5, out.stderr[-2000:]
        # Nothing follows the answers to the requests sent before `exit`.
        answered = [json.loads(part) for part in out.stdout.split(b"Content-Length: ")[1:] if b"\r\n\r\n" in part
                    for part in [part.split(b"\r\n\r\n", 1)[1]]]
        assert [m.get("id") for m in answered if "id" in m] == ([1, 2] if shutdown else [1]), answered


# The server, with the event loop's last teardown step (asyncio.run's) held until the model's load posts what it
# ended with: that post is then handled in the loop's very last iteration.
_POSTED_AS_THE_LOOP_CLOSES = """
import asyncio, sys, threading, time
posted = threading.Event()
post = asyncio.BaseEventLoop.call_soon_threadsafe
def call_soon_threadsafe(self, *args, **kwargs):
    handle = post(self, *args, **kwargs)
    posted.set()
    return handle
async def shutdown_default_executor(self, *args, _shutdown=asyncio.BaseEventLoop.shutdown_default_executor):
    posted.clear()
    print("the load posted during the teardown:", posted.wait(60), file=sys.stderr, flush=True)
    time.sleep(0.1)
    return await _shutdown(self, *args)
asyncio.BaseEventLoop.call_soon_threadsafe = call_soon_threadsafe
asyncio.BaseEventLoop.shutdown_default_executor = shutdown_default_executor
from infill_ls.cli import main
sys.exit(main())
"""


def test_a_load_that_ends_as_the_event_loop_closes_leaves_nothing_on_stderr():
    # What the load ended with was told from a task of its own, made in the loop's last iteration and never run:
    # stderr said it was destroyed while pending, and that its coroutine was never awaited.
    for shutdown, exit, status in ((True, True, 0), (False, False, 0)):
        out = _quit_while_loading(shutdown, exit, cmd=[sys.executable, "-c", _POSTED_AS_THE_LOOP_CLOSES])
        assert out.returncode == status, out.stderr[-2000:]
        assert out.stderr.splitlines() == [b"the load posted during the teardown: True"], out.stderr[-2000:]


def test_a_stream_closed_while_the_model_loads_ends_as_quietly_as_exit():
    # The editor went away right after `initialized`: the load ended once the event loop had closed, and its
    # answer, posted to that loop, left a traceback on stderr.
    out = _quit_while_loading(shutdown=False, exit=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert b"Traceback" not in out.stderr and len(out.stderr.splitlines()) < 5, out.stderr[-2000:]


def test_the_process_ends_without_waiting_for_a_load_that_does_not_end(tmp_path):
    # Exit, and a closed stream, waited up to 3 s for the model's worker, which a load never leaves, said so, and
    # then took the interpreter's teardown (torch's among it) on top: seconds after the editor had gone. This
    # load never ends: the checkpoint's config is a pipe that nothing writes.
    model = tmp_path / "model"
    model.mkdir()
    os.mkfifo(model / "config.json")
    for shutdown, exit, status, answered in ((True, True, 0, [1, 2]), (False, True, 1, [1]), (False, False, 0, [1])):
        out = _quit_while_loading(shutdown, exit, "--model", str(model))
        assert out.returncode == status, out.stderr[-2000:]
        assert out.stderr == b"", out.stderr[-2000:]
        # What was written before the end is all there.
        replies = messages_in(out.stdout)
        assert [m["id"] for m in replies if "id" in m] == answered, replies
        assert {"jsonrpc": "2.0", "method": "infill/didChangeStatus",
                "params": {"kind": "loading", "message": f"loading {model}"}} in replies, replies


def test_notifications_the_protocol_lets_a_server_ignore_leave_stderr_quiet():
    # pygls warned for each: a `$/` notification (the protocol lets a server ignore them), a save and a watched
    # file's change the server never asked for, a cancel that crossed its request's answer; and a body that is not
    # JSON had a traceback of a dozen lines besides the server's own line. A notification no one defines is still
    # said, and the session goes on.
    uri = "file:///work/quiet.py"
    notifications = [("$/unknownNotification", {}), ("$/setTrace", {"value": "off"}),
                     ("textDocument/didSave", {"textDocument": {"uri": uri}}),
                     ("textDocument/willSave", {"textDocument": {"uri": uri}, "reason": 1}),
                     ("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri, "type": 2}]}),
                     ("workspace/didRenameFiles", {"files": []}),
                     ("$/cancelRequest", {"id": 2}), ("infill/madeUp", {})]
    body = b"".join(
        [_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
         _message({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
         _message({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
             "uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}}),
         _message({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
                   "params": {"command": "infill.stats"}}),
         *(_message({"jsonrpc": "2.0", "method": method, "params": params}) for method, params in notifications),
         _message({"jsonrpc": "2.0", "method": "$/noParams"}),  # as JSON-RPC allows
         _frame(b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown"'),
         _message({"jsonrpc": "2.0", "id": 4, "method": "workspace/executeCommand",
                   "params": {"command": "infill.stats"}}),
         _message({"jsonrpc": "2.0", "id": 5, "method": "shutdown"}),
         _message({"jsonrpc": "2.0", "method": "exit"})])
    out = subprocess.run([*CMD, "--stdio", "--model", tiny_model(), "--device", "cpu"], input=body,
                         capture_output=True, timeout=120, env=SERVER_ENV)
    assert out.returncode == 0, out.stderr[-2000:]
    replies = messages_in(out.stdout)
    assert [m.get("id") for m in replies if "method" not in m] == [1, 2, None, 4, 5], replies
    lines = out.stderr.decode().splitlines()
    assert len(lines) == 2, lines
    assert "infill/madeUp" in lines[0] and "not JSON" in lines[1], lines


def test_the_wheel_holds_every_file_the_package_reads(tmp_path):
    # The bench's scripted session lay outside the package, and `python -m infill_ls.bench` failed once installed.
    import zipfile

    from engine.infill import DEFAULT_MODEL_DIR
    from infill_ls.bench import FIXTURES
    from lsp_support import ROOT

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = [path.relative_to(ROOT).as_posix() for folder in (DEFAULT_MODEL_DIR, FIXTURES)
              for path in folder.iterdir() if path.is_file()]
    assert len(needed) >= 7 and not [name for name in needed if name not in names]


# The text of the ordering test: the request's cursor ends the line "x = compute(first, " (the file's own fill there:
# "second)"); the change after the request puts "y = combine(alpha, " (fill: "beta)") on that line, as long.
# The names the fills read are bound: a fill that reads names nothing binds is not shown.
ORDER_TEXT = "total = compute(first, second)\nx = compute(first,\n)\nfirst = second = alpha = beta = 0\n"
ORDER_TOP = "value = combine(alpha, beta)\ny = combine(alpha, \n"
ORDER_CURSOR = {"line": 1, "character": len("x = compute(first, ")}


class _TcpEditor:
    """An editor's end of the one connection: messages written together in one write, answers read in order; the
    server's own requests answered (an edit as not applied), its messages to the user kept."""

    def __init__(self, sock: socket.socket, stream):
        self.sock, self.stream = sock, stream
        self.shown: list[str] = []
        self.edits_asked = 0

    def send(self, *payloads: dict) -> None:
        self.sock.sendall(b"".join(_message(p) for p in payloads))

    def answer(self, request_id) -> dict:
        while True:
            message = read_message(self.stream)
            if message.get("method") == "window/showMessage":
                self.shown.append(message["params"]["message"])
            elif message.get("method") == "workspace/applyEdit":
                self.edits_asked += 1
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": {"applied": False}})
            elif "method" in message and "id" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif message.get("id") == request_id and "method" not in message:
                return message


def _change(uri: str, version: int, line: int, character: int, text: str) -> dict:
    at = {"line": line, "character": character}
    return {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": {"start": at, "end": at},
                                                                              "text": text}]}}


def test_over_tcp_a_request_reads_the_document_as_it_came_not_after_the_change_that_followed(tmp_path):
    # pygls's TCP reader hands on every message it has read already before the loop runs a request's task, and the
    # request read the document only then: a change sent after it had been applied, and the request answered at its
    # position in the changed text, its answer given as current (a fill from another line; an action offered, or
    # run, on the changed text with the old range). Each round writes [change, request, change] at once.
    port = _free_port()
    requests = {
        "textDocument/inlineCompletion": lambda uri: {"textDocument": {"uri": uri}, "position": ORDER_CURSOR,
                                                      "context": {"triggerKind": 1}},
        "textDocument/completion": lambda uri: {"textDocument": {"uri": uri}, "position": ORDER_CURSOR},
        "textDocument/codeAction": lambda uri: {"textDocument": {"uri": uri}, "context": {"diagnostics": []},
                                                "range": {"start": {"line": 1, "character": 0}, "end": ORDER_CURSOR}},
        "workspace/executeCommand": lambda uri: {"command": "infill.rewriteSelection", "arguments": [
            uri, {"start": {"line": 1, "character": 0}, "end": ORDER_CURSOR}, None]},
    }
    with _server("--tcp", "--port", str(port), "--model", tiny_model(), "--device", "cpu",
                 stderr=subprocess.DEVNULL) as server:
        sock = _connect(port)
        with sock, sock.makefile("rb") as stream:
            editor = _TcpEditor(sock, stream)
            editor.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"capabilities": {"workspace": {"applyEdit": True}}}})
            editor.answer(1)
            editor.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
            answers: dict[str, list] = {method: [] for method in requests}
            request_id = 1
            for round_ in range(4):
                for method, params in requests.items():
                    request_id += 1
                    uri = (tmp_path / f"order{request_id}.py").as_uri()
                    editor.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                        "uri": uri, "languageId": "python", "version": 1, "text": ORDER_TEXT}}})
                    editor.send(_change(uri, 2, 1, len("x = compute(first,"), " "),
                                {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params(uri)},
                                _change(uri, 3, 0, 0, ORDER_TOP))
                    answers[method].append(editor.answer(request_id)["result"])
            # The premise: read in the changed text, the request is answered from its other line.
            editor.send({"jsonrpc": "2.0", "id": 99, "method": "textDocument/inlineCompletion",
                         "params": requests["textDocument/inlineCompletion"](uri)})
            assert any("beta" in item["insertText"] for item in editor.answer(99)["result"]["items"])
            editor.send({"jsonrpc": "2.0", "id": 100, "method": "shutdown"})
            editor.answer(100)
            editor.send({"jsonrpc": "2.0", "method": "exit"})
        assert server.wait(timeout=20) == 0
    # For the text it came for (where the fill is "second)"), or nothing, as that text is gone by the answer.
    fills = [item["insertText"] for result in answers["textDocument/inlineCompletion"] for item in result["items"]]
    fills += [item["textEdit"]["newText"] for result in answers["textDocument/completion"] for item in result["items"]]
    assert not [fill for fill in fills if "beta" in fill], fills
    # Offered for the version the range was given in, if at all.
    offered = [command["arguments"][2] for result in answers["textDocument/codeAction"] for command in result]
    assert set(offered) <= {2}, offered
    # Run on the text it came for, whose edit is then out of date: none asked to be applied, and the user told why.
    assert answers["workspace/executeCommand"] == [{"applied": False}] * 4 and editor.edits_asked == 0
    assert len([m for m in editor.shown if "the document changed" in m]) == 4, editor.shown


def test_check_names_a_grammar_that_does_not_load_and_fails(tmp_path):
    # An environment without tree-sitter-rust: a module of that name that cannot be imported shadows the real one.
    (tmp_path / "tree_sitter_rust.py").write_text("raise ImportError(\"No module named 'tree_sitter_rust'\")\n")
    env = {**SERVER_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), SERVER_ENV.get("PYTHONPATH")]))}
    out = subprocess.run([*CMD, "--check", "--model", tiny_model(), "--device", "cpu"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 2
    assert "grammars: 8 of 9 load" in out.stdout.splitlines()
    assert out.stderr == "infill-ls: rust: its grammar is not installed (pip install tree-sitter-rust)\n"
    whole = _run("--check", "--model", tiny_model(), "--device", "cpu")
    assert whole.returncode == 0 and "grammars: 9 of 9 load" in whole.stdout.splitlines()
