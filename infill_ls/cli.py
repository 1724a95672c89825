"""The ``infill-ls`` command: run the language server, or check that the model works."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
import threading
import time
from typing import BinaryIO, Callable

from engine.arguments import add_memory_check_option, add_model_option, dtype_help
from engine.languages import LANGUAGES, grammar_problem

from . import __version__
from .model_loader import describe_failure, load_engine
from .settings import DEVICES, DTYPES, MAX_THREADS, Settings

DEFAULT_PORT = 2087
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CHECK_PREFIX = "def add(a, b):\n    return "
CHECK_SUFFIX = "\n\n\nprint(add(1, 2))\n"
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
# A Content-Length header as clients write it: any case, any spacing, CRLF or LF; and what stands before it on the
# line, the rest of a body longer than its header said.
_CONTENT_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n\Z", re.IGNORECASE)

log = logging.getLogger(__name__)


def header_line(line: bytes) -> bytes:
    """A line read where a message's header is, as pygls reads headers: it takes `Content-Length: N\\r\\n` alone, so a
    header spelt another way (`content-length`, LF for CRLF, no space) was no header to it, and the body after it
    was glued to the next. Nor did one body read short or long ever let it find a header again: what was left of
    it began the next header's line. The header now found where the line ends reads the messages after it."""
    found = _CONTENT_LENGTH.search(line)
    if found is None:
        return line
    if found.start() > 0 and line[:found.start()].strip():
        log.warning("%d bytes before a Content-Length header were dropped: a message before it did not end where "
                    "its Content-Length said", found.start())
    return b"Content-Length: %s\r\n" % found.group(1)


class Utf8Stdin:
    """Standard input whose message bodies always decode as UTF-8.

    An editor can send bytes of a buffer that are not UTF-8 (Neovim does, for a file it could not read as
    UTF-8); pygls drops a message it cannot decode, so the document would miss that change and every later
    one would land in the wrong place. Each such byte reads as U+FFFD instead: one character per byte, which is
    how such an editor counts it in positions.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream

    def readline(self) -> bytes:
        return header_line(self._stream.readline())

    def read(self, n: int) -> bytes:  # pygls reads each body with one call
        return utf8_body(self._stream.read(n))


class Utf8Connection:
    """A TCP connection's reader (asyncio's), whose message bodies decode as UTF-8 as `Utf8Stdin`'s do; `first`: a
    line already read from it."""

    def __init__(self, reader: asyncio.StreamReader, first: bytes = b""):
        self._reader = reader
        self._first = first

    async def readline(self) -> bytes:
        if self._first:
            line, self._first = self._first, b""
            return header_line(line)
        return header_line(await self._reader.readline())

    async def readexactly(self, n: int) -> bytes:
        return utf8_body(await self._reader.readexactly(n))


def utf8_body(body: bytes) -> bytes:
    """`body`, with each byte that is not part of UTF-8 replaced by U+FFFD."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        body = _ESCAPED_BYTE.sub("\ufffd", body.decode("utf-8", "surrogateescape")).encode("utf-8")
    return body


def serve_tcp(server, host: str, port: int, listening: Callable[[], None] = lambda: None) -> None:
    """pygls's `start_tcp`, with each message body read as `Utf8Connection` reads it: pygls drops a body that is
    not UTF-8, and the document misses that change. ``listening`` is called once the port is open."""
    from pygls.io_ import run_async

    server._stop_event = stop = threading.Event()
    serving: asyncio.StreamWriter | None = None  # the connection being served

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal serving
        # The first to speak is the client; one that connects and goes (a port probe) touches nothing, and while
        # the client is served another connection is closed: it took over the client's answers (its documents'
        # text in them), and its end ended the server.
        if serving is not None:
            writer.close()  # at once: one that never spoke was kept open until the server ended
            return
        try:
            first = await reader.readline()
        except ConnectionError:
            first = b""
        except asyncio.CancelledError:
            # The server ends while this one has not spoken; left to asyncio, Python 3.11 wrote 37 lines of
            # traceback for it.
            writer.close()
            return
        if not first or serving is not None:
            writer.close()
            return
        serving = writer
        server.protocol.set_writer(writer)
        try:
            await run_async(stop_event=stop, reader=Utf8Connection(reader, first), protocol=server.protocol,
                            error_handler=server.report_server_error)
        except SystemExit:
            pass  # the client's `exit`: pygls ends the process with it, here an error in a callback, said at length
        except ConnectionError as error:
            # A client that went without closing (killed, or closed before it read its answers): its end, as EOF is.
            log.warning("the client's connection was lost: %s", error.strerror or error)
        server.shutdown()

    async def serve() -> None:
        try:
            server._server = await asyncio.start_server(connection, host, port)
        except OSError as error:  # in use, not an address of this machine, a name that does not resolve
            raise ListenError(f"--tcp on {host}:{port}: {error.strerror or error}") from None
        listening()
        async with server._server:
            await server._server.serve_forever()

    try:
        asyncio.run(serve())
    except asyncio.CancelledError:
        pass  # shut down: the listener closed


