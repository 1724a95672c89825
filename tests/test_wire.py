"""What comes over the wire, written byte by byte to the real server: headers spelt as clients spell them, a body of
the wrong length, JSON that is no JSON-RPC message, an `initialize` sent twice, a string field that is no string, a
TCP client that resets its connection, and an editor that ends while the pipe to the server stays open."""

import json
import socket
import struct
import subprocess
import sys
import time

from lsp_support import SERVER_ENV, messages_in, read_message, tiny_model

CMD = [sys.executable, "-m", "infill_ls", "--model", tiny_model(), "--device", "cpu"]
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"capabilities": {"textDocument": {"inlineCompletion": {}}}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "initialized", "params": {}}
QUIT = [{"jsonrpc": "2.0", "id": 99, "method": "shutdown"}, {"jsonrpc": "2.0", "method": "exit"}]


def _body(payload) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()


def _frame(payload, header: bytes = b"Content-Length: %d\r\n\r\n", length: int | None = None) -> bytes:
    body = _body(payload)
    return header % (len(body) if length is None else length) + body


def _stats(msg_id: int) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand", "params": {"command": "infill.stats"}}


def _session(*frames: bytes) -> tuple[list[dict], str]:
    """The server's messages and stderr for `frames` sent after initialize and before shutdown and exit."""
    sent = b"".join([_frame(INITIALIZE), _frame(INITIALIZED), *frames, *map(_frame, QUIT)])
    out = subprocess.run(CMD, input=sent, capture_output=True, timeout=120, env=SERVER_ENV)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return messages_in(out.stdout), out.stderr.decode()


def _answers(messages: list[dict]) -> dict:
    return {m["id"]: m for m in messages if "id" in m and "method" not in m}


