"""A checkpoint the engine cannot serve as written fails at loading in one line naming the file and what is wrong,
rather than loading as a different model (integer weights, the wrong shard's copy, NaN settings) or with a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.checkpoint import load_checkpoint
from engine.errors import CheckpointError
from engine.tiny import write_random_checkpoint

INDEX = "model.safetensors.index.json"
EMBED = "model.decoder.embed_tokens.weight"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "m")


@pytest.fixture
def copy(model_dir, tmp_path):
    return shutil.copytree(model_dir, tmp_path / "copy")


def refused(directory, expected: str, file: str) -> str:
    with pytest.raises(CheckpointError, match=re.escape(expected)) as caught:
        load_checkpoint(directory, device="cpu", dtype="float32")
    message = str(caught.value)
    assert str(directory / file) in message and "\n" not in message
    return message


def shard(directory) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Split model.safetensors into two shards and an index; the tensors and the weight_map."""
    tensors = load_file(str(directory / "model.safetensors"))
    (directory / "model.safetensors").unlink()
    names = list(tensors)
    weight_map = {}
    for i, part in enumerate((names[: len(names) // 2], names[len(names) // 2:]), 1):
        file = f"model-{i:05d}-of-00002.safetensors"
        save_file({n: tensors[n] for n in part}, str(directory / file))
        weight_map.update(dict.fromkeys(part, file))
    write_index(directory, weight_map)
    return tensors, weight_map


def write_index(directory, weight_map) -> None:
    (directory / INDEX).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


@pytest.mark.parametrize("dtype, stored", [(torch.int8, "I8"), (torch.float8_e4m3fn, "F8_E4M3"), (torch.bool, "BOOL")])
def test_weights_stored_as_anything_but_floats_are_refused(copy, dtype, stored):
    tensors = load_file(str(copy / "model.safetensors"))
    tensors[EMBED] = (tensors[EMBED] * 100).to(dtype)
    save_file(tensors, str(copy / "model.safetensors"))
    refused(copy, f"tensor {EMBED} is stored as {stored}; only float weights (F32, BF16, F16, F64) are supported",
            "model.safetensors")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
def test_weights_in_every_float_dtype_load(copy, dtype):
    tensors = {k: v.to(dtype) for k, v in load_file(str(copy / "model.safetensors")).items()}
    save_file(tensors, str(copy / "model.safetensors"))
    loaded = load_checkpoint(copy, device="cpu", dtype="float32")
    assert torch.equal(loaded.model.state_dict()["embed_tokens.weight"], tensors[EMBED].float())


@pytest.mark.parametrize("where", ["top level", "text_config"])
def test_a_quantized_checkpoint_is_refused(copy, where):
    config = json.loads((copy / "config.json").read_text())
    holder = config if where == "top level" else config["text_config"]
    holder["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_8bit": True}
    (copy / "config.json").write_text(json.dumps(config))
    message = refused(copy, "quantization_config (bitsandbytes): quantized checkpoints are not supported",
                      "config.json")
    assert ("text_config.quantization_config" in message) == (where == "text_config")


def test_a_sharded_checkpoint_reads_each_tensor_from_the_shard_its_index_names(copy):
    tensors, weight_map = shard(copy)
    assert weight_map[EMBED].startswith("model-00001")
    # A stale second copy in the other shard (read after the first) must not replace the one the index names.
    second = copy / "model-00002-of-00002.safetensors"
    save_file({**load_file(str(second)), EMBED: torch.zeros_like(tensors[EMBED])}, str(second))
    loaded = load_checkpoint(copy, device="cpu", dtype="float32")
    assert torch.equal(loaded.model.state_dict()["embed_tokens.weight"], tensors[EMBED])


def test_a_tensor_the_index_places_in_a_shard_that_lacks_it_is_named(copy):
    _, weight_map = shard(copy)
    name = list(weight_map)[-1]
    write_index(copy, {**weight_map, name: "model-00001-of-00002.safetensors"})
    refused(copy, f"no tensor {name}, which {INDEX} places in this file", "model-00001-of-00002.safetensors")


def test_a_model_tensor_the_index_does_not_list_is_named(copy):
    _, weight_map = shard(copy)
    name = list(weight_map)[-1]
    del weight_map[name]
    write_index(copy, weight_map)
    refused(copy, f"tensor {name} is not in the weight_map of {INDEX}", "model-00002-of-00002.safetensors")


def test_model_safetensors_beside_an_index_is_read_as_transformers_reads_it_and_the_index_named(copy):
    # The shards were read: the same folder served other weights here than in transformers, without a word.
    single = load_file(str(copy / "model.safetensors"))
    tensors, _ = shard(copy)
    save_file({**single, EMBED: single[EMBED] + 1}, str(copy / "model.safetensors"))
    loaded = load_checkpoint(copy, device="cpu", dtype="float32")
    assert torch.equal(loaded.model.state_dict()["embed_tokens.weight"], tensors[EMBED] + 1)
    result = run_cli("logits", "--model", str(copy), "--prompt-ids", "2", "--canvas-ids", "5",
                     "--out", str(copy.parent / "logits.safetensors"))
    assert result.returncode == 0 and result.stderr.splitlines()[0] == (
        f"logits: {copy}: also holds {INDEX}; reading model.safetensors, as transformers does, not the shards "
        "that index lists (remove the stale one)"), result.stderr


@pytest.mark.parametrize("sharded", [False, True])
def test_a_weights_file_that_is_a_broken_link_is_said_to_be_one(copy, sharded):
    # A Hugging Face snapshot whose blob is gone: it was said to hold no model.safetensors, which `ls` lists.
    file = copy / ("model-00002-of-00002.safetensors" if sharded else "model.safetensors")
    if sharded:
        shard(copy)
    file.unlink()
    file.symlink_to("../../blobs/0123abcd")
    refused(copy, f"{file}: a broken link to ../../blobs/0123abcd, which does not exist (a download that did not "
            "finish? fetch the checkpoint again)", file.name)


@pytest.mark.parametrize("file", [5, None, "", "..", "../copy/model-00001-of-00002.safetensors", "sub/x.safetensors",
                                  "sub\\x.safetensors"])
def test_a_weight_map_value_that_is_not_a_shard_name_is_named(copy, file):
    _, weight_map = shard(copy)
    write_index(copy, {**weight_map, EMBED: file})
    refused(copy, f"weight_map gives tensor {EMBED} the file {file!r}; expected the name of a shard", INDEX)


def edit(directory, file: str, change) -> None:
    data = json.loads((directory / file).read_text())
    change(data)
    (directory / file).write_text(json.dumps(data))


def rope(kind: str, **values):
    return lambda c: c["text_config"]["rope_parameters"][kind].update(values)


def text(**values):
    return lambda c: c["text_config"].update(values)


def bidirectional_without_window(c):
    c["text_config"].update(use_bidirectional_attention="all")
    del c["text_config"]["sliding_window"]


def widths_past_the_positions(c):
    c["infill_canvas_lengths"] = [32, 200]
    c["text_config"]["max_position_embeddings"] = 128


@pytest.mark.parametrize("file, change, expected", [
    ("config.json", lambda c: c.update(canvas_length="abc"), "canvas_length must be a positive integer, got 'abc'"),
    ("config.json", lambda c: c.update(canvas_length=31.7), "canvas_length must be a positive integer, got 31.7"),
    ("config.json", lambda c: c.update(infill_prompt_tokens="x"),
     "infill_prompt_tokens must be a positive integer, got 'x'"),
    ("config.json", lambda c: c.update(infill_prompt_tokens=0), "infill_prompt_tokens must be a positive integer"),
    ("config.json", bidirectional_without_window,
     'text_config.sliding_window must be a positive integer when use_bidirectional_attention is "all", got None'),
    ("config.json", text(use_bidirectional_attention="all", sliding_window="x"),
     "text_config.sliding_window must be a positive integer when use_bidirectional_attention is \"all\", got 'x'"),
    ("config.json", rope("full_attention", partial_rotary_factor=2.0),
     "text_config.rope_parameters.full_attention.partial_rotary_factor must be a number from 0 to 1, got 2.0"),
    ("config.json", rope("sliding_attention", partial_rotary_factor=-0.5),
     "text_config.rope_parameters.sliding_attention.partial_rotary_factor must be a number from 0 to 1"),
    ("config.json", rope("sliding_attention", rope_theta=-10000.0),
     "text_config.rope_parameters.sliding_attention.rope_theta must be a positive number, got -10000.0"),
    ("config.json", rope("full_attention", rope_theta=0), "full_attention.rope_theta must be a positive number"),
    ("config.json", rope("full_attention", rope_theta=float("inf")),
     "full_attention.rope_theta must be a positive number, got inf"),
    ("config.json", rope("full_attention", factor=0), "full_attention.factor must be a positive number, got 0"),
    ("config.json", rope("full_attention", factor=float("nan")), "full_attention.factor must be a positive number"),
    ("config.json", text(rms_norm_eps=float("nan")), "text_config.rms_norm_eps must be a positive number, got nan"),
    # The exact GELU ran as the tanh approximation: logits off by 2e-3 from the reference's, said nowhere.
    ("config.json", text(hidden_activation="gelu"),
     'text_config.hidden_activation must be "gelu_pytorch_tanh" (the network has no other activation), got \'gelu\''),
    ("config.json", text(per_layer_config={"1": {"head_dim": 8}, "x": {}}),
     "text_config.per_layer_config keys must be layer indices below num_hidden_layers (2), got ['1', 'x']"),
    # It was said as keys past the count: "keys must be layer indices below num_hidden_layers (0)".
    ("config.json", text(num_hidden_layers=0, per_layer_config={"1": {"head_dim": 8}}),
     "text_config.num_hidden_layers must be a positive integer, got 0"),
    ("config.json", text(final_logit_softcapping=float("inf")),
     "text_config.final_logit_softcapping must be a positive number or null, got inf"),
    ("config.json", lambda c: c.update(canvas_length=10 ** 6),
     "canvas width 1000000 must be smaller than text_config.max_position_embeddings (131072)"),
    ("config.json", text(max_position_embeddings=32),
     "canvas width 32 must be smaller than text_config.max_position_embeddings (32)"),
    ("config.json", widths_past_the_positions,
     "canvas width 200 must be smaller than text_config.max_position_embeddings (128)"),
    ("generation_config.json", lambda g: g.update(t_max=float("nan")),
     "t_max must be a positive number of at least 1e-06, got nan"),
    ("generation_config.json", lambda g: g.update(confidence_threshold=float("inf")),
     "confidence_threshold must be a number from 0, got inf"),
    # A misspelt key, or another sampler's config, ran the default entropy bound without a word.
    ("generation_config.json", lambda g: g.update(sampler_config="x"), "sampler_config must be an object, got 'x'"),
    ("generation_config.json", lambda g: g.update(sampler_config={"entropy_bnd": 0.3}),
     "sampler_config.entropy_bnd: not a field of EntropyBoundSamplerConfig (entropy_bound)"),
    ("generation_config.json", lambda g: g.update(sampler_config={"_cls_name": "TopKSamplerConfig", "k": 3}),
     "sampler_config._cls_name must be 'EntropyBoundSamplerConfig' (the one sampler this engine runs), got "
     "'TopKSamplerConfig'"),
    ("generation_config.json", lambda g: g.update(infill_new_lines="false"),
     "infill_new_lines must be true or false, got 'false'"),
])
def test_bad_config_values_are_refused_in_one_line(copy, file, change, expected):
    edit(copy, file, change)
    refused(copy, expected, file)


def test_suppress_tokens_that_leave_no_token_to_write_are_refused(copy):
    # Every logit -inf: generate ended in a traceback, infill in an empty fill.
    vocab = json.loads((copy / "config.json").read_text())["text_config"]["vocab_size"]
    edit(copy, "generation_config.json", lambda g: g.update(suppress_tokens=list(range(vocab))[::-1]))
    refused(copy, f"suppress_tokens lists every token id of the vocabulary ({vocab}), leaving none to write",
            "generation_config.json")
    edit(copy, "generation_config.json", lambda g: g.update(suppress_tokens=list(range(1, vocab))))
    assert load_checkpoint(copy, device="cpu", dtype="float32").generation.suppress_tokens == list(range(1, vocab))


def test_whether_the_model_guesses_blank_lines_is_read_saved_and_defaulted(copy):
    assert load_checkpoint(copy, device="cpu", dtype="float32").generation.infill_new_lines is True
    edit(copy, "generation_config.json", lambda g: g.update(infill_new_lines=False))
    loaded = load_checkpoint(copy, device="cpu", dtype="float32")
    assert loaded.generation.infill_new_lines is False
    assert loaded.generation.to_hf()["infill_new_lines"] is False


def test_the_limits_themselves_load(copy):
    edit(copy, "config.json", rope("full_attention", partial_rotary_factor=1.0, factor=8.0))
    edit(copy, "config.json", rope("sliding_attention", partial_rotary_factor=0.0))
    edit(copy, "config.json", text(max_position_embeddings=33))
    loaded = load_checkpoint(copy, device="cpu", dtype="float32")
    assert loaded.config.layer(0).rope_fraction == 0.0 and loaded.config.layer(1).rope_factor == 8.0


def test_a_checkpoint_without_weights_is_said_before_its_network_is_built(copy, monkeypatch):
    # A config of thousands of layers and no weights took half a minute and 2 GB before "no model.safetensors".
    import engine.checkpoint

    built = []
    monkeypatch.setattr(engine.checkpoint, "DiffusionGemma", lambda cfg: built.append(cfg))
    (copy / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_checkpoint(copy, device="cpu", dtype="float32")
    assert built == []


def run_cli(*argv, before: str = ""):
    """`infill-engine ARGV` in a fresh process; `before` runs first, once the engine is imported (the command line
    imports torch and its subcommands' modules as it starts: `build_parser`)."""
    code = (f"import sys\nfrom engine.cli import build_parser, main\nbuild_parser()\n{before}\n"
            "sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)


# The address space a process may add from here on: every allocation past it fails as it would in a full memory.
LIMIT_MEMORY = """
import resource
vm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + {limit}, resource.RLIM_INFINITY))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS limits the address space on Linux only")
def test_too_little_memory_is_said_as_such_not_as_a_corrupt_shard(tmp_path):
    # 11M parameters: 44 MB of float32 shards, 88 MB as float64, where only 64 MB more may be allocated.
    directory = write_random_checkpoint(tmp_path / "m", hidden_size=512, intermediate_size=1024,
                                        moe_intermediate_size=512)
    # Unchecked: the check before the load refuses it by the limit's room (tests/test_memory.py); a load that
    # runs out all the same (swap, memory another process took meanwhile) says so.
    result = run_cli("generate", "--model", str(directory), "--prompt", "x", "--device", "cpu", "--dtype", "float64",
                     "--no-memory-check", before=LIMIT_MEMORY.format(limit=64 * 2**20))
    assert result.returncode == 2, result.stderr
    assert re.fullmatch(rf"generate: {re.escape(str(directory))}: out of memory loading "
                        r"model-\d{5}-of-\d{5}\.safetensors onto cpu \(\d+ MB needed for its weights in float64\)\n",
                        result.stderr), result.stderr


@pytest.mark.parametrize("device", [
    pytest.param("mps", marks=pytest.mark.skipif(torch.backends.mps.is_available(), reason="an MPS device is here")),
    "cuda:99",
    "meta",  # shapes with no values: the first step failed in a traceback
])
def test_a_device_torch_cannot_use_is_said_as_such_not_as_a_corrupt_shard(model_dir, device):
    with pytest.raises(CheckpointError, match=re.escape(f"device {device!r}")) as caught:
        load_checkpoint(model_dir, device=device, dtype="float32")
    assert "safetensors" not in str(caught.value) and "\n" not in str(caught.value)
    result = run_cli("generate", "--model", str(model_dir), "--prompt", "x", "--device", device)
    assert result.returncode == 2 and result.stderr == f"generate: {caught.value}\n", result.stderr


# -- the weights are the process's own ------------------------------------------------------------------------------
@pytest.mark.parametrize("stored, run", [(torch.float32, "float32"), (torch.bfloat16, "bfloat16")])
def test_weights_read_in_their_stored_dtype_do_not_change_when_the_file_is_rewritten_in_place(copy, stored, run):
    # `cp newer/* served/` rewrites the served file in place (same inode): weights left mapped from it changed with
    # it, silently, or killed the process (SIGBUS) once the file was shorter.
    tensors = {k: v.to(stored) for k, v in load_file(str(copy / "model.safetensors")).items()}
    save_file(tensors, str(copy / "model.safetensors"))
    loaded = load_checkpoint(copy, device="cpu", dtype=run)
    path = copy / "model.safetensors"
    with open(path, "r+b") as file:
        file.write(b"\0" * path.stat().st_size)
    assert torch.equal(loaded.model.state_dict()["embed_tokens.weight"], tensors[EMBED])
    assert all(p.abs().sum() > 0 for p in loaded.model.parameters())


# -- a file that cannot be read is said as such ------------------------------------------------------------------
def load_without_file_privileges(directory) -> subprocess.CompletedProcess:
    """load_checkpoint in a process that file permissions apply to: root's capabilities to pass them by dropped."""
    code = ("import sys\nfrom engine.checkpoint import load_checkpoint\nfrom engine.errors import CheckpointError\n"
            "try:\n    load_checkpoint(sys.argv[1], device='cpu', dtype='float32')\n"
            "except CheckpointError as err:\n    print(err)\n")
    prefix = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root reads any file, and setpriv is not here to drop that")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-c", code, str(directory)], capture_output=True, text=True)


@pytest.mark.parametrize("file", ["model.safetensors", "tokenizer.json"])
def test_a_file_the_user_may_not_read_is_said_to_be_unreadable_not_missing_or_invalid(copy, file):
    # save_pretrained writes shards 0600: a checkpoint another user made reads so.
    (copy / file).chmod(0)
    try:
        result = load_without_file_privileges(copy)
    finally:
        (copy / file).chmod(0o600)
    assert result.stdout == f"{copy / file}: cannot be read (Permission denied)\n", result.stdout + result.stderr


# -- what the reference refuses ------------------------------------------------------------------------------------
def without(*keys):
    def change(c):
        holder = c
        for key in keys[:-1]:
            holder = holder[key]
        del holder[keys[-1]]
    return change


@pytest.mark.parametrize("change, expected", [
    # The reference raises KeyError; the full layers ran with theta 1e4 over the whole head instead.
    (without("text_config", "rope_parameters", "full_attention"),
     'text_config.rope_parameters.full_attention is required: layer 1 is "full_attention"'),
    (without("text_config", "rope_parameters", "sliding_attention", "rope_theta"),
     "text_config.rope_parameters.sliding_attention.rope_theta is required"),
    (lambda c: c.update(tie_word_embeddings="false"), "tie_word_embeddings must be true or false, got 'false'"),
    (text(tie_word_embeddings="false"), "text_config.tie_word_embeddings must be true or false, got 'false'"),
    (text(attention_bias="false"), "text_config.attention_bias must be true or false, got 'false'"),
    (text(use_bidirectional_attention="sometimes"),
     'text_config.use_bidirectional_attention must be "all", "vision" or null, got \'sometimes\''),
])
def test_config_values_the_reference_refuses_are_refused(copy, change, expected):
    edit(copy, "config.json", change)
    refused(copy, expected, "config.json")


def test_bidirectional_attention_for_vision_alone_loads_as_text_attention(copy, model_dir):
    edit(copy, "config.json", text(use_bidirectional_attention="vision"))
    loaded = load_checkpoint(copy, device="cpu", dtype="float32")
    assert loaded.config == load_checkpoint(model_dir, device="cpu", dtype="float32").config


# -- a field left out or misspelt is named ------------------------------------------------------------------------
@pytest.mark.parametrize("change, file, expected", [
    (without("text_config", "num_hidden_layers"), "config.json",
     "text_config.layer_types has 2 entries for 30 layers (text_config.num_hidden_layers is absent: read as 30)"),
    (lambda c: c["text_config"].update(num_hidden_layer=c["text_config"].pop("num_hidden_layers")), "config.json",
     "(text_config.num_hidden_layers is absent: read as 30; text_config has num_hidden_layer)"),
    (without("text_config", "hidden_size"), "model.safetensors",
     "has shape [512, 64], expected [512, 2304] (config.json: text_config.hidden_size is absent: read as 2304)"),
    (text(layer_types="sliding_attention"), "config.json",
     'text_config.layer_types must be a list of "sliding_attention" and "full_attention", got \'sliding_attention\''),
])
def test_a_field_left_out_or_misspelt_is_named_with_the_value_read_for_it(copy, change, file, expected):
    edit(copy, "config.json", change)
    refused(copy, expected, file)


# -- absurd layer counts and HF cache folders ---------------------------------------------------------------------
def test_a_layer_count_past_any_model_is_refused_before_the_layers_are_listed(copy):
    edit(copy, "config.json", text(num_hidden_layers=10 ** 9, layer_types=None))
    refused(copy, "text_config.num_hidden_layers must be at most 1000", "config.json")


@pytest.mark.parametrize("change, expected", [
    (text(head_dim=10 ** 9), "text_config.head_dim must be at most 4096"),
    (text(global_head_dim=10 ** 9, per_layer_config=None), "text_config.global_head_dim must be at most 4096"),
    (text(per_layer_config={"1": {"head_dim": 10 ** 9}}), "text_config.per_layer_config must be"),
])
def test_a_head_wider_than_any_model_is_refused_before_its_tables_are_built(copy, change, expected):
    # The RoPE tables are built at the head's width with the network, before the weights are read: a billion-wide
    # head took 12 s and 2 GB, then failed with a traceback.
    edit(copy, "config.json", change)
    refused(copy, expected, "config.json")


def test_a_layer_count_the_weights_do_not_hold_is_said_before_the_network_is_built(copy):
    edit(copy, "config.json", text(num_hidden_layers=900, layer_types=None))
    refused(copy, "text_config.num_hidden_layers is 900, but the weights hold 2 layers (0 to 1)", "config.json")


def test_a_hugging_face_cache_folder_is_pointed_to_its_snapshot(model_dir, tmp_path):
    repo = tmp_path / "models--google--diffusiongemma-26B-A4B-it"
    shutil.copytree(model_dir, repo / "snapshots" / "0123abc")
    shutil.copytree(model_dir, repo / "snapshots" / "fedcba9")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(repo, device="cpu", dtype="float32")
    assert str(caught.value) == (f"{repo}: a Hugging Face cache folder, not a checkpoint directory; its "
                                 f"checkpoint is in {repo / 'snapshots' / '0123abc'} (refs/main)")


def test_a_repo_id_is_said_to_be_one_and_found_in_the_local_cache(model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint("google/diffusiongemma-26B-A4B-it", device="cpu", dtype="float32")
    assert str(caught.value) == ("google/diffusiongemma-26B-A4B-it: not a checkpoint directory (a Hugging Face repo "
                                 "id? only local directories are read: download it and give its directory)")
    snapshot = tmp_path / "hub" / "models--google--diffusiongemma-26B-A4B-it" / "snapshots" / "0123abc"
    shutil.copytree(model_dir, snapshot)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint("google/diffusiongemma-26B-A4B-it", device="cpu", dtype="float32")
    assert str(caught.value) == ("google/diffusiongemma-26B-A4B-it: not a checkpoint directory; the Hugging Face "
                                 f"cache holds that repo in {snapshot}")


@pytest.mark.parametrize("width", [8, 4])
def test_a_canvas_with_no_room_for_a_hole_is_refused_for_filling_holes_in_one_line(copy, width):
    from engine.infill import InfillEngine
    from engine.infill_lookup import InfillLookup

    config = json.loads((copy / "config.json").read_text())
    config["canvas_length"] = width
    config.pop("infill_canvas_lengths", None)
    (copy / "config.json").write_text(json.dumps(config))
    expected = f"the widest canvas is {width} tokens, no room for a hole beside the 8 suffix anchors"
    with pytest.raises(CheckpointError, match=expected) as caught:
        InfillEngine.load(copy, device="cpu", dtype="float32")
    assert str(copy / "config.json") in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(CheckpointError, match=expected):
        InfillLookup.read(copy).check_holes()
    # Such a canvas still loads as a model: its blocks of plain generation need no suffix.
    load_checkpoint(copy, device="cpu", dtype="float32")
    config["canvas_length"] = 9
    (copy / "config.json").write_text(json.dumps(config))
    InfillEngine.load(copy, device="cpu", dtype="float32")


@pytest.mark.parametrize("file", ["tokenizer.json", "config.json"])
def test_a_checkpoint_file_that_is_a_folder_is_said_to_be_one(copy, file):
    # It was said to be a file not found, beside the folder of that name.
    (copy / file).unlink()
    (copy / file).mkdir()
    refused(copy, f"{copy / file}: a folder, not a file", file)


def test_a_training_runs_folder_is_named_with_its_checkpoints(model_dir, tmp_path):
    # `--model runs/mine` said that runs/mine/config.json was not found.
    run = tmp_path / "run"
    shutil.copytree(model_dir, run / "last")
    (run / "best").mkdir()
    result = run_cli("generate", "--model", str(run), "--prompt", "x", "--device", "cpu")
    assert result.returncode == 2 and result.stderr == (
        f"generate: {run}: a training run's folder, not a checkpoint; its checkpoints are {run / 'best'} (the "
        f"lowest held-out loss) and {run / 'last'}\n"), result.stderr
