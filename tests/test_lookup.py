"""Fills the file already spells out: engine.lookup on its own, and as the engine offers them."""

from __future__ import annotations

import pytest

from engine.infill import InfillEngine
from engine.lookup import ELSEWHERE_CHARS, ELSEWHERE_FILE_CHARS, MAX_OCCURRENCES, SEARCH_CHARS, _occurrences, lookup_fills
from engine.tiny import write_random_checkpoint


def test_the_fill_between_the_same_key_and_head_elsewhere_in_the_file():
    before, after = "x = self.compute(a, b)\nprint(x)\ny = self.compute(", ")\nprint(y)\n"
    fills = lookup_fills(before, after)
    assert [f.text for f in fills] == ["a, b"]
    # " = self.compute(" is the longest key tried that occurs elsewhere; one place spells the fill out.
    assert fills[0].key_chars == 16 and fills[0].votes == 1


def test_the_longest_key_decides_then_the_most_places():
    before, after = "a = f(1)\nb = f(2)\nb = f(2)\nx, some_value.b = f(3)\ny, some_value.b = ", "\n"
    fills = lookup_fills(before, after, limit=3)
    # " some_value.b = " occurs once more, before f(3); the shorter "b = " finds f(2) twice and f(3) once.
    assert [(f.text, f.key_chars, f.votes) for f in fills] == [("f(3)", 16, 1), ("f(2)", 4, 2)]
    assert lookup_fills(before, after, limit=1) == fills[:1]


def test_nothing_is_offered_without_a_bridge_or_with_a_short_key():
    assert lookup_fills("x = 1\n    y = ", "\n") == []  # neither "y = " nor a line so indented is anywhere else
    assert lookup_fills("ab", "\n") == []  # shorter than any key
    assert lookup_fills("value = compute(\n", "") == []  # no text after the hole: nothing ends a fill
    # A fill is one line: the key's other occurrence reaches the head only on the next line.
    assert lookup_fills("total = (1 +\n  2)\nsum = (", ")\n") == []
    # Key and head side by side elsewhere: nothing between them to offer.
    assert lookup_fills("items = []\nitems = ", "[]\n") == []


def test_the_text_just_before_the_hole_is_never_offered():
    # "(x, " occurs once more, and what follows it up to the head is the text typed just before the hole.
    assert lookup_fills("f(x, f(x, ", ")\n") == []


def test_a_key_of_indentation_alone_offers_no_line():
    # After Enter the key is the new line's indentation, which starts the line just typed: a bridge on it would offer
    # that line again, and indentation starts nearly every line.
    assert lookup_fills("def total(xs):\n    s = 0\n    ", "\n") == []
    assert lookup_fills("class Cart {\n    int total() {\n        int sum = 0;\n        ", "\n    }\n}\n") == []
    # Elsewhere too: another file's indented lines are no evidence for this one.
    assert lookup_fills("if a:\n    s = 0\n        ", "\n", elsewhere=["if b:\n        y = 1\n"]) == []


def test_a_line_of_the_same_shape_offers_its_fill_with_the_words_renamed():
    before = "class A:\n    def __init__(self, args, kwargs):\n        self.args = args\n        self.kwargs = "
    fills = lookup_fills(before, "\n")
    # "        self.args = args" reads as the hole's line with its last word free, and repeats that word.
    assert (fills[0].text, fills[0].free_words, fills[0].votes) == ("kwargs", 1, 1)
    # The key "s = " finds the copy as it stands, ranked below the line's shape.
    assert (fills[1].text, fills[1].free_words) == ("args", 0)


def test_line_shapes_vote_and_follow_the_head():
    before = "    def test_a(self):\n        pass\n\n    def test_b(self):\n        pass\n\n    def test_c("
    assert [(f.text, f.votes) for f in lookup_fills(before, "):\n        pass\n")] == [("self", 2)]


def test_a_line_of_the_same_shape_completes_the_word_being_typed():
    tests = "def test_total(cart):\n    assert cart.total == 3\n    assert cart.user is None\n\n\n"
    # The cursor stands inside `basket.u`: the line whose word there starts so completes it, its other free word
    # renamed; `cart.total == 3`, whose word does not, offers no ` == 3` to write after the `u`.
    fills = lookup_fills(tests + "def test_user(basket):\n    assert basket.u", "\n")
    assert [(f.text, f.free_words) for f in fills] == [("ser is None", 2)]
    assert lookup_fills(tests + "def test_size(basket):\n    assert basket.s", "\n") == []
    # A word the file has whole elsewhere may be written out: the other line's word there is renamed to it.
    assert [f.text for f in lookup_fills("total = add(price, tax)\nshipping = 5\nresult = add(shipping", ")\n")] == [
        ", tax"]


