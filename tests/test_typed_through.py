"""Typing through a suggestion: the rest of a fill the user types along is served without a model pass only where it
passes, in the text as typed, the checks a fresh fill passes while typing (`no_worse`, `parsing_first`); else the
fill is asked for afresh. Real grammars and a real checkpoint: the service as the server drives it, and the server
itself over stdio. The fills typed through are those the file spells out (the lookup's, the same for any weights) or
ones remembered as shown."""

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from infill_ls.documents import Position, PositionEncoding, Range, Snapshot, TextChange
from infill_ls.notebooks import NO_SURROUNDINGS
from infill_ls.scheduler import TypingThrough
from infill_ls.service import InfillService
from infill_ls.suggestions import Suggestion
from infill_ls.typing_filter import no_worse

from lsp_support import capabilities, config, init_params, loaded, parsed_text, position_of, replace_change, tiny_model

# `text.` is completed with the `push(c);` of the loop above; once `p` is typed, `text.p` is a field that the
# `.map(..)` chain below goes on from, and the rest `ush(c);` would end the statement before it.
LEXER = """pub struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
}

impl<'a> Lexer<'a> {
    fn number(&mut self, start: char) -> Result<f64, String> {
        let mut text = String::from(start);
        while let Some(&(_, c)) = self.chars.peek() {
            if c.is_ascii_digit() || c == '.' {
                text.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        text.
            .map(|n| n * 2.0)
            .map_err(|e| e.to_string())
    }
}
"""
LEXER_AT = LEXER.index("        text.\n") + len("        text.")

# The arm's `(` and `),` are the editor's, written before the name: a fill of `one()` after `s.cl` leaves the file as
# broken as it was, but once `one(` is typed the file parses, and the rest `)` closes the call a second time.
ARMS = """pub enum Token {
    Word(String),
    Ident(String),
}

pub fn names(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .map(|t| match t {
            Token::Word(s) => s.clone(),
            Token::Ident(s) => s.cl),
        })
        .collect()
}
"""
ARMS_AT = ARMS.index("s.cl),") + len("s.cl")

TOTALS = """def f(items, tax_rate):
    total = compute_total(items, tax_rate)
    return total


def g(items, tax_rate):
    value = compute_total(
    return value
"""
TOTALS_AT = TOTALS.index("value = compute_total(") + len("value = compute_total(")


def _position(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset)
    return Position(line, offset - (text.rfind("\n", 0, offset) + 1))  # ASCII texts: UTF-16 units are characters


def _still_no_worse(language: str, text: str, offset: int, fills: list[str]) -> bool:
    """Whether each fill at ``offset`` leaves ``text`` no worse (`no_worse`), as the server parses it."""
    parsed = parsed_text(language, text)
    shown = [Suggestion(fill, offset, offset, 1.0) for fill in fills]
    return no_worse(parsed, shown) == shown


# --- which fills are continued ------------------------------------------------------------


def test_once_a_fill_is_typed_to_its_end_the_fills_ranked_below_it_are_not_continued():
    before = "interface Props {\n  initial: Todo[\n}\n"
    at = before.index("Todo[") + len("Todo[")
    after = before[:at] + "]" + before[at:]
    typing = TypingThrough()
    # `]` shown, and `]>(initial);` copied from a `useState<Todo[]>(initial);` below it: typed, `]` is taken, and
    # `>(initial);` alone is no part of it.
    typing.remember(Snapshot("file:///t.tsx", "typescriptreact", 1, before), at, ["]", "]>(initial);"])
    assert typing.continuation(Snapshot("file:///t.tsx", "typescriptreact", 2, after), at + 1) is None
    # The fill shown first still goes on where one ranked below it is the text typed.
    typing.remember(Snapshot("file:///t.tsx", "typescriptreact", 1, before), at, ["]>(initial);", "]", "]]"])
    assert typing.continuation(Snapshot("file:///t.tsx", "typescriptreact", 2, after), at + 1) == [">(initial);"]


