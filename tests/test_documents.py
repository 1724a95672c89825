import random
import sys

import pytest

from infill_ls import documents
from infill_ls.documents import (
    DocumentError,
    DocumentStore,
    Position,
    PositionEncoding,
    Range,
    Snapshot,
    TextChange,
)

U8, U16, U32 = PositionEncoding.UTF8, PositionEncoding.UTF16, PositionEncoding.UTF32


def snap(text: str) -> Snapshot:
    return Snapshot("file:///t.py", "python", 1, text)


@pytest.mark.parametrize(
    "encoding, character",
    [(U16, 3), (U8, 5), (U32, 2)],
)
def test_position_counts_units_of_the_negotiated_encoding(encoding, character):
    s = snap("x = 1\na😀b\n")
    b = s.text.index("b")
    assert s.position_at(b, encoding) == Position(1, character)
    assert s.offset_at(Position(1, character), encoding) == b


def test_cjk_counts_one_utf16_unit_and_three_utf8_bytes():
    s = snap("名前 = 1")
    eq = s.text.index("=")
    assert s.position_at(eq, U16) == Position(0, 3)
    assert s.position_at(eq, U8) == Position(0, 7)


def test_position_inside_a_surrogate_pair_stops_before_the_character():
    s = snap("a😀b")
    assert s.offset_at(Position(0, 2), U16) == 1  # between the two halves of the emoji
    assert s.offset_at(Position(0, 3), U8) == 1  # inside its four UTF-8 bytes


@pytest.mark.parametrize("encoding, units", [(U16, 1), (U8, 3), (U32, 1)])
def test_a_lone_surrogate_is_one_character_and_positions_after_it_stay_in_place(encoding, units):
    # A client may send one as a JSON escape (a JavaScript string can hold it). Counted when encoding but dropped
    # when decoding, it put every position after it one character early, and edits there landed out of place.
    store = DocumentStore()
    uri = "file:///s.py"
    store.open(uri, "python", 1, "s = '\ud800' + t\nx = '\ud800'\n")
    after = 5 + units  # just after the surrogate, in the encoding's units
    s = _change(store, uri, 2, Position(0, after), Position(0, after), "QQ", encoding)
    assert s.text == "s = '\ud800QQ' + t\nx = '\ud800'\n"
    assert s.position_at(s.text.index("QQ"), encoding) == Position(0, after)
    (edit,) = s.edits
    assert s.char_offset(edit.new_end_byte) == edit.new_end
    assert s.chars_between(0, edit.new_end_byte) == s.text.index("' + t")
    # Half of a pair is still not a character: a position between the halves stops before the emoji.
    assert snap("\ud800😀").offset_at(Position(0, 2), U16) == 1


def test_crlf_and_lone_cr_are_line_breaks_and_not_part_of_lines():
    s = snap("ab\r\ncd\ref\n")
    assert s.line_starts == [0, 4, 7, 10]
    assert [s.line_text(i) for i in range(4)] == ["ab", "cd", "ef", ""]
    # Past the end of a line clamps to the line end, never into the break.
    assert s.offset_at(Position(0, 99), U16) == 2
    assert s.position_at(3, U16) == Position(0, 2)  # between "\r" and "\n"
    assert s.eol() == "\r\n"


def test_positions_past_the_end_clamp_to_the_document_end():
    s = snap("one\ntwo")
    assert s.offset_at(Position(9, 0), U16) == len(s.text)
    assert s.position_at(999, U16) == Position(1, 3)


def _change(store, uri, version, start, end, text, encoding=U16):
    return store.change(uri, version, [TextChange(Range(start, end), text)], encoding)


