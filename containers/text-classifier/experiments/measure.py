#!/usr/bin/env python3
"""Measure the text classifier the way the workflow uses it; prints the tables in ../README.md.

For each training size (default 1000/2000/3000 labels drawn at random from the UCI News sample) and seed,
train with the container's own code and predict 10,000 other rows of the sample. Reported, averaged over
seeds: accuracy; accuracy@coverage (accuracy of the 50/60/70/80% most confident predictions, ranked by the
top probability: what auto-labeling keeps); cov@95 (the largest share of the 10,000 rows whose most
confident predictions are at least 95% accurate); seconds to train one model and to predict 10,000 rows.

`--score margin` ranks by the top-1 minus top-2 probability instead, as the workflow's select_and_auto_label
does (the numbers move by at most 0.003).

Then two checks of a whole round with cross-fitting (the workflow's `cross_fit` calibration mode):
- timing: train the full model plus K=5 fold models on the largest size, predict 10,000 rows;
- calibration: a fifth of the labels are "validation" items with an `al:fold`; the confidence threshold
  for 95% accuracy is picked on their out-of-fold predictions, then applied to the 10,000 pool rows (what
  share is auto-labeled, and how accurate that is), compared with a holdout model that never trains on
  the validation items.

    .venv/bin/python containers/text-classifier/experiments/measure.py            # ~2 minutes, 2 cores
    .venv/bin/python containers/text-classifier/experiments/measure.py --seeds 0 1 --sizes 1000
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from text_classifier.model import Example, TextModel, train_bundle  # noqa: E402
from text_classifier.params import parse  # noqa: E402

CLASSES = {"b": 0, "e": 1, "m": 2, "t": 3}
DEFAULT_DATA = HERE.parents[2] / "examples" / "uci-news" / "news-50k.csv.gz"
CONFIGS = {
    "baseline: word 1-2 + char_wb 2-5 TF-IDF, LogisticRegression(C=10)": {
        "classifier": "logistic_regression",
        "C": "10",
        "sentence_embedding": "none",
    },
    "TF-IDF only: same features, ComplementNB(alpha=0.1)": {"sentence_embedding": "none"},
    "default: ComplementNB x LogisticRegression(C=4) on all-MiniLM-L6-v2 embeddings": {},
}
COVERAGES = (0.5, 0.6, 0.7, 0.8)
TARGET = 0.95


def load(path: Path) -> tuple[list[str], np.ndarray]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["title"] for r in rows], np.array([CLASSES[r["category"]] for r in rows])


SCORE = "top"


def confidence(prob: np.ndarray) -> np.ndarray:
    """What predictions are ranked by: the top probability, or the top-1 minus top-2 margin."""
    top2 = np.sort(prob, axis=1)[:, -2:]
    return top2[:, 1] if SCORE == "top" else top2[:, 1] - top2[:, 0]


def ranking(prob: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Correctness of the predictions, most confident first."""
    order = np.argsort(-confidence(prob), kind="stable")
    return (prob.argmax(axis=1) == y)[order]


def coverage_at(correct: np.ndarray, target: float) -> float:
    cumulative = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    ok = np.flatnonzero(cumulative >= target)
    return (ok[-1] + 1) / len(correct) if len(ok) else 0.0


def quality(prob: np.ndarray, y: np.ndarray) -> list[float]:
    correct = ranking(prob, y)
    at = [correct[: int(round(c * len(y)))].mean() for c in COVERAGES]
    return [correct.mean(), *at, coverage_at(correct, TARGET)]


def threshold_for(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Lowest confidence whose at-least-as-confident predictions are >= target accurate (inf: none)."""
    order = np.argsort(-conf, kind="stable")
    cumulative = np.cumsum(correct[order]) / np.arange(1, len(conf) + 1)
    ok = np.flatnonzero(cumulative >= target)
    return float(conf[order][ok[-1]]) if len(ok) else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV(.gz) with title and category columns")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 3000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--test-size", type=int, default=10_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--score", choices=("top", "margin"), default="top", help="what predictions are ranked by")
    args = parser.parse_args()
    global SCORE
    SCORE = args.score

    texts, y = load(args.data)
    perm = np.random.RandomState(12345).permutation(len(texts))
    test, rest = perm[: args.test_size], perm[args.test_size :]
    test_texts, y_test = [texts[i] for i in test], y[test]
    print(
        f"data: {args.data.name}, {len(texts)} rows; test: {len(test)} rows; seeds: {args.seeds}; "
        f"ranked by: {'top probability' if SCORE == 'top' else 'top-1 minus top-2 probability'}\n"
    )

    header = (
        "| model | labels | accuracy | acc@50% | acc@60% | acc@70% | acc@80% | cov@95% | train s | predict 10k s |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    print(header)
    for name, hyperparameters in CONFIGS.items():
        params = parse(hyperparameters)
        for size in args.sizes:
            rows = []
            for seed in args.seeds:
                train = np.random.RandomState(seed).choice(rest, size, replace=False)
                start = time.perf_counter()
                model = TextModel(params, 4).fit([texts[i] for i in train], y[train])
                fitted = time.perf_counter()
                prob = model.predict_proba(test_texts)
                done = time.perf_counter()
                rows.append(quality(prob, y_test) + [fitted - start, (done - fitted) * 10_000 / len(test)])
            m = np.mean(rows, axis=0)
            print(
                f"| {name.split(':')[0]} | {size} | "
                + " | ".join(f"{v:.3f}" for v in m[:6])
                + f" | {m[6]:.2f} | {m[7]:.2f} |",
                flush=True,
            )

    # A round with cross-fitting: timing, and threshold calibration on out-of-fold predictions.
    size = max(args.sizes)
    params = parse({})
    print(
        f"\nround with cross-fitting: {size} labels, a fifth of them validation items in {args.folds} folds, "
        f"threshold for {TARGET:.0%} accuracy picked on the validation items, applied to the {len(test)} test rows\n"
    )
    print(
        "| calibration | train s | predict s | threshold | pool auto-labeled | pool accuracy of auto-labels |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    results: dict[str, list[list[float]]] = {
        "cross_fit (full model trains on all labels)": [],
        "holdout (validation items not trained on)": [],
    }
    for seed in args.seeds:
        rng = np.random.RandomState(seed)
        train = rng.choice(rest, size, replace=False)
        n_val = size // 5
        val, fit_only = train[:n_val], train[n_val:]
        folds = {int(i): k % args.folds for k, i in enumerate(val)}
        for mode in results:
            cross = mode.startswith("cross_fit")
            ids = train if cross else fit_only
            examples = [Example(texts[i], int(y[i]), folds.get(int(i)) if cross else None) for i in ids]
            start = time.perf_counter()
            bundle = train_bundle(examples, params, 4)
            fitted = time.perf_counter()
            val_prob = bundle.predict_proba([texts[i] for i in val], [folds[int(i)] for i in val] if cross else None)
            pool_prob = bundle.predict_proba(test_texts)
            done = time.perf_counter()
            t = threshold_for(confidence(val_prob), val_prob.argmax(axis=1) == y[val], TARGET)
            auto = confidence(pool_prob) >= t
            acc = float((pool_prob.argmax(axis=1) == y_test)[auto].mean()) if auto.any() else float("nan")
            results[mode].append([fitted - start, done - fitted, t, auto.mean(), acc])
    for mode, rows in results.items():
        m = np.nanmean(rows, axis=0)
        print(f"| {mode} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.3f} | {m[3]:.3f} | {m[4]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
