#!/usr/bin/env python3
"""Where label noise costs the certificate: in what the model learns from, or in the labels it is checked against?

The bench's round-1 split (as `measure_neighbours.py`): for each seed, 10,000 random rows of the bundled UCI News
sample, the first 2,000 labeled with a fraction `--noise` of the labels a random wrong class, the other 8,000
predicted by the bundle (the container's defaults) trained on them. Three training sets:
- `given`: the 2,000 labels as people gave them (what the workflow trains on);
- `true`: the same rows with their true labels (a yardstick no workflow has: how much the noise in the training
  labels alone costs);
- `pruned < c`: the given labels without the rows whose given label has an out-of-fold probability below c
  (5 folds; "confident learning", the usual remedy for noisy training labels).
Reported, averaged over seeds: cov@95% and cov@96% against the labels given to the 8,000 (with the same noise:
what the certificate can reach), cov@97% and cov@98% against their true labels, and, for pruning, how many rows
were dropped and how many of the truly wrong ones among them.

    TEXT_CLASSIFIER_EMBEDDING_MODEL=build/embedding-model TEXT_CLASSIFIER_EMBEDDING_CACHE=build/embedding-cache \
      .venv/bin/python containers/text-classifier/experiments/noisy_training.py --noise 0.02
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(HERE.parent), str(HERE), str(REPO)]

from measure_neighbours import LABELED, cov, sample_size  # noqa: E402
from round1_search import class_names_of, draw, margins  # noqa: E402

from local.sample import Dataset, read_rows  # noqa: E402
from text_classifier.contract import Example  # noqa: E402
from text_classifier.model import train_bundle  # noqa: E402
from text_classifier.params import Params  # noqa: E402

FOLDS = 5


def coverages(
    texts: list[str], truth: np.ndarray, given: np.ndarray, labels: np.ndarray, rows: np.ndarray, classes: int
) -> list[float]:
    """Train on `rows` of the labeled part with `labels`, predict the rest, and measure the coverages."""
    examples = [Example(texts[i], int(labels[i]), None) for i in rows]
    p = train_bundle(examples, Params(), classes).predict_proba(texts[LABELED:])
    score, label = margins(p), p.argmax(axis=1)
    agrees, right = label == given[LABELED:], label == truth[LABELED:]
    return [cov(score, agrees, 0.95), cov(score, agrees, 0.96), cov(score, right, 0.97), cov(score, right, 0.98)]


def out_of_fold(texts: list[str], given: np.ndarray, seed: int, classes: int) -> np.ndarray:
    """Each labeled row's probabilities from the bundle trained on the other folds."""
    folds = np.random.default_rng(seed).permutation(np.arange(LABELED) % FOLDS)
    probabilities = np.zeros((LABELED, classes))
    for k in range(FOLDS):
        held, kept = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
        examples = [Example(texts[i], int(given[i]), None) for i in kept]
        probabilities[held] = train_bundle(examples, Params(), classes).predict_proba([texts[i] for i in held])
    return probabilities


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--size", type=sample_size, default=10_000)
    parser.add_argument("--cuts", type=float, nargs="+", default=[0.05, 0.15])
    args = parser.parse_args()
    dataset = Dataset.bundled()
    rows = read_rows(dataset)
    names = class_names_of(dataset, rows, False)
    results: dict[str, list[list[float]]] = {}
    for seed in range(args.seeds):
        texts, truth, given = draw(rows, names, args.size, seed, args.noise)
        labeled, classes = np.arange(LABELED), len(names)
        results.setdefault("given", []).append(coverages(texts, truth, given, given, labeled, classes) + [0, 0])
        results.setdefault("true", []).append(coverages(texts, truth, given, truth, labeled, classes) + [0, 0])
        given_probability = out_of_fold(texts, given, seed, classes)[labeled, given[:LABELED]]
        wrong = given[:LABELED] != truth[:LABELED]
        for cut in args.cuts:
            suspect = given_probability < cut
            kept = np.flatnonzero(~suspect)
            results.setdefault(f"pruned < {cut}", []).append(
                coverages(texts, truth, given, given, kept, classes) + [int(suspect.sum()), int(wrong[suspect].sum())]
            )
        print(f"seed {seed} done ({int(wrong.sum())} of {LABELED} training labels wrong)", file=sys.stderr, flush=True)
    print(
        f"UCI News, {args.noise:.0%} of the labels wrong; {args.seeds} seeds, {LABELED:,} labeled of {args.size:,}\n\n"
        "| trained on | cov@95% (given) | cov@96% (given) | cov@97% (truth) | cov@98% (truth) | rows dropped "
        "| of them wrong |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for name, values in results.items():
        mean = np.mean(values, axis=0)
        print(f"| {name} | " + " | ".join(f"{v:.1%}" for v in mean[:4]) + f" | {mean[4]:.0f} | {mean[5]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