def test_a_long_key_outranks_a_line_shape_and_a_bare_shape_is_not_tried():
    before, after = "if a:\n    x = 1\nif b:\n    x = 2\nif a:\n    x = ", "\n"
    # " a:\n    x = " is a 12-character key spelled out once, after the same condition; the line alone is shaped
    # like both assignments and offers the nearest.
    assert [(f.text, f.free_words) for f in lookup_fills(before, after)] == [("1", 0), ("2", 1)]
    # With its one word free, "    return " would be bare indentation and a space, the shape of nearly any line.
    assert lookup_fills("    value = 1\n    return ", "\n") == []


def test_other_files_fill_what_the_file_leaves_open_and_never_outvote_it():
    before, after = "total = add(", ")\n"
    other = "a = add(x, y)\nb = add(x, y)\nc = add(x, y)\n"
    # Nothing in the file itself: the other file's places are found with the hole's own key and head.
    assert [(f.text, f.votes) for f in lookup_fills(before, after, elsewhere=[other])] == [("x, y", 3)]
    # The file's one place comes first, though the other file spells out another fill three times.
    mine = "first = add(p, q)\n" + before
    assert [f.text for f in lookup_fills(mine, after, elsewhere=[other])] == ["p, q", "x, y"]
    assert [f.text for f in lookup_fills(mine, after, limit=1, elsewhere=[other])] == ["p, q"]
    # A line of the same shape in another file offers its fill, renamed, as one in the file does.
    before = "class B:\n    def __init__(self, args, kwargs):\n        self.kwargs = "
    assert lookup_fills(before, "\n", elsewhere=["        self.args = args\n"])[0].text == "kwargs"


def test_a_strong_find_in_another_file_ranks_above_a_weak_one_in_the_file():
    mine, after = "import os\nimport sys\nfrom typing import ", "\n\n\ndef f(x: Any):\n    return x\n"
    # The file's own `import ` lines match a short key only; the other file repeats the hole's whole line.
    fills = lookup_fills(mine, after, elsewhere=["from typing import Any\n"])
    assert [(f.text, f.elsewhere) for f in fills] == [("Any", True), ("os", False), ("sys", False)]
    assert fills[0].key_chars >= 12 and fills[1].key_chars < 12
    # Of two fills found as surely and as near, the shorter first.
    assert [f.text for f in lookup_fills(mine, after)] == ["os", "sys"]
    # A name the file never uses is the other file's business: it weighs less than one the file uses, found as
    # surely and as near, the first, in another file.
    fills = lookup_fills(mine, after, elsewhere=["from typing import Set\n", "from typing import Any\n"])
    assert [(f.text, f.unfamiliar) for f in fills[:2]] == [("Any", False), ("Set", True)]


