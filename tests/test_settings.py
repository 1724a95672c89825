import json
from dataclasses import replace

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from infill_ls.settings import Settings, model_differs, parse_settings

from lsp_support import SERVER, capabilities, config, init_params


def test_defaults_are_complete_and_typed():
    s = Settings()
    assert s.model_path is None and s.device == "auto" and s.dtype == "auto"
    assert isinstance(s.max_hole_tokens, int) and isinstance(s.debounce_ms, int)
    assert s.language_enabled("anything")


def test_camel_case_keys_bare_or_under_the_section():
    raw = {
        "modelPath": "/models/x",
        "device": "cpu",
        "dtype": "float32",
        "maxHoleTokens": 12,
        "maxSteps": 8,
        "typingMaxSteps": 4,
        "typingNewLines": True,
        "debounceMs": 0,
        "enabledLanguages": ["python", "go"],
        "numCandidates": 2,
        "fileLookup": False,
        "neighborFiles": False,
        "threads": 2,
        "prefixTokens": 4096,
    }
    for payload in (raw, {"infill": raw}):
        s, problems = parse_settings(payload)
        assert problems == []
        assert s == Settings(model_path="/models/x", device="cpu", dtype="float32", max_hole_tokens=12, max_steps=8,
                             typing_max_steps=4, typing_new_lines=True, debounce_ms=0, enabled_languages=("python", "go"), candidates=2,
                             file_lookup=False, neighbor_files=False, threads=2,
                             prefix_tokens=4096)
    assert not parse_settings(raw)[0].language_enabled("rust")


def test_an_invalid_value_keeps_the_setting_as_it_was_with_one_message_each():
    base = Settings(max_hole_tokens=10, device="cpu", enabled_languages=("python",))
    s, problems = parse_settings(
        {"maxHoleTokens": "lots", "device": "tpu", "debounceMs": -5, "numCandidates": True, "enabledLanguages": "py",
         "fileLookup": "yes", "threads": 2, "prefixTokens": 8, "typingNewLines": "no"},
        base,
    )
    assert s == replace(base, threads=2)
    assert len(problems) == 8
    assert 'infill.typingNewLines: expected true or false, got "no"; keeping null' in problems
    assert "infill.prefixTokens: expected an integer from 16 to 131072, got 8; keeping null" in problems
    # Values as JSON, as the user wrote them.
    assert 'infill.fileLookup: expected true or false, got "yes"; keeping true' in problems
    assert 'infill.maxHoleTokens: expected an integer from 1 to 512, got "lots"; keeping 10' in problems
    assert any(p.startswith("infill.enabledLanguages:") and p.endswith('keeping ["python"]') for p in problems)
    assert all("\n" not in p for p in problems)
    # On start-up the settings as they were are the defaults.
    s, problems = parse_settings({"device": "tpu"})
    assert s == Settings() and problems == ['infill.device: expected one of auto, cpu, cuda, got "tpu"; keeping "auto"']


def test_an_empty_language_list_is_applied_and_said():
    s, problems = parse_settings({"enabledLanguages": []})
    assert not s.language_enabled("python")
    assert len(problems) == 1 and "enabledLanguages is empty" in problems[0]
    assert parse_settings({"enabledLanguages": ["*"]})[1] == []


def test_missing_keys_keep_the_current_values_and_editor_keys_are_ignored():
    base = Settings(debounce_ms=5, candidates=4)
    s, problems = parse_settings({"infill": {"device": "cuda", "server": {"command": "x"}, "trace": {}}}, base)
    assert problems == []
    assert (s.device, s.debounce_ms, s.candidates) == ("cuda", 5, 4)


def test_empty_model_path_means_default_and_non_objects_are_reported():
    s, problems = parse_settings({"modelPath": ""}, Settings(model_path="/x"))
    assert s.model_path is None and problems == []
    s, problems = parse_settings([1, 2])
    assert s == Settings() and len(problems) == 1
    # An `infill` section that is not an object is said, not read as unknown keys around it.
    for section in ("fast", [1], 5, True):
        s, problems = parse_settings({"infill": section, "device": "cpu"})
        assert s == Settings() and problems == [f"infill settings: expected an object, got {json.dumps(section)}"]
    assert parse_settings({"infill": None}) == (Settings(), [])