def test_incremental_changes_with_emoji_cjk_and_crlf():
    store = DocumentStore()
    uri = "file:///w.py"
    store.open(uri, "python", 1, "def f():\r\n    return 1\r\n")
    # Type an emoji inside a string after the return value.
    s = _change(store, uri, 2, Position(1, 12), Position(1, 12), ' + len("😀")')
    assert s.text == 'def f():\r\n    return 1 + len("😀")\r\n'
    # The emoji is two UTF-16 units: a position after it is character 22.
    s = _change(store, uri, 3, Position(1, 22), Position(1, 22), "漢字")
    assert s.text == 'def f():\r\n    return 1 + len("😀漢字")\r\n'
    # Replace a span across the CRLF.
    s = _change(store, uri, 4, Position(0, 8), Position(1, 4), "\r\n\t")
    assert s.text == 'def f():\r\n\treturn 1 + len("😀漢字")\r\n'
    assert s.version == 4


def test_several_changes_in_one_notification_apply_in_order():
    store = DocumentStore()
    uri = "file:///m.ts"
    store.open(uri, "typescript", 1, "let a = 1;\n")
    s = store.change(
        uri,
        2,
        [
            TextChange(Range(Position(0, 4), Position(0, 5)), "bee"),
            TextChange(Range(Position(0, 0), Position(0, 0)), "// 🐝\n"),
            TextChange(None, "whole\n"),
            TextChange(Range(Position(1, 0), Position(1, 0)), "tail"),
        ],
    )
    assert s.text == "whole\ntail"
    assert len(s.edits) == 4


def test_edits_carry_byte_offsets_and_points():
    store = DocumentStore()
    uri = "file:///e.go"
    store.open(uri, "go", 1, "a\n名b\n")
    s = _change(store, uri, 2, Position(1, 1), Position(1, 2), "ü😀")
    (edit,) = s.edits
    assert (edit.start, edit.old_end, edit.new_end) == (3, 4, 5)
    assert (edit.start_byte, edit.old_end_byte, edit.new_end_byte) == (5, 6, 11)
    assert (edit.start_point.row, edit.start_point.column) == (1, 3)
    assert (edit.new_end_point.row, edit.new_end_point.column) == (1, 9)


def test_change_to_unknown_document_or_backwards_range_is_a_named_error():
    store = DocumentStore()
    with pytest.raises(DocumentError, match="file:///nope"):
        store.change("file:///nope", 2, [TextChange(None, "x")])
    store.open("file:///b", "plaintext", 1, "hello")
    with pytest.raises(DocumentError, match="file:///b"):
        _change(store, "file:///b", 2, Position(0, 4), Position(0, 1), "")
    assert store.get("file:///b").text == "hello"


def test_large_file_random_edits_match_a_reference():
    rng = random.Random(7)
    lines = [f"line {i} {'é' if i % 7 == 0 else ''}{'😀' if i % 11 == 0 else ''}" for i in range(20000)]
    text = "\r\n".join(lines)
    store = DocumentStore()
    uri = "file:///big.txt"
    store.open(uri, "plaintext", 1, text)
    reference = text
    for version in range(2, 202):
        s = store.get(uri)
        a, b = sorted(rng.randrange(len(reference) + 1) for _ in range(2))
        b = min(b, a + 50)
        # Never split a CRLF or a surrogate pair: pick offsets as the editor would see them.
        start, end = s.position_at(a, U16), s.position_at(b, U16)
        a, b = s.offset_at(start, U16), s.offset_at(end, U16)
        insert = rng.choice(["x", "é", "😀", "\r\n", "", "名前"])
        reference = reference[:a] + insert + reference[b:]
        _change(store, uri, version, start, end, insert)
    assert store.get(uri).text == reference