def test_other_files_are_searched_in_order_up_to_a_bound_of_each_and_in_all():
    before, after = "total = add(", ")\n"
    near, far = "a = add(x, y)\n", "a = add(u, v)\n"
    assert [f.text for f in lookup_fills(before, after, elsewhere=[near, far])] == ["x, y", "u, v"]
    filler = "#" * (ELSEWHERE_FILE_CHARS - 1) + "\n"
    # The end of a file past its own bound is not read; one large file leaves room for the next.
    assert lookup_fills(before, after, elsewhere=[filler + near]) == []
    assert [f.text for f in lookup_fills(before, after, elsewhere=[filler * 10, near])] == ["x, y"]
    # Past the bound in all, a file is not read at all, nor the end of one that crosses it.
    full = ELSEWHERE_CHARS // ELSEWHERE_FILE_CHARS
    assert lookup_fills(before, after, elsewhere=[filler] * full + [near]) == []
    half = filler[:ELSEWHERE_FILE_CHARS // 2]
    assert lookup_fills(before, after, elsewhere=[filler] * (full - 1) + [half, half[:-5] + near]) == []
    assert [f.text for f in lookup_fills(before, after, elsewhere=[filler] * (full - 1) + [near])] == ["x, y"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return InfillEngine.load(write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model", seed=3),
                             device="cpu", dtype="float32")


def test_the_engine_offers_the_files_fill_before_the_models(engine):
    before, after = "x = self.compute(a, b)\nprint(x)\ny = self.compute(", ")\nprint(y)\n"
    model = engine.infill(before, after, max_tokens=8, num_candidates=2)
    found = engine.infill(before, after, max_tokens=8, num_candidates=2, around=(before, after))
    assert (found[0].text, found[0].source) == ("a, b", "file")
    # The model still ran: its candidates follow, with its steps and confidence carried by the copy.
    assert [c for c in found if c.source == "model"] == [c for c in model if c.text != "a, b"]
    assert found[0].steps == model[0].steps and found[0].confidence == model[0].confidence
    # The model did not write the copy back, so its steps count the model's own fill (test_evaluate has both cases).
    assert found[0].tokens_per_forward == model[0].tokens_per_forward
    # The hole's token budget holds for a copy too.
    assert engine.count_tokens("a, b") > 1
    assert all(c.source == "model" for c in engine.infill(before, after, max_tokens=1, around=(before, after)))


def test_the_engine_reads_the_files_beside_only_when_the_lookup_asks_for_them(engine):
    from infill_ls.neighbors import Gathered

    calls = []

    def gather():
        calls.append(1)
        return ("p = add(1, 2)\n",), None

    # The file repeats the hole's whole line: nothing beside it can rank above that. The texts converted to LF line
    # breaks all at once, before the lookup ran, listed and read the directory on every such keystroke.
    line = "result = compute_the_total_of(first_argument, "
    before, after = f"{line}1)\n{line}1)\nprint(result)\n{line}", ")\n"
    assert [(c.text, c.source) for c in engine.copies(before, after, elsewhere=Gathered(gather))] == [("1", "file")]
    assert calls == []
    # Where the file's own finds leave room, they are read.
    found = engine.copies("total = add(", ")\n", max_tokens=24, elsewhere=Gathered(gather))
    assert [(c.text, c.source) for c in found] == [("1, 2", "beside")] and calls == [1]


def test_a_name_being_typed_is_not_continued_into_its_own_assignment():
    # `by_r` inside a call finds `by_region` where it is assigned: the rest of that line, accepted, would make the
    # argument a keyword argument (`print(by_region = sales.groupby(...))`), which parses.
    assigned = "sales = load()\nby_region = sales.groupby('region').sum()\n"
    assert lookup_fills(assigned + "print(by_r", "\n") == []
    assert lookup_fills(assigned + "print(by_r", ")\n") == []
    assert lookup_fills("values = [1, 2, 3]\ntotal = sum(values", "\n") == []
    # An argument on a line of its own, as an editor lays out a call split across lines.
    assert lookup_fills("regions = sorted(names)\nreport = build(\n    sales, regi", "\n)\n") == []
    assert lookup_fills("regions = sorted(names)\nreport = build(\n    regi", "\n)\n") == []
    # Augmented assignments, `:=`, annotations and definitions bind the name too.
    assert lookup_fills("count += len(items)\nprint(coun", "\n") == []
    assert lookup_fills("if (count := len(items)) > 3:\n    print(coun", "\n") == []
    assert lookup_fills("by_region: Series = group(sales)\nshow(by_r", "\n") == []
    assert lookup_fills("def by_region(frame):\n    return frame\nprint(by_r", ")\n") == []
    # Another file's assignment is no better evidence.
    assert lookup_fills("print(1)\nshow(by_r", ")\n", elsewhere=["by_region = group(sales)\n"]) == []
    # A declaration binds it after its word, and a statement after a `;` begins where a line does: neither is what
    # follows the name as a value, after `return` or `=`.
    declared = "class Store {\n  static load(json) {\n    const store = new Store();\n    store.id = 1;\n"
    assert lookup_fills(declared + "    return sto", "\n  }\n}\n") == []
    assert lookup_fills(declared + "    let copy = sto", "\n  }\n}\n") == []
    assert lookup_fills("s = 'ab'; total = compute_total(a, b)\ns = 'ab'; total = compute_total", "\n") == []


def test_a_name_being_typed_where_it_was_assigned_or_used_is_still_continued():
    # At the start of a statement, at any indentation, the assignment may well be written again.
    assert [f.text for f in lookup_fills("by_region = group(sales)\nprint(1)\nby_r", "\n")] == ["egion = group(sales)"]
    assert [f.text for f in lookup_fills("by_region = group(sales)\nif a:\n    by_r", "\n")] == ["egion = group(sales)"]
    # A call made as a statement reads as well in an expression, and a defined name is completed up to the head.
    assert [f.text for f in lookup_fills("    process(data)\nresult = proc", "\n")] == ["ess(data)"]
    assert [f.text for f in lookup_fills("def by_region(frame):\n    return frame\nx = by_r", "(sales)\n")] == ["egion"]
    # A comparison binds nothing, nor an assignment the name is only part of, nor a parameter's annotation, which
    # ends at its comma.
    assert "t == 3" in [f.text for f in lookup_fills("check(count == 3)\nshow(coun", ")\n")]
    assert "ne = None" in [f.text for f in lookup_fills("x: str | None = None\ny: int | No", "\n")]
    signature = "def ljust(self, width: int, fill: str = ' '):\n    pass\ndef rjust(self, wi"
    assert lookup_fills(signature, "\n")[0].text == "dth: int, fill: str = ' '):"
    # A keyword argument fits another argument list, on the call's line or one of its own.
    assert "en=token" in [f.text for f in lookup_fills("f(a, token=token)\ng(b, tok", ")\n")]
    assert [f.text for f in lookup_fills("f(\n    token=token,\n)\ng(\n    tok", "\n)\n")] == ["en=token,"]
    # A declaration where one is written, after the same word or another (a type).
    declared = "class Store {\n  static load(json) {\n    const store = new Store();\n  }\n  static copy() {\n"
    assert [f.text for f in lookup_fills(declared + "    const sto", "\n  }\n}\n")] == ["re = new Store();"]
    assert [f.text for f in lookup_fills("int count = 0;\nvoid f() {\n  long coun", "\n}\n")] == ["t = 0;"]
    # A definition where a definition is written.
    assert [f.text for f in lookup_fills("class A:\n    def by_region(self, frame):\n        pass\nasync def by_r",
                                         "\n")] == ["egion(self, frame):"]


def test_a_header_line_takes_the_opening_of_the_definition_a_name_is_found_at():
    # The name typed is a return type or the type an `impl` is for, found where it is defined: what follows it there
    # opens its block, as it opens the block of the header being written.
    box = "export interface Box {\n  width: number;\n}\n\nexport function makeBox(width: number): Box "
    assert _texts(box, "\n  return { width };\n}\n") == ["{"]
    counter = "struct Counter {\n    n: u32,\n}\n\nimpl Counter "
    assert _texts(counter, "\n    fn bump(&mut self) { self.n += 1; }\n}\n") == ["{"]
    # A parameter being typed is not carried into the definition of its name.
    assert _texts("def by_region(frame):\n    return frame\n\ndef report(sales, by_r", "):\n") == []


def test_a_comma_outside_brackets_lists_names_a_statement_binds():
    # A declaration list: `in_` takes the assignment it is written with below, not the model's guess.
    count = ("int count(const char *s)\n{\n    int n = 0, in_", "\n    for (; *s; s++) {\n        if (*s == ' ') {\n"
             "            in_word = 0;\n        } else if (!in_word) {\n            in_word = 1;\n            n++;\n"
             "        }\n    }\n    return n;\n}\n")
    assert _texts(*count)[0] == "word = 0;"
    assert _texts("    total = 0;\n    let i = 0, tota", "\n") == ["l = 0;"]
    # A comma inside a call, on its line or on a line of the call's own, is still an argument's.
    assert _texts("by_region = group(sales)\nshow(sales, by_r", ")\n") == []
    assert _texts("by_region = group(sales)\nshow(\n    sales,\n    total, by_r", "\n)\n") == []
    # Nor does a `return` list name what it binds.
    assert _texts("by_region = group(sales)\nreturn total, by_r", "\n") == []


def _texts(before: str, after: str) -> list[str]:
    return [f.text for f in lookup_fills(before, after)]


def test_a_closer_the_bracket_open_at_the_hole_does_not_take_is_not_offered():
    # A case label: the `)` of the call above it closes nothing the line opened.
    switch = ("func status(w http.ResponseWriter, code int) {\n\tw.WriteHeader(http.StatusNoContent)\n"
              "\tswitch code {\n\tcase http.StatusNotFound:\n\t\treturn\n\tcase http.StatusNoC")
    assert "ontent)" not in _texts(switch, "\n\t}\n}\n")
    # A condition, where the name was read inside a list, or in a signature.
    restock = "def restock(items):\n    flags = [item.needs_reorder()]\n    for item in items:\n        if item.nee"
    assert _texts(restock, "\n") == []
    assert _texts("@app.get('/u/<int:user_id>')\ndef user_notes(user_id: int):\n    user = current_user()\n"
                  "    if user.id != user_", "\n") == []
    # JSX text inside `return (`: the `}` of an object elsewhere is not this place's to close.
    todo = ("function TodoItem({ todo, setTodo }) {\n  const toggle = () => setTodo({ ...todo, done: !todo.done });\n"
            "  return (\n    <div>\n      <button onClick={toggle}>Clear don")
    assert _texts(todo, "\n    </div>\n  );\n}\n") == []
    # A closer that closes the bracket open at the hole is kept, and so are brackets the fill opens and closes.
    assert _texts("total = add(a, b)\nresult = add(a, b", "\n") == [")"]
    assert _texts("items = [Item(name='x')]\nmore = [Ite", "\n") == ["m(name='x')]"]
    # In a string the fill ends, a bracket is text: the `[` typed in it is none to close, the fill's `]` none either.
    assert _texts("print(\"items [%d]\", n)\nlog(\"items [", "\n") == ["%d]\", n)"]
    # Nor is one in a docstring, whose prose a bracket opened a line above may close.
    doc = ('def f(values):\n    """Sum the values (all\n    of them) and return it.\n\n'
           "    Sum the values (all\n    of th")
    assert _texts(doc, '\n    """\n    return sum(values)\n') == ["em) and return it."]


def test_a_fill_that_repeats_the_line_next_to_it_is_not_offered():
    # An import, a match arm, a dictionary's key: each the line just above, written again.
    # (The import two lines up is not offered either: its block has it, `test_a_declaration_already_in_its_block...`.)
    assert _texts("import java.util.Map;\nimport java.util.List;\nimport ", "\n\npublic class A {}\n") == []
    arms = ("fn area(shape: Shape) -> f64 {\n    match shape {\n        Shape::Circle(r) => r * r * 3.14,\n"
            "        Shape::Square(s) => s * s,\n        Shape::Sq")
    assert "uare(s) => s * s," not in _texts(arms, "\n    }\n}\n")
    assert 'rt": 8080,' not in _texts('config = {\n    "host": "localhost",\n    "port": 8080,\n    "po', "\n}\n")
    # The line below counts too, past blank lines.
    assert _texts("import java.util.List;\nimport java.util.Map;\nimport ", "\n\nimport java.util.List;\n") == []
    # A short line (a closer, `pass`) is written again often enough.
    assert _texts("a(() => {\n  b(() => {\n    c();\n  });\n});\nx(() => {\n  y(() => {\n    z();\n  });\n}",
                  "\n") == [");"]
    # Nor is a closing tag alone: nested elements close line after line.
    page = ("const A = () => (\n  <div>\n    <div>\n      <p>a</p>\n    </div>\n  </div>\n);\n"
            "const B = () => (\n  <div>\n    <div>\n      <p>b</p>\n    </div>\n  </")
    assert _texts(page, "\n);\n") == ["div>"]


def test_where_the_file_mostly_ends_the_line_after_the_key_nothing_is_offered():
    guard = "\tif a {\n\t\treturn\n\t}\n"
    found = "\tif b {\n\t\treturn \"ok\"\n\t}\n"
    # Three bare `return`s against one `return "ok"`: the file says the line ends here.
    assert lookup_fills("func f() {\n" + guard * 3 + found + "\tif c {\n\t\treturn", "\n\t}\n}\n") == []
    # Where the fill is found in more places, it is offered.
    assert [(f.text, f.votes) for f in lookup_fills("func f() {\n" + guard + found * 2 + "\tif c {\n\t\treturn",
                                                    "\n\t}\n}\n")] == [(' "ok"', 2)]
    # Another file's places never vote with the file's, for nothing either.
    assert [f.text for f in lookup_fills("func g() {\n\tif c {\n\t\treturn", "\n\t}\n}\n",
                                         elsewhere=["func f() {\n" + guard * 3 + found])] == [' "ok"']


def test_a_definition_header_already_in_its_block_is_not_offered():
    tests = ("def test_total_is_summed(cart):\n    assert cart.total() == 3\n\n\ndef test_currency_is_kept(cart):\n"
             "    assert cart.currency == 'EUR'\n\n\ndef test_")
    assert "currency_is_kept(cart):" not in _texts(tests, "\n")
    assert "total_is_summed(cart):" not in _texts(tests, "\n")
    assert _texts("func (s *Server) Routes() *http.ServeMux {\n\treturn s.mux\n}\n\nfunc (s *Server) ", "\n") == []
    # Below the hole too, and after a modifier.
    assert _texts("export async function ", "\n}\n\nexport async function load(id) {\n}\n") == []
    # The same header in another block (another class's method) is what this block may well need.
    assert _texts("class A:\n    def size(self):\n        return 1\n\n\nclass B:\n    def si", "\n")[0] == "ze(self):"


def test_a_header_split_across_lines_takes_the_opening_its_earlier_header_has():
    # The name typed on a header's last line is found where it is defined: the opening of its block comes with it
    # where the file's earlier header of that shape (`  ): Summary {`) has one, the definition in the file or beside.
    types = "export interface Status {\n  ok: boolean;\n}\n\n"
    widget = ("export class Widget {\n  render(\n    props: Props,\n  ): Summary {\n    return view(props);\n  }\n\n"
              "  update(\n    props: Props,\n  ): ")
    after = "\n    return next(props);\n  }\n}\n"
    assert _texts(types + widget + "Sta", after) == ["tus {"]
    beside = [types]
    assert [f.text for f in lookup_fills(widget + "Stat", after, elsewhere=beside)] == ["us {"]
    assert [f.text for f in lookup_fills(widget + "Status", after, elsewhere=beside)] == [" {"]
    # Where that line has none (a signature, ended by `;`), the definition's `{` is not offered.
    api = ("export interface Api {\n  render(\n    props: Props,\n  ): Summary;\n\n  update(\n    props: Props,\n"
           "  ): Sta")
    assert "tus {" not in _texts(types + api, "\n}\n")
    trait = ("struct View {\n    text: String,\n}\n\ntrait Render {\n    fn render(\n        &self,\n"
             "    ) -> Summary;\n\n    fn update(\n        &mut self,\n    ) -> Vi")
    assert _texts(trait, "\n}\n") == []


def test_a_statement_copied_into_a_header_it_begins_does_not_end_that_header():
    # `if stat, ok := c.m[key]` ends the `if` where the statement ended its line: the header still needs its
    # condition and block. The other header's copy, whose line is a header too, still comes.
    go = ("func (c *Cache) Get(key string) (os.FileInfo, bool) {\n\tstat, ok := c.m[key]\n\treturn stat, ok\n}\n\n"
          "func describe(x any) string {\n\tif v, ok := x.(fmt.Stringer); ok {\n\t\treturn v.String()\n\t}\n"
          "\treturn \"\"\n}\n\nfunc (c *Cache) Size(key string) int64 {\n")
    after = "\n\t\treturn stat.Size()\n\t}\n\treturn 0\n}\n"
    assert _texts(go + "\tif stat, ok", after) == [" := x.(fmt.Stringer); ok {"]
    assert _texts(go + "\tif stat, ok :", after) == ["= x.(fmt.Stringer); ok {"]
    assert _texts(go + "\tif stat, ok := ", after) == ["x.(fmt.Stringer); ok {"]
    assert "k := c.m[key]" not in _texts(go + "\tfor stat, o", after)
    # Where the statement is written on its own line, it is copied as it stands.
    assert _texts(go + "\tstat, ok", "\n\tif !ok {\n\t\treturn 0\n\t}\n}\n")[0] == " := c.m[key]"
    # After a header whose condition is written, a statement on the same line is the header's body.
    assert _texts("p = malloc(n);\nreturn NULL;\n}\nif (!p) return NU", "\n") == ["LL;"]
    # Where the header's line goes on after the hole, the copy need not end it.
    assert _texts("    check(a, b);\n    if (check(a", ")) {\n        go();\n    }\n") == [", b"]


def test_a_declaration_already_in_its_block_is_not_offered():
    # Two Enters after a top-level `}`: the key `}\n\n` finds the line after another top-level `}`, a declaration
    # the file already has. Offered again word for word, it declares the name twice.
    go = ('package ledger\n\nimport "errors"\n\ntype Entry struct {\n\tAccount string\n}\n\n'
          'var ErrEmpty = errors.New("empty")\n\nfunc (e Entry) Name() string {\n\treturn e.Account\n}\n\n')
    assert _texts(go, "\n\nfunc Other() {}\n") == []
    rust = ("use std::fmt;\n\npub struct Tok {\n    n: u32,\n}\n\nimpl fmt::Display for Tok {\n"
            "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n        write!(f, \"{}\", self.n)\n"
            "    }\n}\n\npub fn one() -> u32 {\n    1\n}\n\n")
    assert _texts(rust, "\n\npub fn two() -> u32 {\n    2\n}\n") == []
    js = ("class A {\n  run() {\n    return 1;\n  }\n}\n\nconst LIMIT = 10;\n\nfunction a() {\n  return LIMIT;\n}\n\n")
    assert _texts(js, "\n\nfunction b() {\n  return 2;\n}\n") == []
    # Another block's declaration is this block's to write too: each function declares its own `n`.
    count = "function a(items) {\n  const n = items.length;\n  return n;\n}\n\nfunction b(items) {\n  const n = it"
    assert _texts(count, "\n  return n;\n}\n") == ["ems.length;"]
    # A line that declares nothing is written again in its block often enough: Go's check of each error.
    checks = ("func run() error {\n\terr := a()\n\tif err != nil {\n\t\treturn err\n\t}\n\terr = b()\n"
              "\tif err != n")
    assert _texts(checks, "\n\t\treturn err\n\t}\n\treturn nil\n}\n") == ["il {"]


def test_a_headers_block_opening_is_not_copied_onto_a_statement():
    # `self.peek()` is found in `while let Some(c) = self.peek() {`: its `{` opens the loop's body, which a `let`
    # statement has none of. A header's line takes it still.
    lexer = ("impl<'a> Lexer<'a> {\n    fn peek(&self) -> Option<char> {\n        self.src[self.pos..].chars().next()\n"
             "    }\n\n    pub fn skip(&mut self) {\n        while let Some(c) = self.peek() {\n"
             "            self.pos += c.len_utf8();\n        }\n    }\n\n"
             "    pub fn first(&mut self) -> Option<char> {\n")
    assert " {" not in _texts(lexer + "        let c = self.peek()", "\n    }\n}\n")
    assert " {" in _texts(lexer + "        if let Some(d) = self.peek()", "\n    }\n}\n")
    # A return type found in a function's header: `{` there opens the function's body, not the constant's.
    ts = "export function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {\n"
    assert [f for f in _texts(ts + "  const out: Record<string, U>", "\n}\n") if f.endswith("{")] == []
    # A statement's own `{` (an object, a struct) is copied as it stands.
    assert _texts("let p = Point {\n    x: 1,\n};\nlet q = Poi", "\n") == ["nt {"]


def test_a_closer_comes_only_at_its_openers_indentation():
    # Enter after a new body's first statement: the cursor stands one step deeper than the body's header, where the
    # body goes on. A `}` there would end it after one line; at the header's indentation it may.
    book = ("class OrderBook {\n  constructor(orders) {\n    this.byId = new Map();\n"
            "    for (const order of orders) {\n      this.byId.set(order.id, order);\n    }\n  }\n\n"
            "  total(id) {\n    const order = this.byId.get(id);\n")
    after = "\n\n  label(id) {\n    return String(id);\n  }\n}\n"
    assert "}" not in _texts(book + "    ", after)
    assert "}" in _texts(book + "  ", after)
    rust = ("pub fn count(tokens: &[u32]) -> usize {\n    let mut n = 0;\n    for t in tokens {\n"
            "        n += *t as usize;\n    }\n    n\n}\n\npub fn squares(limit: u32) -> Vec<u32> {\n"
            "    let values = vec![1, 2, 3];\n")
    assert "}" not in _texts(rust + "    ", "\n\npub fn banner(name: &str) -> String {\n    format!(\"{name}\")\n}\n")


JSX = ("import React from 'react';\n\nexport function Badge({ stock }) {\n"
       "  return <span className=\"badge\">{stock}</span>;\n}\n\nexport function List({ items }) {\n  return (\n"
       "    <ul>\n      {items.map((item) => (\n        <li key={item}>\n")


def test_a_semicolon_is_not_copied_after_an_element_among_jsx_children():
    # After a child element, a `;` is text the page shows; after an element a statement returns, it ends it.
    child = JSX + "          {item} <span className=\"n\">{item.length}</span>"
    assert ";" not in _texts(child, "\n        </li>\n      ))}\n    </ul>\n  );\n}\n")
    count = "function Count({ n }) {\n  return <span className=\"c\">{n}</span>;\n}\n\nexport function List"
    returned = JSX.replace("function List", count) + "          {item}\n        </li>\n      ))}\n    </ul>\n  );\n}\n"
    assert _texts(returned + "\nexport function Total({ n }) {\n  return <span className=\"t\">{n}</span>",
                  "\n}\n")[0] == ";"


def test_a_closing_tag_copied_is_the_innermost_open_elements():
    # `</` inside an open `<li>`: the file's `</ul>` would close the list around it, which the grammar reads as
    # well (it does not compare names).
    assert _texts(JSX + "          {item}\n        </", "\n      ))}\n    </ul>\n  );\n}\n") == []
    closed = JSX + "          {item}\n        </li>\n      ))}\n    </ul>\n  );\n}\n"
    assert _texts(closed + "\nexport function Other() {\n  return (\n    <ul>\n      <li>a</li>\n    </",
                  "\n  );\n}\n")[0] == "ul>"


def _all_occurrences_sorted(text: str, key: str, hole: int | None) -> list[int]:
    """Every place `key` ends in `text` but the hole, nearest first, the earlier first where two are as near: what
    the lookup keeps `MAX_OCCURRENCES` of."""
    ends = [start + len(key) for start in range(len(text)) if text.startswith(key, start)]
    ends = [end for end in ends if end != hole]
    return sorted(ends, key=lambda end: abs(end - hole) if hole is not None else end)


@pytest.mark.parametrize("text, key", [
    ("var a=" + "f(1),g(2);" * 700, "g(2);f("),  # more places than are kept, on both sides of the hole
    ("data = [" + "0, " * 3000 + "0]\n", "0, 0, "),  # places that overlap
    ("ab" * 3000, "abab"),  # as near on the left as on the right
    ("x = f(a)\n" * 5 + "y = f(b)\n" * 3, "= f("),  # fewer than are kept
    ("nothing here", "absent"),
])
def test_the_places_kept_of_a_key_are_the_nearest_the_hole(text, key):
    for hole in (None, 0, 1, len(key), len(text) // 3, len(text) // 2 + 1, len(text) - 1, len(text)):
        expected = _all_occurrences_sorted(text, key, hole)[:MAX_OCCURRENCES]
        assert _occurrences(text, key, hole) == expected, hole


def test_in_a_very_repetitive_line_the_nearest_places_decide():
    # One line of calls, each key the same (the padding is longer than the longest key): 600 places each side of
    # the hole spell `1, 2`, and beyond them 1,100 each side spell `3, 4`, which would outvote them were all kept.
    sep = "), " + "pad_" * 12 + "f("
    near, far = sep.join(["1, 2"] * 600), sep.join(["3, 4"] * 1100)
    before, after = "v = [f(" + far + sep + near + sep, sep + near + sep + far + ")]\n"
    assert 2 * 600 > MAX_OCCURRENCES - 2 * 600 and 1100 > 600 and len(before) < SEARCH_CHARS
    assert _texts(before, after)[0] == "1, 2"


def test_at_the_end_of_a_text_with_no_line_break_its_end_ends_the_line():
    # Typing at the end of a new file: nothing after the cursor, not even a line break. Nothing was found there.
    text = 'x = build_thing("INFILE-VALUE", retries=3)\nprint(x)\ny = build_thing("'
    assert _texts(text, "") == _texts(text, "\n") == ['INFILE-VALUE", retries=3)']
    beside = 'x = build_thing("INFILE-VALUE", retries=3)\nprint(x)\n'
    assert [f.text for f in lookup_fills('y = build_thing("', "", elsewhere=[beside])] == \
        ['INFILE-VALUE", retries=3)']