def test_another_model_is_only_another_path_device_or_dtype():
    a = Settings()
    assert model_differs(a, Settings(model_path="/m")) and model_differs(a, Settings(device="cpu"))
    assert model_differs(a, Settings(dtype="float16"))
    # Threads are set on the model loaded, with no load (ModelLoader.set_threads).
    assert not model_differs(a, Settings(threads=1)) and not model_differs(a, Settings(debounce_ms=1))


def test_the_vscode_extension_offers_and_sends_every_server_setting():
    import json
    import re
    from pathlib import Path

    from infill_ls.settings import _FIELDS

    vscode = Path(__file__).resolve().parents[1] / "editors" / "vscode"
    offered = json.loads((vscode / "package.json").read_text())["contributes"]["configuration"]["properties"]
    source = (vscode / "src" / "settings.ts").read_text()
    sent = re.search(r"SERVER_SETTING_KEYS[^=]*= \[(.*?)\];", source, re.S).group(1)
    assert sorted(re.findall(r"'(\w+)'", sent)) == sorted(_FIELDS)
    assert [key for key in _FIELDS if f"infill.{key}" not in offered] == []


def test_enabled_languages_match_a_language_id_as_the_grammar_is_looked_up():
    # Emacs clients send `python-ts`, Neovim compound filetypes `python.django`; the grammar took them, and
    # enabledLanguages ["python"] gave them nothing without a word.
    s = parse_settings({"enabledLanguages": ["python", "TypeScript"]})[0]
    for language_id in ("python", "Python", "python-ts", "python.django", "htmldjango.python", "typescript-ts"):
        assert s.language_enabled(language_id), language_id
    for language_id in ("go", "pythonic", "typescriptreact", "cython"):
        assert not s.language_enabled(language_id), language_id


def test_null_sets_a_setting_back_to_the_value_the_server_started_with():
    # Editors send null for a setting the user removed: it goes back to the server's own value (its command line over
    # the defaults), said to no one. Settings whose null is one of their values keep that meaning.
    from infill_ls.service import InfillService

    started = Settings(device="cpu", dtype="float32", threads=2)  # `infill-ls --device cpu --dtype float32 --threads 2`
    service = InfillService(started)
    try:
        changed = {"device": "auto", "dtype": "bfloat16", "maxHoleTokens": 10, "debounceMs": 5,
                   "enabledLanguages": ["go"], "numCandidates": 1, "fileLookup": False, "neighborFiles": False,
                   "modelPath": "/m", "maxSteps": 4, "typingMaxSteps": 3, "threads": 4, "prefixTokens": 64,
                   "typingNewLines": False}
        assert service.configure(changed)[0] == []
        problems, _ = service.configure({"infill": dict.fromkeys(changed)})
        assert problems == []
        # threads: null is half the cores; typingMaxSteps: null is as maxSteps.
        assert service.settings == replace(started, threads=None, typing_max_steps=None)
        # And again from there: still the values the server started with, not the last ones the client sent.
        service.configure({"device": "cuda", "debounceMs": 7})
        service.configure({"device": None, "debounceMs": None})
        assert (service.settings.device, service.settings.debounce_ms) == ("cpu", Settings().debounce_ms)
    finally:
        service.shutdown()


def test_a_misspelt_key_or_a_section_named_like_ours_is_said_and_other_keys_are_not():
    cases = {
        "max_hole_tokens": "maxHoleTokens", "EnabledLanguages": "enabledLanguages",
        "enabledLanguage": "enabledLanguages", "debounce-ms": "debounceMs", "DEVICE": "device", "thread": "threads",
    }
    for key, known in cases.items():
        for payload in ({key: 1}, {"infill": {key: 1}}):
            s, problems = parse_settings(payload)
            assert s == Settings() and problems == [f"infill.{key}: unknown setting; did you mean {known}?"], payload
    for name in ("infill-ls", "infill_ls", "infillLs", "INFILL-LS", "Infill"):
        s, problems = parse_settings({name: {"enabledLanguages": ["go"]}, "infill": {"debounceMs": 5}})
        assert s == Settings(debounce_ms=5) and problems == [f'"{name}" is not read: settings go under "infill"'], name
        assert parse_settings({name: {}})[1] == [f'"{name}" is not read: settings go under "infill"']
    # The editor's own keys beside ours, and anything not close to one of ours.
    for key in ("server", "trace", "enabled", "command", "filetypes", "autoTrigger", "python"):
        assert parse_settings({"infill": {key: 1}}) == (Settings(), []) and parse_settings({key: 1})[1] == [], key


