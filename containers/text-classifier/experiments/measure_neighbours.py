#!/usr/bin/env python3
"""The nearest-neighbour expert (hyperparameter `neighbours`): what it adds to the product of the TF-IDF model
and the embedding's logistic regression, and how much the choice of k matters (the table is in ../README.md,
"Nearest neighbours").

The bench's own round-1 split: for each seed, 10,000 random rows of the bundled UCI News sample, the first
2,000 labeled (a fraction `--noise` of those labels a random wrong class, as `make bench --label-noise`), the
other 8,000 predicted by the bundle trained on them. Reported, averaged over seeds, for k = 0 (no vote) and
several k: cov@95% and cov@96% against the given labels (the largest share of the 8,000, most confident first by
the top-two margin, whose predictions agree with the labels at that rate: what the certificate can reach),
cov@96% against the true labels, and cov@96% against the truth on the "far" rows alone — those whose most
similar labeled headline has a cosine below 0.8 — to show the gain does not come from near-duplicate
headlines. `--binary`: health against everything else (the bench's binary set).

    TEXT_CLASSIFIER_EMBEDDING_MODEL=build/embedding-model TEXT_CLASSIFIER_EMBEDDING_CACHE=build/embedding-cache \
      .venv/bin/python containers/text-classifier/experiments/measure_neighbours.py --noise 0 0.02
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(HERE.parent), str(HERE), str(REPO)]

from measure import coverage_at  # noqa: E402
from round1_search import class_names_of, draw, margins  # noqa: E402

from local.sample import Dataset, read_rows  # noqa: E402
from text_classifier.contract import Example  # noqa: E402
from text_classifier.embedding import default_embedder  # noqa: E402
from text_classifier.model import train_bundle  # noqa: E402
from text_classifier.params import Params  # noqa: E402

LABELED = 2_000
FAR = 0.8


def cov(score: np.ndarray, correct: np.ndarray, target: float) -> float:
    return coverage_at(correct[np.argsort(-score, kind="stable")], target)


def sample_size(text: str) -> int:
    """`--size`: the rows drawn, of which the first LABELED are labeled and the rest predicted."""
    size = int(text)
    if size <= LABELED:
        raise argparse.ArgumentTypeError(f"must exceed the {LABELED:,} labeled rows")
    return size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.02])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--size", type=sample_size, default=10_000)
    parser.add_argument("--k", type=int, nargs="+", default=[0, 5, 10, 20, 50])
    parser.add_argument("--binary", action="store_true", help="health against everything else")
    args = parser.parse_args()
    dataset = Dataset.bundled()
    rows = read_rows(dataset)
    names = class_names_of(dataset, rows, args.binary)
    print(
        f"{'binary: health against the rest' if args.binary else 'UCI News, 4 classes'}; {args.seeds} seeds, "
        f"{LABELED:,} labeled of {args.size:,}\n\n"
        "| labels wrong | k | cov@95% (given) | cov@96% (given) | cov@96% (truth) "
        "| cov@96% (truth), far rows | far share |\n"
        "|---:|---:|---:|---:|---:|---:|---:|"
    )
    for noise in args.noise:
        results: dict[int, list[list[float]]] = {k: [] for k in args.k}
        for seed in range(args.seeds):
            texts, truth, given = draw(rows, names, args.size, seed, noise, args.binary)
            vectors = default_embedder().embed(texts).astype(np.float64)
            far = (vectors[LABELED:] @ vectors[:LABELED].T).max(axis=1) < FAR
            examples = [Example(texts[i], int(given[i]), None) for i in range(LABELED)]
            for k in args.k:
                p = train_bundle(examples, Params(neighbours=k), len(names)).predict_proba(texts[LABELED:])
                score, predicted = margins(p), p.argmax(axis=1)
                right, agrees = predicted == truth[LABELED:], predicted == given[LABELED:]
                results[k].append(
                    [
                        cov(score, agrees, 0.95),
                        cov(score, agrees, 0.96),
                        cov(score, right, 0.96),
                        cov(score[far], right[far], 0.96),
                        float(far.mean()),
                    ]
                )
        for k, values in results.items():
            print(
                f"| {noise:.0%} | {k} | " + " | ".join(f"{v:.1%}" for v in np.mean(values, axis=0)) + " |", flush=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
