"""A checkpoint's chat template renders as Hugging Face's apply_chat_template renders it: the same helpers
(`strftime_now`, a `tojson` that keeps non-ASCII text and takes indent/sort arguments, `{% generation %}`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from engine.chat import read_chat_template, render_chat
from engine.errors import CheckpointError
from engine.infill import DEFAULT_MODEL_DIR
from engine.tokenizer import Tokenizer

transformers = pytest.importorskip("transformers")

MESSAGES = [
    {"role": "system", "content": "Réponds en français <b>&'\"</b>"},
    {"role": "user", "content": "héllo ∑ 日本 🐍\n\tx < y"},
    {"role": "assistant", "content": "bonjour"},
    {"role": "user", "content": "encore"},
]

TEMPLATES = {
    "tojson": "{{ messages | tojson }}|{{ messages[1] | tojson(indent=2, sort_keys=True) }}|"
              "{{ messages[0] | tojson(separators=(',', ':')) }}|{{ 'é' | tojson(true) }}|"
              "{{ {'b': 1, 'a': [2]} | tojson(false, 4) }}",
    # As instruction-tuned templates mark the replies a trainer learns from; a `set` inside stays inside.
    "generation": "{{ bos_token }}{% set n = 0 %}{% for m in messages %}<{{ m['role'] }}>"
                  "{% if m['role'] == 'assistant' %}{% generation %}{% set n = 1 %}{{ m['content'] }}{{ eos_token }}"
                  "{% endgeneration %}{% else %}{{ m['content'] }}{% endif %}\n{% if loop.index == 3 %}{% break %}"
                  "{% endif %}{% endfor %}[{{ n }}]{% if add_generation_prompt %}<assistant>{% endif %}",
    "gemma": "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{% continue %}{% endif %}"
             "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] | trim }}"
             "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}",
}


@pytest.fixture(scope="module")
def tokenizers():
    ours = Tokenizer.from_file(DEFAULT_MODEL_DIR / "tokenizer.json")
    theirs = transformers.PreTrainedTokenizerFast(tokenizer_file=str(DEFAULT_MODEL_DIR / "tokenizer.json"),
                                                  **ours.special_tokens())
    return ours, theirs


def reference(theirs, template: str) -> str:
    return theirs.apply_chat_template(MESSAGES, chat_template=template, tokenize=False, add_generation_prompt=True)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_a_template_renders_as_transformers_renders_it(tokenizers, name):
    ours, theirs = tokenizers
    assert render_chat(TEMPLATES[name], MESSAGES, ours.special_tokens()) == reference(theirs, TEMPLATES[name])


def test_strftime_now_writes_todays_date(tokenizers):
    ours, theirs = tokenizers
    template = "{{ bos_token }}Today is {{ strftime_now('%d %B %Y') }}.{{ strftime_now('%%') }}"
    # Rendered before and after the reference's: a day that ends in between is the second.
    before = render_chat(template, MESSAGES, ours.special_tokens())
    expected = reference(theirs, template)
    after = render_chat(template, MESSAGES, ours.special_tokens())
    assert expected in (before, after) and expected.endswith(".%")


@pytest.mark.parametrize("template, expected", [
    ("{% generation %}x", "Jinja was looking for the following tags: 'endgeneration'"),
    ("{{ tools | tojson }}", "tojson: Object of type Undefined is not JSON serializable"),
    # The template's own arithmetic failing is its mistake too, not the program's.
    ("{{ (messages | length) // 0 }}", "ZeroDivisionError: integer division or modulo by zero"),
])
def test_a_template_mistake_is_one_line_naming_the_template(template, expected):
    with pytest.raises(CheckpointError) as caught:
        render_chat(template, MESSAGES, {}, source="m/chat_template.jinja")
    message = str(caught.value)
    assert message.startswith("m/chat_template.jinja: ") and expected in message and "\n" not in message


def test_a_template_file_not_in_utf8_is_named(tmp_path):
    (tmp_path / "chat_template.jinja").write_bytes("{{ bos_token }}\u00abuser\u00bb".encode("latin-1"))
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(tmp_path / 'chat_template.jinja'))}: not UTF-8 text"):
        read_chat_template(tmp_path)


def test_generate_chat_with_a_dated_template(tmp_path):
    chat = tmp_path / "chat"
    shutil.copytree(DEFAULT_MODEL_DIR, chat)
    (chat / "chat_template.jinja").write_text("{{ bos_token }}{{ strftime_now('%d %b %Y') }}<start_of_turn>user\n"
                                              "{{ messages[0]['content'] | tojson }}<end_of_turn>\n"
                                              "<start_of_turn>model\n")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "generate", "--model", str(chat), "--device", "cpu",
                           "--prompt", "hi", "--max-new-tokens", "4", "--chat"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
