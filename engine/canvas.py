"""A canvas: token ids plus a mask of fixed anchors; every other position is a hole that gets denoised.

Infill layout, one row per hole length H:  [hole x H][suffix anchors ...]  (length L)
The fill ends where the model writes voids; anchors past the end of the file are EOS then voids.
Several holes: [hole][anchors between][hole][anchors between]...[suffix anchors].
A drafted row's holes start from proposed fills (followed by voids) instead of noise; the denoiser may keep them
after one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Canvas:
    ids: torch.Tensor  # (B, L) anchor tokens where anchor is set; anything elsewhere
    anchor: torch.Tensor  # (B, L) bool
    holes: tuple[tuple[tuple[int, int], ...], ...]  # per row: (start, end) of each hole
    # (B,) bool: rows whose holes start from the tokens in `ids` (a draft) rather than from noise; None: none do
    drafted: torch.Tensor | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.ids.shape)

    def fills(self, tokens: torch.Tensor, row: int) -> list[list[int]]:
        return [tokens[row, a:b].tolist() for a, b in self.holes[row]]


def empty(batch: int, length: int) -> Canvas:
    """All holes: plain continuation."""
    return Canvas(torch.zeros(batch, length, dtype=torch.long), torch.zeros(batch, length, dtype=torch.bool),
                  tuple(((0, length),) for _ in range(batch)))


def _anchor_tail(suffix_ids: list[int], room: int, eos_id: int, void_id: int, at_end: bool) -> list[int]:
    tail = list(suffix_ids[:room])
    if len(tail) < room and at_end:
        tail.append(eos_id)
    return tail + [void_id] * (room - len(tail))


def with_holes(segments: list[list[int]], hole_lengths: list[int], eos_id: int, void_id: int,
               suffix_room: int, at_end: bool = True) -> Canvas:
    """One row per hole length; every hole of a row has that length.

    `segments` are the token ids after each hole; the last is the suffix, of which `suffix_room` tokens sit as
    anchors (fewer when the file ends: EOS, then voids). `at_end` says the suffix runs to the end of the file rather
    than being a window cut from it. Rows with shorter holes carry more suffix, so every row has the same length.
    """
    between = sum(len(seg) for seg in segments[:-1])
    width = max(hole_lengths) * len(segments) + between + suffix_room
    rows, masks, holes = [], [], []
    for H in hole_lengths:
        ids: list[int] = []
        spans = []
        for i, seg in enumerate(segments):
            spans.append((len(ids), len(ids) + H))
            ids += [void_id] * H
            if i < len(segments) - 1:
                ids += seg
        room = width - len(ids)
        ids += _anchor_tail(segments[-1], room, eos_id, void_id, at_end)
        anchor = torch.ones(width, dtype=torch.bool)
        for a, b in spans:
            anchor[a:b] = False
        rows.append(ids)
        masks.append(anchor)
        holes.append(tuple(spans))
    return Canvas(torch.tensor(rows, dtype=torch.long), torch.stack(masks), tuple(holes))


def with_drafts(canvas: Canvas, drafts: list[list[list[int]]], void_id: int) -> Canvas:
    """`canvas` with one more row per draft (one fill per hole): a copy of the first row whose holes hold the
    draft's fills, with the fills in them followed by voids. A draft that fits no row is left out."""
    if not drafts:
        return canvas
    ids, anchor, holes = list(canvas.ids), list(canvas.anchor), list(canvas.holes)
    for draft in drafts:
        row = next((r for r, spans in enumerate(canvas.holes)
                    if len(spans) == len(draft) and all(len(f) <= b - a for f, (a, b) in zip(draft, spans))), None)
        if row is None:
            continue
        drafted_ids = canvas.ids[row].clone()
        for fill, (a, b) in zip(draft, canvas.holes[row]):
            drafted_ids[a:b] = torch.tensor(fill + [void_id] * (b - a - len(fill)), dtype=torch.long)
        ids.append(drafted_ids)
        anchor.append(canvas.anchor[row])
        holes.append(canvas.holes[row])
    drafted = torch.arange(len(ids)) >= canvas.ids.shape[0]
    if canvas.drafted is not None:
        drafted[:canvas.ids.shape[0]] = canvas.drafted
    return Canvas(torch.stack(ids), torch.stack(anchor), tuple(holes), drafted)


def infill(suffix_ids: list[int], hole_lengths: list[int], eos_id: int, void_id: int, suffix_room: int,
           at_end: bool = True) -> Canvas:
    return with_holes([suffix_ids], hole_lengths, eos_id, void_id, suffix_room, at_end)
