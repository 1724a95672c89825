"""The completion stage without a client: how a request is sized, and which suggestions are shown."""

from __future__ import annotations

import pytest

from engine.infill import InfillEngine
from engine.tiny import write_random_checkpoint
from infill_ls.completion import Suggestion, complete, no_worse, parsing_first, steps_for, suggest
from infill_ls.documents import DocumentStore
from infill_ls.settings import Settings
from infill_ls.syntax import SyntaxIndex


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model", max_denoising_steps=12)
    return InfillEngine.load(path, device="cpu")


def test_typing_requests_get_a_shorter_schedule_than_explicit_ones(engine):
    assert engine.generation.max_denoising_steps == 12
    assert steps_for(engine, Settings(typing_max_steps=5), explicit=False) == 5
    assert steps_for(engine, Settings(typing_max_steps=5), explicit=True) is None  # the checkpoint's 12
    # The cap never lengthens a schedule: neither the checkpoint's nor the user's maxSteps.
    assert steps_for(engine, Settings(typing_max_steps=20), explicit=False) == 12
    assert steps_for(engine, Settings(max_steps=3, typing_max_steps=5), explicit=False) == 3
    assert steps_for(engine, Settings(max_steps=30, typing_max_steps=None), explicit=False) == 30
    assert steps_for(engine, Settings(max_steps=30, typing_max_steps=None), explicit=True) == 30


def _parsed(language_id: str, text: str):
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(f"file:///t.{language_id}", language_id, 1, text)
    index.opened(snapshot)
    return index.parse(snapshot)


def test_suggestions_after_which_the_file_parses_come_first_in_confidence_order():
    text = "def f(x):\n    return g(x\n\ny = [1, 2]\n"
    at = text.index("g(x") + 3
    parsed = _parsed("python", text)
    ranked = [Suggestion(fill, at, at, confidence) for fill, confidence in
              [("]", -0.1), (", 1", -0.2), (")", -0.3), ("))", -0.4), (", 2)", -0.5)]]
    assert [s.text for s in parsing_first(parsed, at, ranked)] == [")", ", 2)", "]", ", 1", "))"]
    # A file that does not parse whatever is inserted (an error elsewhere) keeps the model's order.
    broken = _parsed("python", text + "def (:\n")
    assert parsing_first(broken, at, ranked) == ranked


def test_where_no_suggestion_parses_the_first_closed_so_that_it_does_comes_first():
    text = "def f(x):\n    return g(h(x\n\ny = [1, 2]\n"
    at = text.index("h(x") + 3
    parsed = _parsed("python", text)
    ranked = [Suggestion(fill, at, at, confidence) for fill, confidence in [(", 1", -0.1), (")", -0.2)]]
    # Neither parses: `, 1` leaves both calls open, `)` one. The first, closed, comes before both, as it was.
    assert [(s.text, s.source) for s in parsing_first(parsed, at, ranked)] == [
        (", 1))", "model"), (", 1", "model"), (")", "model")]
    # A suggestion the closers cannot mend (the string stays open): the brackets alone.
    lone = [Suggestion(" + '", at, at, -0.1, "file")]
    assert [(s.text, s.source) for s in parsing_first(parsed, at, lone)] == [("))", "closers"), (" + '", "file")]
    # Nothing offered: the brackets alone.
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [("))", "closers")]
    # One that parses is left as it is.
    assert parsing_first(parsed, at, [Suggestion("))", at, at, -0.3)]) == [Suggestion("))", at, at, -0.3)]


def test_while_typing_a_suggestion_that_adds_a_syntax_error_is_dropped():
    # Half-typed code: the call is open, so the file has an error before any suggestion.
    text = "def f(a):\n    return g(a, \n\ny = [1, 2]\n"
    at = text.index("g(a, ") + 5
    parsed = _parsed("python", text)
    assert parsed.tree.root_node.has_error
    offered = [Suggestion(fill, at, at, -0.1) for fill in ("b)", "b")]
    assert no_worse(parsed, offered) == offered  # one mends the file, the other leaves it as it was
    # In a file that parses, what the parser cannot make sense of is not shown.
    clean = "x = 1\ny = 2\n"
    parsed = _parsed("python", clean)
    end = clean.index("\ny")
    offered = [Suggestion(fill, end, end, -0.1) for fill in (" + 1", ")", "  # one", " if", '"')]
    assert [s.text for s in no_worse(parsed, offered)] == [" + 1", "  # one"]
    # An error elsewhere in the file does not let a suggestion break the code here; a line that opens a block
    # (the parser invents the missing closer) is what typing it leaves, and is shown.
    js = "function f(items) {\n  let total = 0;\n  \n  return total;\n}\n\nconst x = ;\n"
    parsed = _parsed("javascript", js)
    at = js.index("  \n") + 2
    offered = [Suggestion(fill, at, at, -0.1) for fill in
               ("total += 1;", "for (const item of items) {", '"', ")", "total +=")]
    assert [s.text for s in no_worse(parsed, offered)] == ["total += 1;", "for (const item of items) {"]
    # Plain text has no syntax to make worse.
    plain = _parsed("plaintext", "some notes\n")
    assert no_worse(plain, [Suggestion('"(', 4, 4, -0.1)]) == [Suggestion('"(', 4, 4, -0.1)]