class ListenError(Exception):
    """The server could not listen where it was asked to."""


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infill-ls",
        description="Language server for code infilling with a bidirectional diffusion denoiser.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", help="speak LSP over stdin/stdout (the default)")
    mode.add_argument("--tcp", action="store_true", help="listen for one client on a TCP port")
    mode.add_argument(
        "--check",
        action="store_true",
        help="load the model, fill one hole, print device, model and latency, and exit",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address for --tcp (default: 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                        help=f"port for --tcp (default: {DEFAULT_PORT})")
    add_model_option(parser)
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs (default: auto)")
    parser.add_argument("--dtype", choices=DTYPES, default="auto", help="weight type: " + dtype_help("auto"))
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for the model (default: half the cores)")
    add_memory_check_option(parser)
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="warning",
        help="server log level on stderr (default: warning)",
    )
    parser.add_argument("--version", action="version", version=f"infill-ls {__version__}")
    return parser


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def check(settings: Settings) -> int:
    """Load, fill one hole, report. Exit status 2 with one line when anything fails."""
    started = time.perf_counter()
    try:
        engine = load_engine(settings)
    except Exception as error:  # noqa: BLE001 - reported as one line
        print(f"infill-ls: {describe_failure(error, settings)}", file=sys.stderr)
        return 2
    loaded = time.perf_counter()
    try:
        candidates = engine.infill(CHECK_PREFIX, CHECK_SUFFIX, max_tokens=16)
    except Exception as error:  # noqa: BLE001 - reported as one line
        print(f"infill-ls: fill failed with {engine.description}: {error}", file=sys.stderr)
        return 2
    filled = time.perf_counter()
    best = candidates[0] if candidates else None
    print(f"model:   {engine.description}")
    threads = torch_threads()
    print(f"device:  {engine.device}" + (f", {threads} thread{'s' * (threads != 1)}" if engine.device == "cpu" else ""))
    print(f"load:    {(loaded - started) * 1000:.0f} ms")
    print(f"fill:    {(filled - loaded) * 1000:.0f} ms" + (f" ({best.steps} steps)" if best else ""))
    print(f"sample:  {CHECK_PREFIX.splitlines()[-1].strip()} {best.text if best else ''!r}")
    # A grammar that does not load leaves its files without syntax features: the installation is broken.
    problems = [problem for lang in LANGUAGES if (problem := grammar_problem(lang.name))]
    print(f"grammars: {len(LANGUAGES) - len(problems)} of {len(LANGUAGES)} load")
    for problem in problems:
        print(f"infill-ls: {problem}", file=sys.stderr)
    return 2 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """The command line; serving (--stdio, --tcp), it ends the process itself (`InfillServer.end`)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level.upper(), format="infill-ls %(levelname)s %(name)s: %(message)s"
    )
    if args.threads is not None and not 1 <= args.threads <= MAX_THREADS:
        print(f"infill-ls: --threads must be from 1 to {MAX_THREADS}, got {args.threads}", file=sys.stderr)
        return 2
    settings = Settings(model_path=args.model, device=args.device, dtype=args.dtype, threads=args.threads,
                        memory_check=args.memory_check)
    if args.check:
        return check(settings)

    from .server import create_server  # pygls only for the server modes

    server = create_server(
        Settings(device=args.device, dtype=args.dtype, threads=args.threads, memory_check=args.memory_check),
        default_model=args.model
    )
    try:
        if args.tcp:
            def listening() -> None:  # said once the port is open: a host that does not resolve opens none
                if args.host not in LOOPBACK:
                    print(f"infill-ls: warning: --host {args.host}: whoever reaches port {args.port} gets what the "
                          "server reads (the documents it is sent, the files beside them) in its answers",
                          file=sys.stderr, flush=True)

            serve_tcp(server, args.host, args.port, listening)
        else:
            if sys.stdin.isatty():
                # Started by hand it waits, silent, for an editor's messages: said, as the user may not know.
                print("infill-ls: waiting for LSP messages on stdin; an editor starts it (the README's \"Editors\"); "
                      "infill-ls --check tries the model; the end of input (Ctrl-D) ends it", file=sys.stderr,
                      flush=True)
            server.start_io(stdin=Utf8Stdin(sys.stdin.buffer))
    except ListenError as error:
        print(f"infill-ls: {error}", file=sys.stderr)
        server.end(2)
    except BaseException:
        # Said here: the process ends without the interpreter, which would have said it.
        logging.getLogger(__name__).exception("the server stopped on an error")
        server.end(1)
    # 0 also when the client closed the stream without `exit`.
    server.end(server.protocol.exit_status or 0)
