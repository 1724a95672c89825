"""The completion stage without a client: how a request is sized."""

from __future__ import annotations

import pytest

from engine.infill import InfillEngine
from engine.tiny import write_random_checkpoint
from infill_ls.completion import steps_for
from infill_ls.settings import Settings


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