def test_typing_completion_shows_the_models_suggestion_only_when_it_adds_no_syntax_error(engine):
    # A random-weight model writes junk: across seeds some of its fills break this clean file and some do not.
    text = "function f(items) {\n  let total = 0;\n  total = \n  return total;\n}\n"
    parsed = _parsed("javascript", text)
    at = text.index("total = \n") + 8
    kept = dropped = 0
    for seed in range(16):
        args = dict(explicit=False, should_stop=lambda: False, seed=seed)
        # The model's suggestion alone: the file spells out "0;" after "total = ", which would come first.
        settings = Settings(file_lookup=False)
        raw = suggest(engine, parsed, at, settings, **args)
        shown = complete(engine, parsed, at, settings, **args)
        assert len(raw) <= 1 and shown == no_worse(parsed, raw)
        kept += bool(shown)
        dropped += len(raw) - len(shown)
    assert kept and dropped, (kept, dropped)


def test_while_typing_the_files_fill_is_shown_without_a_model_pass(engine):
    text = "def run(self, a, b):\n    x = self.compute(a, b)\n    print(x)\n    y = self.compute()\n    print(y)\n"
    parsed = _parsed("python", text)
    at = text.index("y = self.compute(") + len("y = self.compute(")

    def no_model() -> bool:
        raise AssertionError("the model ran")

    shown = complete(engine, parsed, at, Settings(), explicit=False, should_stop=no_model)
    assert [(s.text, s.source) for s in shown] == [("a, b", "file")]
    # Offered with the model's fill behind it, the copy is what the check keeps first too.
    offered = suggest(engine, parsed, at, Settings(), explicit=False, should_stop=lambda: False)
    assert [(s.text, s.source) for s in offered][:1] == [("a, b", "file")]
    assert [s.source for s in offered[1:]] == ["model"] * (len(offered) - 1)
    # A copy that would add a syntax error is not shown; the model's fill is checked instead, so the model runs.
    usage = '"""Usage: print(x y)"""\nprint()\n'
    parsed = _parsed("python", usage)
    at = usage.index("\nprint(") + len("\nprint(")
    assert [c.text for c in engine.copies(usage[:at], usage[at:])] == ["x y"]
    with pytest.raises(AssertionError, match="the model ran"):
        complete(engine, parsed, at, Settings(), explicit=False, should_stop=no_model)


def test_while_typing_a_weaker_fill_from_the_file_is_shown_when_the_strongest_adds_a_syntax_error(engine):
    text = '"""Usage:\nprint(x y)\nprint(x y)\n"""\nprint(z)\nprint()\n'
    at = text.rindex("\nprint(") + len("\nprint(")
    # Two places agree on "x y", which would break the call; one spells out "z", which keeps the file parsing.
    assert [c.text for c in engine.copies(text[:at], text[at:], limit=3)] == ["x y", "z"]

    def no_model() -> bool:
        raise AssertionError("the model ran")

    shown = complete(engine, _parsed("python", text), at, Settings(), explicit=False, should_stop=no_model)
    assert [(s.text, s.source) for s in shown] == [("z", "file")]



def test_an_invoked_request_ends_after_one_pass_when_the_model_writes_back_a_parsing_copy():
    engine = InfillEngine.load(None, device="cpu")  # the shipped model: a random one is never sure
    text = ("def mean(values):\n    total = sum(values)\n    return total / len(values)\n\n\n"
            "def scaled_mean(values, k):\n    total = \n    return k * total / len(values)\n")
    at = text.rindex("total = ") + len("total = ")
    passes = []

    def count_passes() -> bool:
        passes.append(1)
        return False

    def invoke(text: str, at: int) -> list[Suggestion]:
        passes.clear()
        return suggest(engine, _parsed("python", text), at, Settings(candidates=1), explicit=True,
                       should_stop=count_passes)

    shown = invoke(text, at)
    assert [(s.text, s.source) for s in shown] == [("sum(values)", "file")] and len(passes) == 1
    # A copy after which the file would not parse is no draft: the model's own rows run their course.
    broken = text.replace("total = sum(values)\n", "total = sum(values\n", 1)
    shown = invoke(broken, broken.rindex("total = ") + len("total = "))
    assert shown[0].text == "sum(values" and shown[0].source == "file"
    assert len(passes) > 1