# --- the service ----------------------------------------------------------------------------


class _Typed:
    """A document of the service's, typed into at a cursor as an editor sends it."""

    def __init__(self, service: InfillService, uri: str, language: str, text: str, cursor: int) -> None:
        self.service, self.uri, self.language, self.text, self.cursor, self.version = (
            service, uri, language, text, cursor, 1)
        service.open(uri, language, 1, text)

    def type(self, keys: str) -> None:
        for key in keys:
            at = _position(self.text, self.cursor)
            self.version += 1
            self.service.change(self.uri, self.version, [TextChange(Range(at, at), key)], PositionEncoding.UTF16)
            self.text = self.text[:self.cursor] + key + self.text[self.cursor:]
            self.cursor += 1

    async def shown(self) -> list[str]:
        found = await self.service.suggest_in(self.service.documents.get(self.uri), _position(self.text, self.cursor),
                                              PositionEncoding.UTF16, explicit=False)
        assert all(s.start == s.end == self.cursor for s in found)
        return [s.text for s in found]

    def remember(self, fills: list[str]) -> None:
        """``fills`` as if shown at the cursor, the fills the service would type through."""
        self.service.scheduler.typing.remember(self.service.documents.get(self.uri), self.cursor, fills,
                                               NO_SURROUNDINGS.key())

    def counts(self) -> tuple[int, int]:
        stats = self.service.stats()
        return stats["model_runs"], stats["typing_through_hits"]


async def test_a_rest_that_ends_the_statement_the_text_typed_goes_on_is_asked_for_afresh(service):
    doc = _Typed(service, "file:///lexer/lib.rs", "rust", LEXER, LEXER_AT)
    assert await doc.shown() == ["push(c);"]
    runs, hits = doc.counts()
    doc.type("p")
    shown = await doc.shown()
    assert "ush(c);" not in shown
    assert doc.counts() == (runs + 1, hits)  # a fresh request, not nothing
    assert _still_no_worse("rust", doc.text, doc.cursor, shown)


async def test_a_rest_closing_the_call_the_editor_closed_is_not_served(service):
    doc = _Typed(service, "file:///arms/lib.rs", "rust", ARMS, ARMS_AT)
    doc.remember(["one()"])
    runs, hits = doc.counts()
    # `s.clone())` stays as broken as `s.clo)` was: typed through.
    doc.type("o")
    assert await doc.shown() == ["ne()"]
    assert doc.counts() == (runs, hits + 1)
    doc.type("ne(")  # each keystroke a change, and the request for the last of them
    shown = await doc.shown()
    assert ")" not in shown
    assert doc.counts() == (runs + 1, hits + 1)
    assert _still_no_worse("rust", doc.text, doc.cursor, shown)


async def test_the_rest_of_a_fill_alone_is_not_served_once_the_fill_shown_first_is_typed(service):
    text = ("interface Todo {\n  id: number;\n}\n\ninterface Props {\n  initial: Todo[\n}\n\n"
            "export function useTodos({ initial }: Props) {\n  return useState<Todo[]>(initial);\n}\n")
    doc = _Typed(service, "file:///todo/list.tsx", "typescriptreact", text, text.index("Todo[\n") + len("Todo["))
    doc.remember(["]", "]>(initial);"])
    runs, hits = doc.counts()
    doc.type("]")
    await doc.shown()
    assert doc.counts() == (runs + 1, hits)


async def test_typing_along_a_fill_that_stays_good_runs_no_model(service):
    doc = _Typed(service, "file:///totals/a.py", "python", TOTALS, TOTALS_AT)
    (fill,) = await doc.shown()
    assert fill.startswith("items")
    runs, hits = doc.counts()
    for i in range(1, 3):
        doc.type(fill[i - 1])
        assert await doc.shown() == [fill[i:]]
    assert doc.counts() == (runs, hits + 2)