def test_line_index_and_points_kept_incrementally_match_a_fresh_scan():
    rng = random.Random(11)
    pieces = ["a", "é", "😀", "\r", "\n", "\r\n"]
    for _ in range(1500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        store = DocumentStore()
        s = store.open("file:///f", "plaintext", 1, text)
        a = rng.randrange(len(text) + 1)
        b = rng.randrange(a, len(text) + 1)
        start, end = s.position_at(a, U16), s.position_at(b, U16)
        insert = "".join(rng.choice(pieces) for _ in range(rng.randrange(4)))
        new = store.change("file:///f", 2, [TextChange(Range(start, end), insert)])
        fresh = Snapshot("file:///f", "plaintext", 2, new.text)
        assert new.line_starts == fresh.line_starts, (text, a, b, insert)
        (edit,) = new.edits
        # Points as tree-sitter counts them: rows by "\n", columns in UTF-8 bytes.
        for point, source, offset in ((edit.start_point, s.text, edit.start), (edit.new_end_point, new.text, edit.new_end)):
            head = source[:offset]
            assert point.row == head.count("\n")
            assert point.column == len(head[head.rfind("\n") + 1 :].encode())


def test_the_documents_beside_one_are_in_its_language_most_recently_edited_first():
    store = DocumentStore()
    store.open("file:///a.py", "python", 1, "a")
    store.open("file:///b.py", "python", 1, "b")
    store.open("file:///c.js", "javascript", 1, "c")
    store.open("file:///d.py", "python", 1, "d")
    assert [s.uri for s in store.beside("file:///a.py")] == ["file:///d.py", "file:///b.py"]
    store.change("file:///b.py", 2, [TextChange(None, "bb")])
    assert [(s.uri, s.text) for s in store.beside("file:///a.py")] == [("file:///b.py", "bb"), ("file:///d.py", "d")]
    store.close("file:///b.py")
    assert [s.uri for s in store.beside("file:///d.py")] == ["file:///a.py"]
    assert store.beside("file:///not-open.py") == []


def test_the_documents_beside_one_are_those_of_its_grammar_or_of_its_kin_whatever_id_names_them():
    # A C file's header, which VS Code opens as C++; a `.jsx` tab beside a `.js` file; a TSX component's `.ts`
    # module: compared by languageId, none of them was searched.
    from infill_ls.syntax import kin

    store = DocumentStore()
    for uri, language_id in (("file:///shop.h", "cpp"), ("file:///main.c", "c"), ("file:///a.jsx", "javascriptreact"),
                             ("file:///b.js", "javascript"), ("file:///money.ts", "typescript"),
                             ("file:///Price.tsx", "typescriptreact"), ("file:///notes.md", "markdown"),
                             ("file:///todo.md", "markdown"), ("file:///x.rb", "ruby")):
        store.open(uri, language_id, 1, "x")
    assert [s.uri for s in store.beside("file:///main.c", kin)] == ["file:///shop.h"]
    assert [s.uri for s in store.beside("file:///b.js", kin)] == ["file:///a.jsx"]
    assert [s.uri for s in store.beside("file:///Price.tsx", kin)] == ["file:///money.ts"]
    assert [s.uri for s in store.beside("file:///notes.md", kin)] == ["file:///todo.md"]  # no grammar: by id
    assert store.beside("file:///x.rb", kin) == []
    assert store.beside("file:///main.c") == []  # without kin, by languageId alone


class _ScanCount:
    """Stands in for the line-break pattern and counts the characters it is asked to scan."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.scanned = 0

    def _count(self, text, pos, endpos):
        self.scanned += max(0, min(endpos, len(text)) - pos)

    def finditer(self, text, pos=0, endpos=sys.maxsize):
        self._count(text, pos, endpos)
        return self.pattern.finditer(text, pos, endpos)

    def search(self, text, pos=0, endpos=sys.maxsize):
        self._count(text, pos, endpos)
        return self.pattern.search(text, pos, endpos)


def test_a_keystroke_scans_only_the_inserted_text_for_line_breaks(monkeypatch):
    # Minified code is one line of megabytes: scanning the edited line for breaks cost a keystroke 34 ms at 5 MB.
    line = "var a=function(b){return b*2};" * 20_000
    store = DocumentStore()
    store.open("file:///m.js", "javascript", 1, line + "\r\n" + line + "\r" + line).line_starts  # indexed once
    scan = _ScanCount(documents.LINE_BREAK)
    monkeypatch.setattr(documents, "LINE_BREAK", scan)
    middle = len(line) // 2
    edits = [
        (Position(0, middle), Position(0, middle), "x"),
        (Position(1, middle), Position(1, middle + 3), "é😀\r\n"),  # a break typed into the second line
        (Position(0, len(line)), Position(0, len(line)), "\r"),  # a "\r" before the "\r\n": one more line
        (Position(3, len(line)), Position(3, len(line)), "\n"),  # a "\n" after a lone "\r": no more lines
        (Position(0, 0), Position(0, 0), "\n"),
    ]
    for version, (start, end, insert) in enumerate(edits, start=2):
        before = scan.scanned
        snapshot = _change(store, "file:///m.js", version, start, end, insert)
        assert scan.scanned - before <= len(insert) + 2  # the inserted text and a character either side
        monkeypatch.setattr(documents, "LINE_BREAK", scan.pattern)
        assert snapshot.line_starts == Snapshot("file:///m.js", "javascript", 0, snapshot.text).line_starts
        monkeypatch.setattr(documents, "LINE_BREAK", scan)


def test_inserted_lines_take_the_cursors_line_break_else_the_files_most_common():
    # A file of LF lines under one CRLF header line: its first break alone gave every fill CRLF lines, a `^M` on each
    # in an editor that does not convert them (Neovim).
    s = snap("// header\r\nfunction f() {\n  return 1;\n}\nx\r\n")
    assert s.eol() == "\n"
    assert s.eol(s.text.index("return")) == "\n"
    assert s.eol(3) == "\r\n"
    assert s.eol(len(s.text)) == "\r\n"  # the last line, which has no break: the one above's


@pytest.mark.parametrize("text, eol", [("a\r\nb\nc", "\r\n"), ("a\rb\r\n", "\r"), ("a\nb\r\n", "\n"), ("abc", "\n"),
                                        ("", "\n"), ("\r\n", "\r\n"), ("x" * 100_000 + "\r\n", "\r\n")])
def test_the_files_line_break_is_read_from_the_line_index_without_a_scan(monkeypatch, text, eol):
    s = snap(text)
    s.line_starts  # noqa: B018 - indexed once, as every snapshot from the store is
    scan = _ScanCount(documents.LINE_BREAK)
    monkeypatch.setattr(documents, "LINE_BREAK", scan)
    assert s.eol() == eol
    assert scan.scanned == 0


def test_a_document_past_the_parsed_size_is_plain_text_until_it_is_back_under_it(monkeypatch):
    from infill_ls import syntax

    text = "def f(x):\n    return x\n"
    monkeypatch.setattr(syntax, "PARSED_CHARS", len(text))
    store, index = DocumentStore(), syntax.SyntaxIndex()
    snapshot = store.open("file:///big.py", "python", 1, text)
    index.opened(snapshot)
    assert index.parse(snapshot).tree is not None
    grown = store.change("file:///big.py", 2, [TextChange(None, text + "# more\n")], PositionEncoding.UTF16)
    index.changed(grown)
    assert index.parse(grown).tree is None and index.pending_edits("file:///big.py") == 0
    back = store.change("file:///big.py", 3, [TextChange(None, text)], PositionEncoding.UTF16)
    index.changed(back)
    parsed = index.parse(back)
    assert parsed.tree is not None and parsed.tree.root_node.text.decode() == text


def _random_position(rng, s: Snapshot, encoding) -> Position:
    """Anywhere, as a client might send it: inside a surrogate pair or a CRLF, past a line's end or the last line."""
    if rng.random() < 0.7:
        return s.position_at(rng.randrange(len(s.text) + 1), encoding)
    return Position(rng.randrange(-1, s.line_count + 2), rng.randrange(-1, 12))


def _replace_all(rng, s: Snapshot, encoding, count: int) -> list[TextChange]:
    """Changes that each end before the one before it, last first, as an editor's Replace All sends them; some with
    a range that runs on to the next line, or inserts at the very start of the one before."""
    offsets = sorted(rng.sample(range(len(s.text) + 1), min(2 * count, len(s.text) + 1)), reverse=True)
    changes = []
    for end, start in zip(offsets[::2], offsets[1::2]):
        changes.append(TextChange(Range(s.position_at(start, encoding), s.position_at(end, encoding)),
                                  "".join(rng.choice(["x", "é", "😀", "\r", "\n", "\r\n", ""]) for _ in range(3))))
    return changes


@pytest.mark.parametrize("encoding", [U16, U8, U32])
def test_many_changes_made_at_once_match_them_made_one_by_one(encoding):
    rng = random.Random(5)
    pieces = ["a", "bc", "é", "名", "😀", "\r", "\n", "\r\n", " "]
    for round_ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60)))
        one_by_one, at_once = DocumentStore(), DocumentStore()
        s = one_by_one.open("file:///f", "plaintext", 1, text)
        at_once.open("file:///f", "plaintext", 1, text)
        if round_ % 2:
            changes = _replace_all(rng, s, encoding, rng.randrange(1, 12))
        else:  # anywhere, in any order, a whole-text replacement among them
            changes = [TextChange(None, "".join(rng.choice(pieces) for _ in range(8))) if rng.random() < 0.05
                       else TextChange(Range(_random_position(rng, s, encoding), _random_position(rng, s, encoding)),
                                       "".join(rng.choice(pieces) for _ in range(rng.randrange(4))))
                       for _ in range(rng.randrange(1, 8))]
        try:
            expected = one_by_one.change("file:///f", 2, changes, encoding)
        except DocumentError as error:
            with pytest.raises(DocumentError, match=str(error).replace("(", r"\(").replace(")", r"\)")):
                at_once.change("file:///f", 2, changes, encoding, edits_wanted=False)
            continue
        got = at_once.change("file:///f", 2, changes, encoding, edits_wanted=False)
        assert got.text == expected.text, (text, changes)
        assert got.line_starts == expected.line_starts and got.edits == ()
        # A few changes are made one by one without their edits; more are spliced: both ways, whatever the count.
        assert documents._applied(s, changes, encoding) == expected.text, (text, changes)


