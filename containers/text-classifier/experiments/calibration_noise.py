#!/usr/bin/env python3
"""Round 1 of the workflow, replicated in one process, to compare threshold searches under label noise.

For each noise level and seed: 10,000 random rows of the bundled UCI News sample; a fraction `noise` of all
labels is a random wrong class (what people would give); the first 20% are the pre-labeled bootstrap, which
trains the bundled model with 5 cross-fit folds and is scored out-of-fold, exactly as the cross_fit
calibration mode does. Printed per noise level: the share of the calibration items each search certifies at
95% / 95% (mean, and on how many seeds nothing), for the shipped search (`calibrate`: the fallback procedure
from three entry points) and the single fixed sequence it replaced (start at 59 items, stop at the first
failure).

    .venv/bin/python containers/text-classifier/experiments/calibration_noise.py            # ~3 minutes
    .venv/bin/python containers/text-classifier/experiments/calibration_noise.py --noise 0 0.02 --seeds 3
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(HERE.parent), str(REPO / "functions"), str(REPO / "functions" / "shared"), str(REPO)]

from select_and_auto_label.logic import calibrate, clopper_pearson_lower, minimum_items  # noqa: E402

from local.sample import UCI_CODES, Dataset, class_names, noisy_labels, read_rows  # noqa: E402
from text_classifier.model import Example, train_bundle  # noqa: E402
from text_classifier.params import parse  # noqa: E402

TARGET = CONFIDENCE = 0.95


def single_fixed_sequence(scored: list[tuple[float, bool]]) -> int:
    """The search before: strictest first from the first count a flawless record can pass, every
    max(10, n/50) items, stop at the first failure. Returns the items certified (0: none)."""
    ordered = sorted(scored, key=lambda item: -item[0])
    step, best, correct, next_test = max(10, len(ordered) // 50), 0, 0, minimum_items(TARGET, CONFIDENCE)
    for position, (score, is_correct) in enumerate(ordered, start=1):
        correct += is_correct
        at_boundary = position == len(ordered) or ordered[position][0] < score
        if not at_boundary or (position < next_test and position < len(ordered)):
            continue
        if clopper_pearson_lower(correct, position, CONFIDENCE) < TARGET:
            break
        best, next_test = position, position + step
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.03])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args()
    dataset = Dataset.bundled()
    rows = read_rows(dataset)
    names = class_names(dataset, rows)
    calibration = args.size // 5
    print("| label noise | search | calibration items certified (mean) | seeds with nothing |\n|---|---|---:|---:|")
    for noise in args.noise:
        shares: dict[str, list[float]] = {"fallback, three entry points (shipped)": [], "single fixed sequence": []}
        for seed in range(args.seeds):
            chosen = random.Random(seed).sample(range(len(rows)), args.size)[:calibration]
            texts = [rows[i]["title"] for i in chosen]
            truth = {str(i): names.index(UCI_CODES[rows[i]["category"]]) for i in chosen}
            given = noisy_labels(truth, len(names), noise, seed)
            labels = np.array([given[str(i)] for i in chosen])
            folds = [k % 5 for k in range(calibration)]
            bundle = train_bundle(
                [Example(t, int(y), f) for t, y, f in zip(texts, labels, folds, strict=True)], parse({}), 4
            )
            probabilities = np.sort(bundle.predict_proba(texts, folds), axis=1)
            margins = probabilities[:, -1] - probabilities[:, -2]
            predicted = bundle.predict_proba(texts, folds).argmax(axis=1)
            scored = list(zip(margins.tolist(), (predicted == labels).tolist(), strict=True))
            shares["fallback, three entry points (shipped)"].append(
                calibrate(scored, 0, 0, TARGET, CONFIDENCE).items / calibration
            )
            shares["single fixed sequence"].append(single_fixed_sequence(scored) / calibration)
        for name, values in shares.items():
            print(f"| {noise:.0%} | {name} | {np.mean(values):.1%} | {sum(v == 0 for v in values)} of {len(values)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
