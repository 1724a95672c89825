"""A weight no model computes with (NaN, an infinity, or a value past the range of the dtype it is loaded in) is
refused as the checkpoint loads, in one line naming the file and the tensor: before, it loaded without a word, every
fill came back empty and every generation ended in a traceback. A server asked to switch to such a checkpoint keeps
the model it serves. Real tiny checkpoints, written here; the command lines in processes of their own."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.checkpoint import load_checkpoint
from engine.errors import CheckpointError, EngineError
from engine.generate import generate
from engine.infill import InfillEngine
from engine.tiny import write_random_checkpoint
from infill_ls.service import InfillService
from infill_ls.settings import Settings

Q_PROJ = "model.decoder.layers.0.self_attn.q_proj.weight"
NORM = "model.decoder.layers.0.post_feedforward_layernorm.weight"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("values") / "m", whole_characters=True)


@pytest.fixture
def copy(model_dir, tmp_path):
    return shutil.copytree(model_dir, tmp_path / "copy")


def store(directory, name: str, value: float, dtype: torch.dtype = torch.float32):
    """model.safetensors with every tensor stored as `dtype` and the first value of tensor `name` set to `value`."""
    tensors = {k: v.to(dtype) for k, v in load_file(str(directory / "model.safetensors")).items()}
    tensors[name].view(-1)[0] = value
    save_file(tensors, str(directory / "model.safetensors"))
    return directory


@pytest.mark.parametrize("value, held", [(float("nan"), "NaN"), (float("inf"), "an infinite value"),
                                         (-float("inf"), "an infinite value")])
@pytest.mark.parametrize("stored, loaded", [(torch.float32, "float32"), (torch.bfloat16, "float32"),
                                            (torch.bfloat16, "bfloat16")])
def test_a_weight_that_is_not_a_number_is_refused_naming_its_file_and_tensor(copy, value, held, stored, loaded):
    store(copy, Q_PROJ, value, stored)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(copy, device="cpu", dtype=loaded)
    assert str(caught.value) == f"{copy / 'model.safetensors'}: tensor {Q_PROJ} holds {held}"


def test_a_value_past_float16s_range_is_refused_as_the_conversion_that_would_make_it_infinite(copy):
    store(copy, NORM, 1e6, torch.bfloat16)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(copy, device="cpu", dtype="float16")
    assert str(caught.value) == (
        f"{copy / 'model.safetensors'}: tensor {NORM} holds 9.994e+05, past the range of float16 (at most 6.55e+04): "
        "converting it to float16 makes it infinite; use dtype bfloat16 or float32")
    for dtype in ("bfloat16", "float32"):  # the same file, in a dtype that holds it
        assert load_checkpoint(copy, device="cpu", dtype=dtype).model is not None


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True)


def test_the_command_lines_refuse_it_in_one_line_with_status_2(copy):
    store(copy, Q_PROJ, float("nan"))
    said = f"{copy / 'model.safetensors'}: tensor {Q_PROJ} holds NaN"
    generated = run("-m", "engine.cli", "generate", "--model", str(copy), "--prompt", "def", "--max-new-tokens", "4")
    assert (generated.returncode, generated.stderr) == (2, f"generate: {said}\n")
    # The server's check loaded it, filled an empty hole and said all was well (status 0).
    checked = run("-m", "infill_ls", "--check", "--threads", "1", "--model", str(copy))
    assert (checked.returncode, checked.stderr) == (2, f"infill-ls: cannot load model: {said}\n")


async def test_a_server_switched_to_it_keeps_the_model_it_serves_and_says_why(model_dir, copy):
    store(copy, Q_PROJ, float("nan"))
    service = InfillService(Settings(model_path=str(model_dir), device="cpu", threads=1))
    try:
        service.load_model(lambda result: None)
        first = await service.model.engine()
        problems, reload = service.configure({"modelPath": str(copy)})
        assert problems == [] and reload
        service.load_model(lambda result: None)
        assert await service.model.engine() is first
        assert service.model.error == (f"cannot load model: {copy / 'model.safetensors'}: tensor {Q_PROJ} holds NaN; "
                                       f"keeping the model loaded from {model_dir}")
        assert first.count_tokens("return a + b") > 0
    finally:
        service.shutdown(wait_s=30)


def test_a_checkpoint_past_the_size_read_twice_is_checked_in_its_load_alone(copy, monkeypatch):
    # Read once more before the model held is let go, the 26B checkpoint would take minutes more to switch to.
    from infill_ls import model_loader

    store(copy, Q_PROJ, float("nan"))
    settings = Settings(model_path=str(copy), device="cpu", threads=1)
    with pytest.raises(CheckpointError, match="holds NaN"):
        model_loader.check_loadable(settings)
    monkeypatch.setattr(model_loader, "RECHECKED_WEIGHT_BYTES", 0)
    model_loader.check_loadable(settings)


# -- at run time ---------------------------------------------------------------------------------------------------
@pytest.fixture
def overflowing(model_dir):
    """The engine with a weight made NaN after loading, as an activation past float16's range makes one (an
    infinity alone would be capped by the logits' softcapping; inf - inf is not)."""
    engine = InfillEngine.load(model_dir, device="cpu", dtype="float32")
    engine.model.norm.weight[0] = float("nan")
    return engine


@pytest.mark.parametrize("how", ["generate", "infill"])
def test_logits_that_are_not_finite_stop_the_sampler_with_one_line(overflowing, how):
    # generate's draw failed inside torch.multinomial with a traceback; infill's drew arbitrary tokens.
    with pytest.raises(EngineError) as caught:
        if how == "generate":
            generate(overflowing.model, torch.tensor([[overflowing.tokenizer.bos_id]]), overflowing.generation,
                     max_new_tokens=4)
        else:
            overflowing.infill("def add(a, b):\n    return ", "\n", max_tokens=4)
    assert str(caught.value) == ("denoising step 1: the model's logits are not finite (NaN or inf); in float16 its "
                                 "activations can overflow: use dtype bfloat16 or float32")