def test_a_replace_all_is_spliced_in_once_not_a_text_per_change(monkeypatch):
    text = "".join(f"self.v{i} = self.w{i} + 'é😀'\r\n" for i in range(2000))
    store = DocumentStore()
    s = store.open("file:///big.py", "python", 1, text)
    changes = [TextChange(Range(s.position_at(m, U16), s.position_at(m + 4, U16)), "this")
               for m in reversed([i for i in range(len(text)) if text.startswith("self", i)])]
    splices = []
    splice = documents._splice
    monkeypatch.setattr(documents, "_splice", lambda *args: splices.append(1) or splice(*args))
    monkeypatch.setattr(documents, "_apply", None)  # no edit, no snapshot per change
    new = store.change("file:///big.py", 2, changes, U16, edits_wanted=False)
    assert new.text == text.replace("self", "this") and len(splices) == 1
    # Matches that touch (8-space indents to tabs): each change ends where the one before it starts.
    text = "".join(f"        v{i} = 'é😀'\n" for i in range(2000))
    s = store.open("file:///touching.py", "python", 1, text)
    changes = [TextChange(Range(Position(line, c), Position(line, c + 4)), "\t")
               for line in reversed(range(2000)) for c in (4, 0)]
    splices.clear()
    new = store.change("file:///touching.py", 2, changes, U16, edits_wanted=False)
    assert new.text == text.replace("    ", "\t") and len(splices) == 1


