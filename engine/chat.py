"""A checkpoint's chat template: how an instruction-tuned model expects a conversation to be written.

`google/diffusiongemma-26B-A4B-it` was trained on turns wrapped in markers (`<start_of_turn>user ... <end_of_turn>`);
a bare prompt is off its distribution. The template ships with the checkpoint as Jinja, in `chat_template.jinja` or
under `chat_template` in `tokenizer_config.json`, and is rendered in a sandbox: it is data, not code we trust.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.errors import CheckpointError


def read_chat_template(directory: Path) -> str:
    """The checkpoint's default chat template; CheckpointError naming the directory when it has none."""
    jinja = directory / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    config = directory / "tokenizer_config.json"
    if config.is_file():
        try:
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        except (UnicodeDecodeError, ValueError, AttributeError) as err:
            raise CheckpointError(f"{config}: not a JSON object ({err})") from None
        if isinstance(template, list):  # named templates: the default one
            template = next((t.get("template") for t in template
                             if isinstance(t, dict) and t.get("name") == "default"), None)
        if isinstance(template, str):
            return template
    raise CheckpointError(f"{directory}: no chat template (chat_template.jinja, or chat_template in "
                          "tokenizer_config.json); leave out --chat to send the prompt as it is")


def render_chat(template: str, messages: list[dict[str, str]], special: dict[str, str],
                source: str = "chat template") -> str:
    """The conversation written as the template writes it, ending where the model's turn begins."""
    try:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        raise CheckpointError("--chat needs jinja2 (pip install jinja2)") from None

    def raise_exception(message: str) -> Any:
        raise CheckpointError(f"{source}: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    try:
        return env.from_string(template).render(messages=messages, add_generation_prompt=True, **special)
    except jinja2.TemplateError as err:
        raise CheckpointError(f"{source}: {err}") from None