async def test_a_fill_shown_under_settings_since_changed_is_not_typed_through(service):
    # The copy from the file went on being served, a keystroke at a time, after `fileLookup` was turned off.
    doc = _Typed(service, "file:///totals/b.py", "python", TOTALS, TOTALS_AT)
    (fill,) = await doc.shown()
    assert fill.startswith("items") and service.settings.file_lookup
    doc.type(fill[0])
    assert await doc.shown() == [fill[1:]]
    assert service.configure({"fileLookup": False}) == ([], False)
    runs, hits = doc.counts()
    doc.type(fill[1])
    assert fill[2:] not in await doc.shown()
    assert doc.counts() == (runs + 1, hits)  # asked afresh, of the model


# --- the server over stdio ------------------------------------------------------------------


@pytest_lsp.fixture(scope="module", config=config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        init_params(capabilities(), modelPath=tiny_model(), debounceMs=0, device="cpu")
    )
    await loaded(lsp_client)
    yield
    await lsp_client.shutdown_session()


class _Doc:
    """The client's copy of one open document."""

    def __init__(self, client: LanguageClient, uri: str, language: str, text: str) -> None:
        self.client, self.uri, self.text, self.version = client, uri, text, 1
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))

    def type(self, offset: int, key: str) -> None:
        change = replace_change(self.text, offset, offset, key)
        self.text = self.text[:offset] + key + self.text[offset:]
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version), [change]))

    async def shown(self, offset: int) -> list[str]:
        result = await self.client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(uri=self.uri), position=position_of(self.text, offset)))
        return [item.insert_text for item in result.items]

    async def counts(self) -> tuple[int, int]:
        stats = await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="infill.stats", arguments=[]))
        return stats["model_runs"], stats["typing_through_hits"]


@pytest.mark.asyncio(loop_scope="module")
async def test_the_server_asks_afresh_where_the_rest_typed_through_would_break_the_file(client):
    doc = _Doc(client, "file:///stdio/lexer.rs", "rust", LEXER)
    assert await doc.shown(LEXER_AT) == ["push(c);"]
    runs, hits = await doc.counts()
    doc.type(LEXER_AT, "p")
    shown = await doc.shown(LEXER_AT + 1)
    assert "ush(c);" not in shown
    assert await doc.counts() == (runs + 1, hits)
    assert _still_no_worse("rust", doc.text, LEXER_AT + 1, shown)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_server_serves_a_good_rest_without_the_model(client):
    doc = _Doc(client, "file:///stdio/totals.py", "python", TOTALS)
    (fill,) = await doc.shown(TOTALS_AT)
    runs, hits = await doc.counts()
    doc.type(TOTALS_AT, fill[0])
    assert await doc.shown(TOTALS_AT + 1) == [fill[1:]]
    assert await doc.counts() == (runs, hits + 1)


async def test_a_fill_found_under_settings_changed_while_it_was_asked_for_is_not_typed_through():
    # Remembered as it was answered, after `configure` had cleared what was shown: the copy went on being typed
    # through under `fileLookup` off.
    import asyncio

    from infill_ls.settings import Settings

    service = InfillService(Settings(model_path=tiny_model(), device="cpu", debounce_ms=300))
    service.load_model(lambda result: None)
    assert await service.model.engine() is not None
    try:
        doc = _Typed(service, "file:///totals/c.py", "python", TOTALS, TOTALS_AT)
        asked = asyncio.ensure_future(doc.shown())
        await asyncio.sleep(0.05)  # within the debounce
        assert not asked.done() and service.configure({"fileLookup": False}) == ([], False)
        (fill,) = await asked  # found under the settings it was asked with
        assert fill.startswith("items")
        hits = doc.counts()[1]
        doc.type(fill[0])
        assert fill[1:] not in await doc.shown()
        assert doc.counts()[1] == hits
    finally:
        service.shutdown(wait_s=30)