def test_a_keystroke_in_a_text_too_long_to_parse_works_out_no_edit_and_keeps_the_line_starts(monkeypatch):
    from infill_ls.service import InfillService
    from infill_ls.settings import Settings
    from infill_ls.syntax import PARSED_CHARS

    text = "s = 'é'\n" * (PARSED_CHARS // 8 + 1)
    service = InfillService(Settings())
    try:
        service.open("file:///long.py", "python", 1, text)
        # An edit's byte offsets encode the text up to it: in megabytes with any non-ASCII, tens of milliseconds.
        monkeypatch.setattr(Snapshot, "byte_offset", None)
        service.change("file:///long.py", 2, [TextChange(Range(Position(3, 0), Position(3, 0)), "x")], U16)
        snapshot = service.documents.get("file:///long.py")
        assert snapshot.edits == () and snapshot.known_line_starts is not None
        assert snapshot.text == text[:24] + "x" + text[24:]
    finally:
        service.shutdown()


def test_a_batch_of_more_changes_than_a_tree_takes_leaves_the_tree_parsed_afresh():
    from infill_ls.service import InfillService
    from infill_ls.settings import Settings
    from infill_ls.syntax import MAX_PENDING_EDITS, language_for, parse_text

    text = "".join(f"def f{i}(self):\n    return self.x{i}\n" for i in range(MAX_PENDING_EDITS))
    service = InfillService(Settings())
    try:
        uri = "file:///many.py"
        service.open(uri, "python", 1, text)
        s = service.documents.get(uri)
        assert service.syntax.parse(s).tree is not None
        changes = [TextChange(Range(s.position_at(m, U16), s.position_at(m + 4, U16)), "this")
                   for m in reversed([i for i in range(len(text)) if text.startswith("self", i)])]
        assert len(changes) > MAX_PENDING_EDITS
        service.change(uri, 2, changes, U16)
        new = service.documents.get(uri)
        assert new.text == text.replace("self", "this")
        fresh = parse_text(language_for("python", uri), new.text)
        assert str(service.syntax.parse(new).tree.root_node) == str(fresh.root_node)
    finally:
        service.shutdown()


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]


