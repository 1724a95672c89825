"""The protocol layer in-process, without a transport: what the server keeps of the messages it handles."""

from infill_ls.server import create_server
from infill_ls.settings import Settings


def test_document_notifications_leave_nothing_behind_in_the_protocols_table():
    # pygls filed a future under a made-up id for every didOpen/didChange/didClose and never took it out: 20,000
    # keystrokes held 42 MB.
    server = create_server(Settings())
    protocol = server.protocol

    def notify(method, params):
        protocol.handle_message(protocol.structure_message({"jsonrpc": "2.0", "method": method, "params": params}))

    try:
        # Notifications before `initialize` are dropped, as the protocol asks. (No transport: its answer goes nowhere.)
        protocol.handle_message(protocol.structure_message(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}))
        uri = "file:///typed.py"
        notify("textDocument/didOpen",
               {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}})
        for version in range(2, 202):
            at = {"line": 0, "character": 0}
            notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                              "contentChanges": [{"range": {"start": at, "end": at}, "text": "y"}]})
        assert server.service.documents.get(uri).text == "y" * 200 + "x = 1\n"
        notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        assert server.service.documents.get(uri) is None
        assert len(protocol._request_futures) == 0
    finally:
        server.service.shutdown()
