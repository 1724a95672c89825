"""The completion stage without a client: how a request is sized."""

from __future__ import annotations

import pytest

from engine.infill import InfillEngine
from engine.tiny import write_random_checkpoint
from infill_ls.completion import Suggestion, parsing_first, steps_for
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
    assert [s.text for s in parsing_first(parsed, ranked)] == [")", ", 2)", "]", ", 1", "))"]
    # One suggestion has nothing to be chosen against: no parse, and it stays even when it breaks the file.
    assert parsing_first(parsed, ranked[:1]) == ranked[:1]
    # A file that does not parse whatever is inserted (an error elsewhere) keeps the model's order.
    broken = _parsed("python", text + "def (:\n")
    assert parsing_first(broken, ranked) == ranked
