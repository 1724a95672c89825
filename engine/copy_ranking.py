"""Fit the weights that rank the fills a file spells out (`engine.lookup.RANKING_WEIGHTS`).

    python -m engine.copy_ranking --split data/corpus/train.jsonl [--split ...] [--heldout FILE.jsonl ...]
                                  [--max-files N] [--max-cases N] [--seeds 0 1 2] [--kinds line closing statement]

Holes are cut from the files of the training splits given (`engine.holes.sample_cases`, from a seeded sample of at
most `--max-files` files of each), the fills the lookup gathers for each (`engine.lookup.gather_fills`, the files of
the hole's directory searched beside it) labelled by whether each restores the hole exactly, and the weights fit as a
conditional logit: for each hole with an exact fill among its fills, the log-probability of its exact fills against
all of them, with a little L2. It prints the weights as `engine/lookup.py` writes them, and, on the training holes
and on those of each `--heldout` split, how often the fill the server would show is exact: the first of the
`COPIES_TESTED` ranked first after which the file parses, else the first, ranked in the order found, by the weights in
`engine/lookup.py` and by those just fit.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from engine.arguments import user_path_object
from engine.eval_inputs import EvaluationInputError, documents_from_heldout
from engine.evaluate import directory_neighbors, exact_match
from engine.holes import SourceDocument, is_parse_valid, sample_cases
from engine.lookup import COPIES_TESTED, RANKED, RANKING_WEIGHTS, LookupFill, gather_fills
from engine.tokenizer import model_text


@dataclass(frozen=True)
class Scored:
    """A fill gathered for a hole, with what the fit and the count need of it."""

    fill: LookupFill
    exact: bool
    parses: bool


def hole_fills(documents: Sequence[SourceDocument], kinds: Sequence[str], seeds: Sequence[int],
               max_cases: int) -> list[tuple[str, list[Scored]]]:
    """For each hole cut from `documents` with fills to rank, its language and those fills in the order gathered."""
    beside = directory_neighbors(documents)
    holes = []
    for seed in seeds:
        for case in sample_cases(documents, kinds=kinds, max_cases=max_cases, seed=seed):
            found = gather_fills(model_text(case.prefix), model_text(case.suffix), RANKED,
                                 (model_text(text) for text in beside(case)))
            if found:
                holes.append((case.language, [Scored(f, exact_match(f.text, case.middle),
                                                     is_parse_valid(case.prefix + f.text + case.suffix, case.language))
                                              for f in found]))
    return holes


def fit(holes: Sequence[Sequence[Scored]], l2: float = 1e-3, iterations: int = 300) -> dict[str, float]:
    """Weights for `LookupFill.features` that make each hole's exact fills likely among its fills."""
    kept = [(torch.tensor([s.fill.features for s in hole]), torch.tensor([s.exact for s in hole]))
            for hole in holes if any(s.exact for s in hole)]
    if not kept:
        raise ValueError("no hole has an exact fill among its fills: nothing to fit")
    weights = torch.zeros(len(RANKING_WEIGHTS), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights], max_iter=iterations, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        total = torch.zeros((), dtype=torch.float64)
        for features, exact in kept:
            scores = features.double() @ weights  # (fills,)
            total = total - (torch.logsumexp(scores[exact], 0) - torch.logsumexp(scores, 0))
        value = total / len(kept) + l2 * (weights ** 2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    return {name: round(float(w), 2) for name, w in zip(RANKING_WEIGHTS, weights.detach())}


def shown_exact(holes: Sequence[Sequence[Scored]], weights: dict[str, float] | None) -> int:
    """Holes whose shown fill is exact: of the fills ranked by `weights` (None: in the order gathered), the first
    of the `COPIES_TESTED` first after which the file parses, else the first."""
    count = 0
    for hole in holes:
        if weights is not None:
            hole = sorted(hole, key=lambda s: -s.fill.score(weights))
        shown = next((s for s in hole[:COPIES_TESTED] if s.parses), hole[0])
        count += shown.exact
    return count


def _documents(path: Path, max_files: int) -> list[SourceDocument]:
    """A seeded sample of at most `max_files` of the split's files, the same on every run."""
    documents = documents_from_heldout(path, "training")
    random.Random(0).shuffle(documents)
    return documents[:max_files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.copy_ranking", description=__doc__.split("\n")[0])
    parser.add_argument("--split", type=user_path_object, action="append", required=True,
                        help="a training split file (train.jsonl) to cut holes from; repeat for more")
    parser.add_argument("--heldout", type=user_path_object, action="append", default=[],
                        help="a held-out split file to count shown exact fills on; repeat for more")
    parser.add_argument("--max-files", type=int, default=8000, help="files sampled from each split (8000)")
    parser.add_argument("--max-cases", type=int, default=600, help="holes of each kind per seed (600)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--kinds", nargs="+", default=["line", "closing", "statement"],
                        choices=["line", "statement", "block", "closing"])
    args = parser.parse_args(argv)
    if args.max_files < 1 or args.max_cases < 1:
        parser.error("--max-files and --max-cases must be at least 1")
    try:
        train = [fills for path in args.split for _, fills in hole_fills(
            _documents(path, args.max_files), args.kinds, args.seeds, args.max_cases)]
        heldout = {}
        for path in args.heldout:
            for language, fills in hole_fills(documents_from_heldout(path), args.kinds, args.seeds, args.max_cases):
                heldout.setdefault(f"{path}, {language}", []).append(fills)
        weights = fit(train)
    except (EvaluationInputError, ValueError) as err:
        print(f"copy_ranking: {err}", file=sys.stderr)
        return 2
    print("RANKING_WEIGHTS = {")
    for name, value in weights.items():
        print(f'    "{name}": {value},')
    print("}")
    print("\nshown fill exact, of holes with fills: in the order found / engine/lookup.py's weights / these")
    for name, holes in [("training holes", train), *heldout.items()]:
        counts = [shown_exact(holes, w) for w in (None, RANKING_WEIGHTS, weights)]
        print(f"{name}: {len(holes)} holes: " + " / ".join(map(str, counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