def _utf16_text(units: list[int]) -> str:
    return b"".join(u.to_bytes(2, "little") for u in units).decode("utf-16-le", "surrogatepass")


def _utf16_change(text: str, start: Position, end: Position, new: str) -> str:
    """`text` with a change made as a client that holds its text as UTF-16 makes it: unit by unit, so a range may
    cut a surrogate pair in two and halves that meet are one character again."""
    units = _utf16_units(text)
    line_starts = [0] + [i + 1 for i, u in enumerate(units) if u == ord("\n")]

    def index(p: Position) -> int:
        line_end = line_starts[p.line + 1] - 1 if p.line + 1 < len(line_starts) else len(units)
        return min(line_starts[p.line] + p.character, line_end)

    return _utf16_text(units[:index(start)] + _utf16_units(new) + units[index(end):])


@pytest.mark.parametrize("text, start, end, new, expected", [
    # One emoji made another by a client that diffs UTF-16 strings: only the half that differs is sent.
    ("x='😀' z\n", 3, 4, "\ud83e", "x='\U0001FA00' z\n"),
    ("x='😀' z\n", 4, 5, "\ude03", "x='😃' z\n"),
    ("x='😀' z\n", 4, 4, "ab", "x='\ud83dab\ude00' z\n"),  # typed between the halves: both stay, apart
    ("x='😀😀' z\n", 4, 6, "", "x='😀' z\n"),  # the second half of one and the first of the next
    ("a\ud83d|\ude00b", 2, 3, "", "a😀b"),  # lone halves that meet once the text between them goes
])
def test_a_change_that_splits_a_surrogate_pair_leaves_the_clients_text(text, start, end, new, expected):
    assert _utf16_change(text, Position(0, start), Position(0, end), new) == expected
    store = DocumentStore()
    store.open("file:///s.py", "python", 1, text)
    s = _change(store, "file:///s.py", 2, Position(0, start), Position(0, end), new)
    assert s.text == expected
    (edit,) = s.edits
    assert s.char_offset(edit.new_end_byte) == edit.new_end
    assert s.position_at(s.line_end(0), U16).character == len(_utf16_units(expected.split("\n")[0]))


