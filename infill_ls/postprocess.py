"""Turning a raw fill into text an editor can insert at the cursor or in place of a placeholder.

The fill is cut to the hole's shape, loses whatever the text after the cursor already says
(closing brackets the editor inserted, the next line), takes the file's indentation and line
breaks, and is dropped when nothing is left.
"""

from __future__ import annotations

import re

from .context import HoleShape, InfillContext, leading_whitespace

_TAB_COLUMNS = 4
# Control characters other than tab and line breaks: source code does not hold them raw, an editor
# would draw them as ^X, and a model only writes them when it is lost. A fill stops at the first.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(fill: str) -> str:
    """The fill with LF line breaks, up to its first control character."""
    fill = fill.replace("\r\n", "\n").replace("\r", "\n")
    control = _CONTROL.search(fill)
    return fill[: control.start()] if control is not None else fill


def _columns(indent: str) -> int:
    return len(indent.expandtabs(_TAB_COLUMNS))


def _overlap(text: str, rest: str) -> int:
    """Length of the longest tail of ``text`` that is a head of ``rest``."""
    for size in range(min(len(text), len(rest)), 0, -1):
        if text.endswith(rest[:size]):
            return size
    return 0


def fit_line(ctx: InfillContext, fill: str) -> str:
    """One line that sits between the cursor and the rest of its line."""
    text = fill.lstrip("\n") if not ctx.line_prefix.strip() else fill
    text = text.split("\n", 1)[0]
    if not ctx.line_prefix.strip():
        # On a blank line the fill brings its statement, the file brings the indentation.
        text = text.lstrip()
        if ctx.body_indent.startswith(ctx.line_prefix):
            text = ctx.body_indent[len(ctx.line_prefix) :] + text if text else text
    rest = ctx.line_suffix.strip()
    if not rest:
        return text.rstrip()
    core = text.rstrip()
    if core.endswith(rest):
        return core[: len(core) - len(rest)]
    cut = _overlap(core, rest)
    return core[: len(core) - cut] if cut else text


# A fill's line as the column it stands at and its text without indentation ("" when blank).
_Placed = tuple[int, str]


def _placed(lines: list[str], first_column: int) -> list[_Placed]:
    """Each line at its column; the first goes on from ``first_column``."""
    return [
        (_columns(leading_whitespace(line)) + (first_column if i == 0 else 0), line.strip())
        for i, line in enumerate(lines)
    ]


def _within(lines: list[_Placed], base: int) -> list[_Placed]:
    """The lines up to the first that dedents below ``base``, less trailing blank lines."""
    body: list[_Placed] = []
    for column, text in lines:
        if text and column < base:
            break  # the fill left the body: what follows belongs to the suffix's code
        body.append((column, text))
    while body and not body[-1][1]:
        body.pop()
    return body


def _step(columns: list[int]) -> int:
    """The fill's own indentation step in columns."""
    widths = sorted(set(columns))
    steps = [b - a for a, b in zip(widths, widths[1:]) if b > a]
    return min(steps) if steps else _TAB_COLUMNS


def _render(lines: list[_Placed], base: int, step: int, indent: str, unit: str) -> list[str]:
    """Lines at ``base`` get ``indent``; each ``step`` deeper one more of the file's ``unit``."""
    rendered = []
    for column, text in lines:
        levels, spaces = divmod(column - base, step)
        rendered.append(indent + unit * levels + " " * spaces + text if text else "")
    return rendered


def fit_block(ctx: InfillContext, fill: str) -> str:
    """Lines forming one body at ``ctx.body_indent``, in the file's indentation style."""
    lines = fill.split("\n")
    # A first line that goes on from a cursor standing in the indentation starts at the cursor's column.
    first_column = _columns(ctx.line_prefix) if lines[0].strip() and not ctx.line_prefix.strip() else 0
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return ""
    placed = _placed(lines, first_column)
    base = placed[0][0]
    body = _within(placed, base)
    step = _step([column for column, text in (body[1:] if first_column else body) if text])
    rendered = _drop_repeated_lines(_render(body, base, step, ctx.body_indent, ctx.indent_unit), ctx)
    if not rendered:
        return ""
    text = "\n".join(rendered)
    if ctx.line_prefix.strip():
        text = "\n" + text  # the cursor sits at the end of the opener's line
    elif ctx.body_indent.startswith(ctx.line_prefix):
        text = text[len(ctx.line_prefix) :]  # the cursor already stands in the indentation
    else:
        text = text.lstrip(" \t")
    if ctx.line_suffix.strip():
        text += "\n" + ctx.line_indent  # the closer the editor inserted goes on its own line
    return text


def fit_placeholder(fill: str, line_indent: str, unit: str) -> str:
    """A fill in place of a placeholder on a line indented by ``line_indent``, "" when empty.

    The first line takes the placeholder's place. The model writes on from the text before the
    placeholder, so the further lines carry the file's absolute indentation: each keeps its
    depth below the placeholder's line, in the file's ``unit``, until one dedents out of it.
    Line breaks come out as LF.
    """
    lines = plain_text(fill).strip().split("\n")
    if not lines[0]:
        return ""
    base = _columns(line_indent)
    body = _within(_placed(lines, base), base)
    step = _step([base] + [column for column, text in body[1:] if text])
    rendered = _render(body, base, step, line_indent, unit)
    return "\n".join([body[0][1], *rendered[1:]])


def _following_lines(ctx: InfillContext) -> list[str]:
    """The non-blank lines after the hole as they will stand once the fill is in."""
    lines = ctx.suffix.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first, rest = lines[0], lines[1:]
    head = [ctx.line_indent + first.strip()] if first.strip() else []
    return [line.rstrip() for line in head + rest if line.strip()]


def _drop_repeated_lines(lines: list[str], ctx: InfillContext) -> list[str]:
    """Drop the fill's last lines when the text after the hole starts with the same lines."""
    following = _following_lines(ctx)
    content = [i for i, line in enumerate(lines) if line.strip()]
    for size in range(min(len(content), len(following)), 0, -1):
        tail = [lines[i].rstrip() for i in content[-size:]]
        if tail == following[:size]:
            return lines[: content[-size]]
    return lines


def postprocess(ctx: InfillContext, fill: str) -> str | None:
    """The text to insert at the cursor, or None when the fill adds nothing."""
    fill = plain_text(fill)
    text = fit_line(ctx, fill) if ctx.shape is HoleShape.LINE else fit_block(ctx, fill)
    if not text.strip():
        return None
    return text.replace("\n", ctx.eol) if ctx.eol != "\n" else text


def postprocess_all(ctx: InfillContext, fills: list[str]) -> list[str]:
    """Distinct usable fills, in the order given."""
    seen: set[str] = set()
    out: list[str] = []
    for fill in fills:
        text = postprocess(ctx, fill)
        if text is not None and text not in seen:
            seen.add(text)
            out.append(text)
    return out
