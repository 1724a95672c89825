"""A checkpoint's chat template: how an instruction-tuned model expects a conversation to be written.

`google/diffusiongemma-26B-A4B-it` was trained on turns wrapped in markers (`<start_of_turn>user ... <end_of_turn>`);
a bare prompt is off its distribution. The template ships with the checkpoint as Jinja, in `chat_template.jinja` or
under `chat_template` in `tokenizer_config.json`, and is rendered in a sandbox: it is data, not code we trust.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import CheckpointError


def read_chat_template(directory: Path) -> str:
    """The checkpoint's default chat template; CheckpointError naming the directory when it has none."""
    jinja = directory / "chat_template.jinja"
    if jinja.is_file():
        try:
            return jinja.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise CheckpointError(f"{jinja}: not UTF-8 text ({err})") from None
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

    # The environment Hugging Face's apply_chat_template gives a template, which checkpoints' templates are written
    # for: its own helpers besides Jinja's.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols", _generation_block()])
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.filters["tojson"] = _tojson
    try:
        return env.from_string(template).render(messages=messages, add_generation_prompt=True, **special)
    except jinja2.TemplateError as err:
        raise CheckpointError(f"{source}: {err}") from None
    except CheckpointError:
        raise
    except Exception as err:  # the template's own code failed (`// 0`, a method of None): the template's fault
        raise CheckpointError(f"{source}: {type(err).__name__}: {err}") from None


def _strftime_now(format: str) -> str:
    """The local date and time as `format` writes it: a template that dates its system turn asks for it."""
    return datetime.now().strftime(format)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | str | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    """JSON as written into a prompt: non-ASCII text as it is and no HTML escaping, unlike Jinja's own filter."""
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    except (TypeError, ValueError) as err:  # a value JSON cannot write (an undefined name): the template's mistake
        import jinja2

        raise jinja2.TemplateError(f"tojson: {err}") from None


def _generation_block() -> type:
    """`{% generation %}...{% endgeneration %}`: marks the replies a trainer learns from; rendering writes its body,
    in a scope of its own."""
    from jinja2 import nodes
    from jinja2.ext import Extension

    class GenerationBlock(Extension):
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return GenerationBlock