def test_changes_that_cut_surrogate_pairs_match_the_clients_text_one_by_one_and_at_once():
    rng = random.Random(3)
    pieces = ["a", "é", "😀", "🪀", "\ud83e", "\ude03", "\ud83d", "\ude00", "\n", ""]
    for _ in range(600):
        # As JSON reads them: halves that meet are one character.
        client = _utf16_text(_utf16_units("".join(rng.choice(pieces) for _ in range(rng.randrange(1, 14)))))
        first = Snapshot("file:///f", "plaintext", 1, client)
        one_by_one, at_once = DocumentStore(), DocumentStore()
        one_by_one.open("file:///f", "plaintext", 1, client)
        at_once.open("file:///f", "plaintext", 1, client)
        changes = []
        for _ in range(rng.randrange(1, 14)):
            lines = client.split("\n")
            line = rng.randrange(len(lines))
            width = len(_utf16_units(lines[line]))
            a, b = sorted(rng.randrange(width + 1) for _ in range(2))
            b_line = line if rng.random() < 0.8 else min(line + 1, len(lines) - 1)
            start, end = Position(line, a), Position(b_line, b if b_line == line else rng.randrange(2))
            new = _utf16_text(_utf16_units("".join(rng.choice(pieces) for _ in range(rng.randrange(3)))))
            client = _utf16_change(client, start, end, new)
            changes.append(TextChange(Range(start, end), new))
        s = one_by_one.change("file:///f", 2, changes, U16)
        assert s.text == client, changes
        assert s.line_starts == Snapshot("file:///f", "plaintext", 2, client).line_starts
        assert at_once.change("file:///f", 2, changes, U16, edits_wanted=False).text == client, changes
        assert documents._applied(first, changes, U16) == client, changes  # spliced, whatever the count


@pytest.mark.parametrize("step", [1, 2, 3, 7, documents.BYTE_MARK_STEP])
def test_byte_offsets_from_the_marks_are_those_of_the_text_encoded_before_them(monkeypatch, step):
    # Marks every `step` code points, asked for in any order: astral characters, a surrogate pair and lone halves
    # (three bytes each, as `surrogatepass` writes them), CRLF and lone CR breaks, each across a mark.
    monkeypatch.setattr(documents, "BYTE_MARK_STEP", step)
    rng = random.Random(step)
    pieces = ["a", "é", "€", "😀", "\ud83d\ude00", "\ud83d", "\ude00", "\r\n", "\r", "\n", "名"]
    for _ in range(20):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 3 * step + 40)))
        s = snap(text + "é")  # not ASCII, whatever was drawn
        offsets = [*range(-2, 3), *range(len(s.text) - 2, len(s.text) + 3),
                   *(k * step + d for k in range(len(s.text) // step + 1) for d in (-1, 0, 1))]
        offsets = rng.sample(offsets, min(len(offsets), 200)) + [rng.randrange(len(s.text)) for _ in range(50)]
        for offset in offsets:
            assert s.byte_offset(offset) == len(s.text[:offset].encode("utf-8", "surrogatepass")), (text, offset)
        # And back: a byte offset, inside a character too (that one not counted), past the end, from the end.
        data = s.text.encode("utf-8", "surrogatepass")
        fresh = snap(s.text)  # its marks found by the byte offsets asked for alone
        ends = [*range(-3, 3), *range(len(data) - 3, len(data) + 3)]
        for byte in ends + [rng.randrange(len(data)) for _ in range(80)]:
            assert fresh.char_offset(byte) == documents._utf8_chars(data[:byte]), (text, byte)
            assert s.char_offset(byte) == documents._utf8_chars(data[:byte]), (text, byte)
