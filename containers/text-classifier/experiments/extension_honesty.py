#!/usr/bin/env python3
"""How often a run's final claim misses when later rounds may *extend* the set in force instead of replacing it.

Why: once the set in force covers most of a shrinking pool, a later round's fresh certificate can no longer
cover as many items, so nothing that round's better model is sure of is auto-labeled (docs/efficiency.md, the
lever "extending the set in force"). An extension keeps the set in force and its labels, puts its calibration
items first in the record (agreeing or not under the labels in force), and searches the round's own scores
below them: the loosest threshold whose union with the set in force is certified. That reuses a record that
already certified the set in force, chosen because it looked good, so its level is not the whole story; this
script measures the final claim's miss rate in the synthetic model of tests/unit/test_calibration.py
(`rounds_of_a_run`: 5 models of rising quality score 2,000 validation and 3,000 pool items; each round's
certificate replaces the one in force when it covers at least as many items), with and without extensions at
a given level. `persistent`: the same validation items disagree for every model (real labels, reused every
round); else every round's record is drawn afresh, the worst case for choosing among rounds.

    .venv/bin/python containers/text-classifier/experiments/extension_honesty.py   # ~10 minutes
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(REPO / "functions"), str(REPO / "functions" / "shared")]

from select_and_auto_label.logic import calibrate, replaces  # noqa: E402

TARGET = CONFIDENCE = 0.95


def run(seed: int, *, rounds: int, noise: float, persistent: bool, extend_confidence: float | None):
    """The pool's expected agreement over the set a run ends with (None: nothing certified), its size, and how
    many rounds extended it. extend_confidence None: no extensions (the shipped rule)."""
    rng = random.Random(seed)
    validation = [(rng.random(), rng.random()) for _ in range(2000)]  # (ease, how hard to get right)
    pool = [rng.random() for _ in range(3000)]
    in_force: dict[int, float] = {}  # pool item -> probability that its label in force agrees
    region: dict[int, bool] = {}  # validation item in the set in force's region -> whether its label there agrees
    extensions = 0
    for r in range(rounds):
        w = 0.45 - 0.2 * r / max(1, rounds - 1)

        def agreement(s: float, w: float = w) -> float:
            return (1 - noise) * (1 - (1 - s) * w)

        def score(u: float) -> float:
            return min(1.0, max(0.0, u + rng.gauss(0, 0.05)))

        scores = [score(u) for u, _ in validation]
        agrees = [
            (z if persistent else rng.random()) < agreement(s) for (_, z), s in zip(validation, scores, strict=True)
        ]
        pool_scores = [score(u) for u in pool]
        candidates = []
        fresh = calibrate(list(zip(scores, agrees, strict=True)), TARGET, CONFIDENCE)
        if fresh.value is not None:
            covered = {j: agreement(s) for j, s in enumerate(pool_scores) if s >= fresh.value}
            candidates.append((covered, fresh.value, False))
        if extend_confidence is not None and in_force:
            scored = [(math.inf, region[i]) if i in region else (scores[i], agrees[i]) for i in range(len(scores))]
            grown = calibrate(scored, TARGET, extend_confidence)
            if grown.value is not None and grown.value < math.inf:
                added = {j: agreement(s) for j, s in enumerate(pool_scores) if s >= grown.value and j not in in_force}
                candidates.append(({**in_force, **added}, grown.value, True))
        if not candidates:
            continue
        chosen, threshold, extends = max(candidates, key=lambda candidate: len(candidate[0]))
        if in_force and not replaces(len(chosen), len(in_force)):
            continue
        if extends:
            extensions += 1
        else:
            region = {}
        region.update({i: agrees[i] for i, s in enumerate(scores) if i not in region and s >= threshold})
        in_force = chosen
    final = sum(in_force.values()) / len(in_force) if in_force else None
    return final, len(in_force), extensions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.95, 0.975, 0.99])
    args = parser.parse_args()
    for noise, persistent in [(0.0, True), (0.01, True), (0.02, True), (0.0, False)]:
        for level in [None, *args.levels]:
            outcomes = [
                run(seed, rounds=args.rounds, noise=noise, persistent=persistent, extend_confidence=level)
                for seed in range(args.runs)
            ]
            misses = sum(final is not None and final < TARGET for final, _, _ in outcomes)
            mean_size = sum(size for _, size, _ in outcomes) / args.runs
            extended = sum(count > 0 for _, _, count in outcomes)
            print(
                f"noise {noise:.2f} {'persistent' if persistent else 'fresh draws'}  "
                f"{'no extensions' if level is None else f'extensions at {level}':>20}: "
                f"final claim missed {misses}/{args.runs}, set {mean_size:.0f} pool items on average, "
                f"{extended} runs extended",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
