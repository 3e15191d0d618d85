#!/usr/bin/env python3
"""Round 1 of the workflow, replicated in one process, to compare threshold searches on what they give the pool.

For each label-noise level and seed: `--size` random rows of the bundled UCI News sample (4 classes, or with
`--binary` health against everything else: 2 classes, 11% minority); a fraction `noise` of all labels is a random
wrong class (what people would give; the true labels are kept for measuring). The first 20%
(`--calibration-share`) are the pre-labeled bootstrap: they train the bundled model with `--folds` cross-fit
folds and are scored out-of-fold, exactly as the cross_fit calibration mode does; the others are the pool,
scored by the full model. Each search chooses a threshold from the calibration items alone; printed per noise
level and search: the share of the pool it auto-labels (mean, worst, runs with nothing) and how often the
pool's auto-labels agree with the given labels less than the 95% target (the bound may miss in about one run
in twenty).

Searches: `shipped` (logic.calibrate as it is: entry points at 0, 40%, 60% and 70% of the tolerated errors with
15/10/25/50% of the budget, 200 thresholds; from 2,930 calibration items a fifth entry, at 75%, takes a fifth of
the budget; each threshold tested on the pool's own share of agreeing items, the pool being every item past the
calibration share), `rate` (the same search testing the rate of items like the record's with Clopper-Pearson,
as shipped until 2026-12-07: the figures measured before that date are this search's), `equal thirds` (the
search it replaced: entry points at 0, 40% and 60% with a third of the budget each, 50 thresholds; it certified
less in round 1 under label noise and left whole runs with nothing auto-labeled, see docs/efficiency.md),
`single sequence` (the first search: one fixed sequence from the first
count a flawless record can pass, stopped at its first failure).

Yardsticks, not searches (each looks at what a valid search may not, so none could be shipped; they say how much
any search could still gain): `limit: one exact test` (the loosest threshold whose Clopper-Pearson bound at the
whole budget passes, found in hindsight: no search built on exact binomial tests of these calibration items can
certify more), `limit: PPI` (the loosest threshold passing a prediction-powered bound in hindsight: the
margin's isotonic calibration to agreement, fitted on one half of the calibration items and checked on the
other, averaged over the pool's scores, corrected by the calibration items' residuals, with a one-sided normal
interval — the tighter, asymptotic kind of bound the issue lists; stratifying by score is the same idea),
`limit: normal interval` (the same hindsight choice with a plain one-sided normal interval on the calibration
items' record: what of PPI's gain is the approximation rather than the predictions), and
`limit: the pool itself` (the loosest threshold at which the pool's own auto-labels agree with its given labels
>= 95%: what a search with unlimited calibration labels would approach).

    .venv/bin/python containers/text-classifier/experiments/round1_search.py     # ~10 minutes with cached embeddings
    .venv/bin/python containers/text-classifier/experiments/round1_search.py --noise 0.02 --seeds 3 --folds 10
    .venv/bin/python containers/text-classifier/experiments/round1_search.py --binary --size 5000
    .venv/bin/python containers/text-classifier/experiments/round1_search.py --binary --size 5000 \
        --calibration-share 0.9 --noise 0.02 --searches shipped "limit: one exact test"   # a long record

Set TEXT_CLASSIFIER_EMBEDDING_MODEL=build/embedding-model (make embedding-model) and, to embed each headline
once across runs, TEXT_CLASSIFIER_EMBEDDING_CACHE to a directory.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from scipy.stats import norm
from sklearn.isotonic import IsotonicRegression

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(HERE.parent), str(REPO / "functions"), str(REPO / "functions" / "shared"), str(REPO)]

import select_and_auto_label.logic as search  # noqa: E402

from local.sample import UCI_CODES, Dataset, class_names, noisy_labels, read_rows  # noqa: E402
from text_classifier.model import Example, train_bundle  # noqa: E402
from text_classifier.params import parse  # noqa: E402

TARGET = CONFIDENCE = 0.95
Scored = list[tuple[float, bool]]


# The search the shipped one replaced: entry points at 0, 40% and 60% of the tolerated errors with a third of
# the budget each, 50 thresholds. (It kept an entry that could not start within the items there were at the
# last item; here, as in the shipped search, its share goes to the entries that can. The two agree wherever
# every entry fits, as at this experiment's 1,000-2,000 calibration items.)
EQUAL_THIRDS = tuple(search.EntryPoint(rate, 1 / 3) for rate in (0.0, 0.4, 0.6))


def shipped(scored: Scored, pool_margin: np.ndarray) -> float | None:
    return search.calibrate(scored, TARGET, CONFIDENCE, pool=pool_margin.tolist()).value


def rate(scored: Scored, pool_margin: np.ndarray) -> float | None:
    return search.calibrate(scored, TARGET, CONFIDENCE).value


def before(scored: Scored, pool_margin: np.ndarray) -> float | None:
    return search.calibrate(scored, TARGET, CONFIDENCE, entries=EQUAL_THIRDS, points=50).value


def boundaries(scored: Scored) -> Iterator[tuple[int, int, float, int]]:
    """(count, all items, score, correct so far) at each boundary between distinct scores, highest first: the
    thresholds a search can use (a threshold cannot split tied items)."""
    ordered = sorted(scored, key=lambda item: -item[0])
    correct = 0
    for position, (score, is_correct) in enumerate(ordered, start=1):
        correct += is_correct
        if position == len(ordered) or ordered[position][0] < score:
            yield position, len(ordered), score, correct


def single_sequence(scored: Scored, pool_margin: np.ndarray) -> float | None:
    """Strictest first from the first count a flawless record can pass, every max(10, n/50) items, stop at the
    first failure."""
    step, best = max(10, len(scored) // 50), None
    next_test = search.minimum_items(TARGET, CONFIDENCE)
    for position, total, score, correct in boundaries(scored):
        if position < next_test and position < total:
            continue
        if not search.clopper_pearson_reaches(correct, position, CONFIDENCE, TARGET):
            break
        best, next_test = score, position + step
    return best


SEARCHES: dict[str, Callable[[Scored, np.ndarray], float | None]] = {
    "shipped": shipped,
    "rate": rate,
    "equal thirds": before,
    "single sequence": single_sequence,
}


def limit_one_exact_test(scored: Scored, pool_margin: np.ndarray, pool_agrees: np.ndarray) -> float | None:
    passing = [
        score for n, _, score, k in boundaries(scored) if search.clopper_pearson_reaches(k, n, CONFIDENCE, TARGET)
    ]
    return passing[-1] if passing else None


def limit_ppi(scored: Scored, pool_margin: np.ndarray, pool_agrees: np.ndarray) -> float | None:
    margin = np.array([score for score, _ in scored])
    agrees = np.array([is_correct for _, is_correct in scored], dtype=float)
    halves = np.arange(len(margin)) % 2 == 0
    fitted, pool_fitted = np.empty(len(margin)), np.zeros(len(pool_margin))
    for fit_on in (halves, ~halves):  # cross-fitted: no item's residual comes from a fit that saw it
        isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin[fit_on], agrees[fit_on])
        fitted[~fit_on] = isotonic.predict(margin[~fit_on])
        pool_fitted += isotonic.predict(pool_margin) / 2
    z, best = norm.ppf(CONFIDENCE), None
    for threshold in np.unique(margin)[::-1]:
        kept, pool_kept = margin >= threshold, pool_margin >= threshold
        if kept.sum() < 30 or pool_kept.sum() < 30:
            continue
        residual = agrees[kept] - fitted[kept]
        estimate = pool_fitted[pool_kept].mean() + residual.mean()
        error = np.sqrt(residual.var(ddof=1) / kept.sum() + pool_fitted[pool_kept].var(ddof=1) / pool_kept.sum())
        if estimate - z * error >= TARGET:
            best = float(threshold)
    return best


def limit_normal(scored: Scored, pool_margin: np.ndarray, pool_agrees: np.ndarray) -> float | None:
    z = norm.ppf(CONFIDENCE)
    passing = [
        score for n, _, score, k in boundaries(scored) if n >= 30 and k / n - z * np.sqrt(k * (n - k) / n**3) >= TARGET
    ]
    return passing[-1] if passing else None


def limit_pool(scored: Scored, pool_margin: np.ndarray, pool_agrees: np.ndarray) -> float | None:
    order = np.argsort(-pool_margin, kind="stable")
    running = np.cumsum(pool_agrees[order]) / np.arange(1, len(order) + 1)
    passing = np.nonzero(running >= TARGET)[0]
    return float(pool_margin[order[passing.max()]]) if len(passing) else None


YARDSTICKS: dict[str, Callable[[Scored, np.ndarray, np.ndarray], float | None]] = {
    "limit: one exact test": limit_one_exact_test,
    "limit: PPI": limit_ppi,
    "limit: normal interval": limit_normal,
    "limit: the pool itself": limit_pool,
}


def margins(probabilities: np.ndarray) -> np.ndarray:
    ordered = np.sort(probabilities, axis=1)
    return ordered[:, -1] - ordered[:, -2]


def class_names_of(dataset: Dataset, rows: list[dict], binary: bool) -> list[str]:
    """The classes of the bundled sample, or of its binary set: health (UCI code m) against everything else."""
    return ["other", "health"] if binary else class_names(dataset, rows)


def draw(
    rows: list[dict], names: list[str], size: int, seed: int, noise: float, binary: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The bench's sample for a seed: `size` random rows' texts, their true classes, and the labels given, a
    fraction `noise` of them a random wrong class (as `make bench --label-noise`)."""
    chosen = random.Random(seed).sample(range(len(rows)), size)
    texts = [rows[i]["title"] for i in chosen]
    if binary:
        truth = [int(rows[i]["category"] == "m") for i in chosen]
    else:
        truth = [names.index(UCI_CODES[rows[i]["category"]]) for i in chosen]
    given_by_id = noisy_labels({str(i): t for i, t in zip(chosen, truth, strict=True)}, len(names), noise, seed)
    return texts, np.array(truth), np.array([given_by_id[str(i)] for i in chosen])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.03])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--calibration-share", type=float, default=0.2, help="share of the rows pre-labeled")
    parser.add_argument("--searches", nargs="+", default=None, help="only these searches and yardsticks")
    parser.add_argument("--binary", action="store_true", help="health against everything else")
    args = parser.parse_args()
    dataset = Dataset.bundled()
    rows = read_rows(dataset)
    names = class_names_of(dataset, rows, args.binary)
    calibration = round(args.size * args.calibration_share)
    wanted = set(args.searches or [*SEARCHES, *YARDSTICKS])
    searches = {name: choose for name, choose in SEARCHES.items() if name in wanted}
    yardsticks = {name: measure for name, measure in YARDSTICKS.items() if name in wanted}
    print(
        "| label noise | search | pool auto-labeled (mean) | worst | runs with nothing | pool agreement < 95% |\n"
        "|---|---|---:|---:|---:|---:|"
    )
    for noise in args.noise:
        shares: dict[str, list[tuple[float, bool]]] = {name: [] for name in [*searches, *yardsticks]}
        for seed in range(args.seeds):
            texts, _, given = draw(rows, names, args.size, seed, noise, args.binary)
            folds = [j % args.folds for j in range(calibration)]
            labeled = zip(texts[:calibration], given[:calibration], folds, strict=True)
            examples = [Example(t, int(y), f) for t, y, f in labeled]
            bundle = train_bundle(examples, parse({}), len(names))
            out_of_fold = bundle.predict_proba(texts[:calibration], folds)
            scored = list(
                zip(margins(out_of_fold).tolist(), (out_of_fold.argmax(1) == given[:calibration]).tolist(), strict=True)
            )
            pool = bundle.predict_proba(texts[calibration:])
            pool_margin, pool_agrees = margins(pool), pool.argmax(1) == given[calibration:]
            thresholds = {name: choose(scored, pool_margin) for name, choose in searches.items()}
            thresholds |= {name: measure(scored, pool_margin, pool_agrees) for name, measure in yardsticks.items()}
            for name, threshold in thresholds.items():
                auto = pool_margin >= threshold if threshold is not None else np.zeros(len(pool_margin), bool)
                shares[name].append((float(auto.mean()), bool(auto.any() and pool_agrees[auto].mean() < TARGET)))
        for name, values in shares.items():
            covered = [share for share, _ in values]
            print(
                f"| {noise:.0%} | {name} | {np.mean(covered):.1%} | {min(covered):.1%} | "
                f"{sum(share == 0 for share in covered)} of {len(values)} | {sum(miss for _, miss in values)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