def test_the_bench_refuses_a_setting_the_server_would_name_or_keep_and_any_key_not_its_own(capsys):
    # The server and the bench read settings by one walk (`parse_settings`, `refused_settings`): a value the server
    # would keep in place of and a misspelt key are refused alike, a null is not (it is the server's own value), and
    # a key no setting is near, which an editor may keep beside ours, is refused on a command line alone.
    import pytest

    from infill_ls.bench import main

    settings = ["debounceMs=-1", "debounceMss=3", "editorKey=1", "numCandidates=null", 'device="cpu"']
    with pytest.raises(SystemExit) as ended:
        main([word for setting in settings for word in ("--setting", setting)])
    assert ended.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "python -m infill_ls.bench: error: --setting: infill.debounceMs: expected an integer from 0 to 5000, got -1; "
        "infill.debounceMss: unknown setting; did you mean debounceMs?; infill.editorKey: unknown setting")
    raw = {"debounceMs": -1, "debounceMss": 3, "editorKey": 1, "numCandidates": None, "device": "cpu"}
    s, problems = parse_settings(raw, Settings(debounce_ms=5, candidates=2), Settings(candidates=4))
    assert s == Settings(debounce_ms=5, candidates=4, device="cpu")
    assert problems == ["infill.debounceMs: expected an integer from 0 to 5000, got -1; keeping 5",
                        "infill.debounceMss: unknown setting; did you mean debounceMs?"]


@pytest_lsp.fixture(config=config([*SERVER, "--model", "/nonexistent/infill-model"]))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_a_settings_problem_is_said_once_until_it_is_fixed(client: LanguageClient):
    # Neovim from 0.10 sends the settings as initializationOptions and again as its `infill` section, and a client
    # sends the whole section on every change: the same problem was said on each.
    async def warnings_after(settings) -> list[str]:
        client.messages.clear()
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
        # Answered after the change has been read, so every message about it has arrived by then.
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
        return [m.message for m in client.messages if m.type == types.MessageType.Warning]

    await client.initialize_session(init_params(capabilities(), device="gpu", maxHoleTokens=32))
    said = 'infill-ls: infill.device: expected one of auto, cpu, cuda, got "gpu"; keeping "auto"'
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command="infill.stats"))
    assert [m.message for m in client.messages if m.type == types.MessageType.Warning] == [said]
    assert await warnings_after({"infill": {"device": "gpu", "maxHoleTokens": 32}}) == []
    assert await warnings_after({"infill": {"device": "gpu", "maxHoleTokens": 32, "debounceMs": 100}}) == []
    # Fixed, then broken again: said again.
    assert await warnings_after({"infill": {"device": "cpu"}}) == []
    assert await warnings_after({"infill": {"device": "gpu"}}) == [said.replace('keeping "auto"', 'keeping "cpu"')]


def test_a_failed_load_of_the_embedded_model_is_said_and_settings_sent_again_load_it_again_once_it_is_there(
        tmp_path, monkeypatch):
    # With no embedded model installed, reading the checkpoint's directory for a later retry raised before the load
    # could say why it failed: nothing was said, and what waited for the load waited for ever.
    import asyncio
    import shutil

    import engine.infill_lookup
    from infill_ls.service import InfillService
    from lsp_support import tiny_model

    missing = tmp_path / "default_model"
    monkeypatch.setattr(engine.infill_lookup, "DEFAULT_MODEL_DIR", missing)

    async def run():
        service = InfillService(Settings(device="cpu"), None)
        done = []
        service.load_model(done.append)
        for _ in range(600):
            if done:
                break
            await asyncio.sleep(0.05)
        assert done and "the embedded default model is not installed" in done[0].error
        assert service.configure({})[1] is False  # as it was on disk: nothing to load again
        shutil.copytree(tiny_model(), missing)
        assert service.configure({})[1] is True
        service.shutdown()

    asyncio.run(run())