def test_headers_as_clients_spell_them_and_a_body_of_the_wrong_length_lose_no_later_message():
    # One Content-Length counted in characters, not bytes, and no message after it was ever read again: what was
    # left of its body began the next header's line. A header in lower case, with LF line ends, or with no space
    # after its colon was never read either, and took the messages after it with it.
    opened = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///work/cafe.py", "languageId": "python", "version": 1, "text": "name = 'café'\n"}}}
    short = _body(opened)
    messages, stderr = _session(
        _frame(short, length=len(short.decode())),  # one byte short: its last byte is left over
        _frame(_stats(2)),
        _frame(_stats(3), b"content-length: %d\r\n\r\n"),
        _frame(_stats(4), b"Content-Length: %d\n\n"),
        _frame(_stats(5), b"Content-Length:%d\r\n\r\n"),
        _frame(_stats(6), b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"),
        _frame(_stats(7), length=len(_body(_stats(7))) + 5),  # five bytes long: the next message is lost with it
        _frame(_stats(8)),
        _frame(_stats(9)),
    )
    answers = _answers(messages)
    assert {2, 3, 4, 5, 6, 9, 99} <= set(answers), sorted(answers, key=str)
    assert all("result" in answers[i] for i in (2, 3, 4, 5, 6, 9))
    assert "bytes before a Content-Length header were dropped" in stderr and "Traceback" not in stderr, stderr


def test_json_that_is_no_json_rpc_request_is_answered_invalid_request_without_a_traceback_or_a_message():
    # `[1, 2]`, `42`, `null` and a batch each left a traceback on stderr and "Error in server: 'list' object has no
    # attribute 'jsonrpc'" before the user; a request without `jsonrpc`, or of version 1.0, was never answered.
    messages, stderr = _session(
        _frame(b"[1, 2]"), _frame(b"42"), _frame(b"null"), _frame(json.dumps([_stats(20)]).encode()),
        _frame({"id": 21, "method": "workspace/executeCommand", "params": {"command": "infill.stats"}}),
        _frame({**_stats(22), "jsonrpc": "1.0"}),
        _frame({"jsonrpc": "2.0", "id": 23, "result": None}),  # an answer to nothing: said, not answered
        _frame(_stats(24)),
    )
    invalid = [m for m in messages if m.get("error", {}).get("code") == -32600]
    assert [m["id"] for m in invalid] == [None, None, None, None, 21, 22], invalid
    assert "result" in _answers(messages)[24] and 23 not in _answers(messages)
    assert not [m for m in messages if m.get("method") == "window/showMessage"], messages
    assert "Traceback" not in stderr and stderr.count("not a JSON-RPC 2.0 message") == 6, stderr


def test_initialize_again_is_refused_and_changes_nothing():
    # A second `initialize` was served: the session took its capabilities (an editor with inline completion was
    # offered `textDocument/completion` after it) and its folders; a third failed with a traceback.
    again = {"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {"capabilities": {}}}
    completion = {"jsonrpc": "2.0", "id": 4, "method": "textDocument/completion", "params": {
        "textDocument": {"uri": "file:///work/a.py"}, "position": {"line": 0, "character": 0}}}
    messages, stderr = _session(_frame(again), _frame({**again, "id": 3}), _frame(completion))
    answers = _answers(messages)
    for msg_id in (2, 3):
        assert answers[msg_id]["error"] == {"code": -32600, "message": "initialize: the server is initialized already"}
    assert answers[4]["error"]["code"] == -32601  # still a client with inline completion: no such method for it
    assert "Traceback" not in stderr, stderr


def test_a_change_whose_text_is_not_a_string_drops_the_document_and_says_so():
    # A change's `"text": null` was read as the string "None", and the server's text held four characters the
    # editor's did not, without a word.
    uri = "file:///work/null.py"
    opened = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}}
    change = {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": 2}, "contentChanges": [{
            "range": {"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 5}}, "text": None}]}}
    messages, stderr = _session(_frame(opened), _frame(change))
    told = [m["params"]["message"] for m in messages if m.get("method") == "window/showMessage"]
    assert any(uri in message and "contentChanges[0].text: None is not a string" in message for message in told), told


def test_a_tcp_client_that_resets_its_connection_ends_the_server_without_a_traceback():
    # A reset (an editor killed, a connection closed with answers unread) left a traceback on stderr and a process
    # that never served again nor ended.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*CMD, "--tcp", "--port", str(port)], stderr=subprocess.PIPE, env=SERVER_ENV)
    try:
        for _ in range(400):
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                time.sleep(0.05)
        client.sendall(_frame(INITIALIZE))
        client.recv(1)  # answered: the session has begun
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a linger of 0: closed with a reset
        assert server.wait(timeout=30) == 0
        stderr = server.stderr.read().decode()
        assert "Traceback" not in stderr and "the client's connection was lost" in stderr, stderr
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def test_a_process_id_out_of_range_is_not_watched_and_fails_nothing():
    # `os.kill(2**40, 0)` raised OverflowError: initialize failed, and its retry was refused as a second one.
    first = subprocess.run(CMD, input=b"".join([
        _frame({**INITIALIZE, "params": {**INITIALIZE["params"], "processId": 2**40}}), _frame(INITIALIZED),
        _frame(_stats(2)), *map(_frame, QUIT)]), capture_output=True, timeout=120, env=SERVER_ENV)
    answers = _answers(messages_in(first.stdout))
    assert "result" in answers[1] and "result" in answers[2], answers
    assert b"Traceback" not in first.stderr and first.returncode == 0


def test_the_server_ends_once_the_editors_process_has_and_not_for_a_process_id_of_elsewhere():
    # The protocol's `processId`: the server outlived the editor for as long as a wrapper held its stdin open.
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its id names no process now: the editor's id on another machine, or in a container
    servers = [subprocess.Popen(CMD, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=SERVER_ENV) for _ in range(2)]
    try:
        for server, pid in zip(servers, (editor.pid, gone.pid)):
            server.stdin.write(_frame({**INITIALIZE, "params": {**INITIALIZE["params"], "processId": pid}}))
            server.stdin.write(_frame(INITIALIZED))
            server.stdin.flush()
        watched, unwatched = servers
        while read_message(watched.stdout).get("id") != 1:  # initialize answered: the editor was looked at, running
            pass
        editor.kill()
        editor.wait()
        assert watched.wait(timeout=30) == 1  # as `exit` without `shutdown`
        assert "the editor's process %d has ended" % editor.pid in watched.stderr.read().decode()
        unwatched.stdin.write(_frame(_stats(5)))
        unwatched.stdin.flush()
        time.sleep(1)
        assert unwatched.poll() is None
    finally:
        for process in (editor, *servers):
            if process.poll() is None:
                process.kill()
                process.wait()
        for server in servers:
            for stream in (server.stdin, server.stdout, server.stderr):
                stream.close()
