#!/usr/bin/env python3
"""Whole runs of the workflow's decision rules, replicated in one process, to compare calibration records.

Each run: `--size` random rows of the bundled UCI News sample, a fraction `--noise` of the labels people give
wrong (true labels kept for measuring). A random `--bootstrap` share is labeled first and is the calibration set
(cross_fit: each item has a fold, is trained on, and is scored out-of-fold). Then rounds, as SelectAndAutoLabel
runs them: train on every human label, score the pool with the full model, run the shipped search
(`logic.calibrate`) on the calibration record, adopt the fresh certificate if it covers at least as many pool
items as the one in force, and send the `--batch` lowest-margin pool items that are not auto-labeled to people;
until every item is labeled.

Variants of the calibration record:
- `all`: every calibration item, every round (shipped).
- `mirrored`: the record mirrors the pool. The pool loses each round's picks (the items the model was least sure
  of, now labeled by people), while the calibration set keeps its own hard items, so a record over all of them
  is more pessimistic than the pool it certifies. Here each round also sets aside, from the calibration items
  still in the record, the same share the strategy took from the pool, lowest out-of-fold margin first: the
  items that would have been picked had they been in the pool. Measured, then built and benched (branch `mirror`):
  it certified more on clean runs but the claim failed on one seed of five, and it cost more under label noise;
  not kept (docs/efficiency.md, the table of levers).
- `extend`: a round may also extend the set in force instead of replacing it. Its calibration items come first in
  the record, agreeing or not under the labels in force, then the round's own scores below them, searched at
  `--extend-confidence`; the larger of that union and the fresh certificate is adopted. Measured, with its
  honesty in a synthetic model (`extension_honesty.py`): not kept (docs/efficiency.md, the table of levers).
- `difference`: the record stands for the whole population, not for the pool, and the picks' errors are taken out by
  count. Every labeled item carries a fold (drawn with the bootstrap's order), so the picks too are scored
  out-of-fold. At threshold t, let e_C(t) be the calibration items that err above t (out-of-fold score >= t and
  prediction != label), e_P(t) the picks that do, and R(t) the pool items whose fold model scores them >= t. The
  pool's errors above t are the errors of everything outside the calibration set minus the picks' known ones, and
  the calibration set is a simple random sample of all N items, so "the pool's agreement above t is below target"
  is "more than E0 = (1 - target) R(t) + e_P(t) of the items outside the calibration set err above t", tested
  exactly on the finite population: P(Hypergeometric(N items, e_C(t) + E0 erring, n drawn) <= e_C(t)) <= the level
  (valid: that probability falls as the number erring grows), in the shipped search's plan and fallback procedure
  (`difference_threshold`). The full model labels the pool, as in the shipped test (the fold models stand for it).
  Measured, not built (docs/efficiency.md, the table of levers).
- `combined`: the shipped test and the `difference` test, each at half the error budget, and the looser of the
  two thresholds: any false certificate is a false rejection of one of the two procedures (a union bound).
- `stratified`: the bootstrap (the calibration set) is a proportional stratified draw over STRATA k-means clusters
  of the sentence embeddings instead of a simple random one, everything else as `all`: whether fixing the record's
  topic shares removes unlucky record draws (the unlabeled protocol's worst seeds). The record stays self-weighting,
  and the shipped test reads it as a simple random sample, which proportional allocation makes conservative in
  variance, not exact. Measured, not built (docs/efficiency.md, the table of levers).
- `endgame`: the last human batch split in two. When the pool items left to people fit in one batch (and are more
  than a quarter of it), people label the less certain half of them and one more round trains on it and certifies
  again, instead of people labeling them all: whether a model that has seen the hardest items certifies the rest.
  Measured, not built (docs/efficiency.md, the table of levers).

- `review`: a second opinion on disagreements. Each round, the calibration items among the record's surest
  `--review-share` (by that round's out-of-fold margin) whose given label differs from the model's are answered by
  more people, blind to the model and to the first answer (independent answers with the same `--noise`), once per
  item: a second, and a third only where the second differs from the first; the reviewed label is the majority
  (all three different: the first). The answers come with the round's human batch, so the next round's
  certificate reads them (`--review-at-once`: this round's). The claim becomes
  agreement with the reviewed label: an item agrees when its first answer agrees with the auto-label, or when the
  majority of three does. For the record that is conservative whatever is reviewed (an unreviewed item counts
  its first answer only, which agrees no more often), so the shipped test stays valid; the pool's agreement is
  measured the same way, with two simulated answers more for each auto-labeled item. Every review answer counts
  as a human label; reviewed labels train the later models.

`--trace N` prints, each round, how many of the calibration record's surest N items (by that round's out-of-fold
margin) carry a wrong label and how many the model itself gets wrong against the truth: whether the record's wrong
labels or the model hold a certificate back; then how many record items and pool items the round's threshold keeps
and how often each agrees with the labels people give, and the whole pool's agreement: how far the record, which
keeps its hard items, reads below the pool, which loses them to the picks.

Printed per run: human share, auto-label accuracy against the true labels and agreement with the given ones, the
claimed bound, rounds, and how many rounds extended the set; then per variant the worst and mean human share and
how often the agreement reached the claim.

    TEXT_CLASSIFIER_EMBEDDING_MODEL=build/embedding-model TEXT_CLASSIFIER_EMBEDDING_CACHE=build/embedding-cache \
      .venv/bin/python containers/text-classifier/experiments/whole_runs.py --seeds 5
    ... whole_runs.py --seeds 2 --noise 0.02 --variants all extend --extend-confidence 0.99
    ... whole_runs.py --first-seed 1 --seeds 1 --noise 0.02 --variants all --trace 900
    ... whole_runs.py --seeds 20 --bootstrap 0.137 --variants all difference   # no labels in the input
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.stats import hypergeom

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(HERE.parent), str(REPO / "functions"), str(REPO / "functions" / "shared"), str(REPO)]

import select_and_auto_label.logic as search  # noqa: E402
from create_validation_set.logic import quotas  # noqa: E402
from round1_search import draw, margins  # noqa: E402  (beside this script)

from local.sample import Dataset, class_names, read_rows  # noqa: E402
from text_classifier.embedding import default_embedder  # noqa: E402
from text_classifier.model import Example, train_bundle  # noqa: E402
from text_classifier.params import parse  # noqa: E402

TARGET = CONFIDENCE = 0.95
FOLDS = 5


def difference_threshold(
    record: list[tuple[float, bool]],
    picks: list[tuple[float, bool]],
    pool_fold_margins: np.ndarray,
    size: int,
    confidence: float = CONFIDENCE,
) -> float | None:
    """The `difference` variant's search: (out-of-fold margin, agrees) of the calibration items and of the picks,
    the pool's fold-model margins, and the number of items N. Returns the loosest rejected threshold, or None."""
    ordered = sorted(record, key=lambda item: -item[0])
    scores = [score for score, _ in ordered]
    n = len(ordered)
    plan = search.search_plan(scores, TARGET, confidence)
    errors_before = np.concatenate([[0], np.cumsum([not agrees for _, agrees in ordered])])
    pool_sorted = np.sort(pool_fold_margins)
    pick_errors = np.sort([score for score, agrees in picks if not agrees])

    def rejects(position: int, level: float) -> bool:
        threshold = scores[position - 1]
        pool_above = len(pool_sorted) - np.searchsorted(pool_sorted, threshold, side="left")
        picks_erring = len(pick_errors) - np.searchsorted(pick_errors, threshold, side="left")
        erring = int(errors_before[position])
        tolerated = math.ceil((1 - TARGET) * pool_above + picks_erring)  # E0: at least this many err under the null
        return hypergeom.cdf(erring, size, min(size, erring + tolerated), n) <= level

    position = search.loosest_rejected(plan, rejects)
    return None if position is None else scores[position - 1]


STRATA = 20


def stratified_order(texts, order: list[int], n: int) -> list[int]:
    """`order` with its first n items replaced by a proportional stratified draw over STRATA k-means clusters of the
    sentence embeddings (each cluster's share of n by largest remainder, as the validation set's classes are split;
    its items taken in `order`'s order): the same self-weighting sample as a simple random one, with the clusters'
    shares fixed instead of drawn."""
    from sklearn.cluster import KMeans

    vectors = default_embedder().embed(list(texts))
    cluster = KMeans(n_clusters=STRATA, n_init=4, random_state=0).fit_predict(vectors).tolist()
    take = quotas(Counter(cluster), n)
    chosen: list[int] = []
    for item in order:
        if take[cluster[item]] > 0:
            take[cluster[item]] -= 1
            chosen.append(item)
    picked = set(chosen)
    return chosen + [item for item in order if item not in picked]


def majority(first: int, second: int, third: int) -> int:
    """The reviewed label: the majority of three answers, or the first where all three differ."""
    return second if second == third else first


def run(
    texts,
    given,
    truth,
    classes,
    *,
    seed,
    bootstrap,
    batch,
    variant,
    extend_confidence=CONFIDENCE,
    max_rounds=30,
    trace=0,
    noise=0.0,
    review_share=0.7,
    review_lag=True,
):
    size = len(texts)
    # two more independent answers per item, used only where a review asks for them (the `review` variant)
    answers = random.Random(f"review-{seed}")

    def answer(item: int) -> int:
        if answers.random() < noise:
            return answers.choice([c for c in range(classes) if c != truth[item]])
        return int(truth[item])

    second_opinions = [(answer(i), answer(i)) for i in range(size)] if variant == "review" else []
    review_label = [majority(int(given[i]), *second_opinions[i]) for i in range(len(second_opinions))]
    reviewed: dict[int, int] = {}  # calibration item -> its reviewed label, once its answers are in
    review_labels = 0  # answers the reviews took
    order = list(range(size))
    random.Random(f"bootstrap-{seed}").shuffle(order)
    if variant == "stratified":
        order = stratified_order(texts, order, math.ceil(bootstrap * size))
    calibration = order[: math.ceil(bootstrap * size)]
    # the calibration items' folds as before; with `difference` and `combined` every item has one (the picks are
    # trained on and scored out-of-fold too)
    folded = order if variant in ("difference", "combined") else calibration
    fold = {item: position % FOLDS for position, item in enumerate(folded)}
    picked: list[int] = []
    human = set(calibration)
    record = set(calibration)  # calibration items the certificate's test counts
    auto: dict[int, int] = {}  # item -> auto-label in force
    bound = None
    region: dict[int, bool] = {}  # calibration items inside the set in force -> whether its label there agrees
    extensions = 0
    rounds = 0
    while rounds < max_rounds and len(human) + len(auto) < size:
        rounds += 1
        labeled = sorted(human)
        examples = [Example(texts[i], int(reviewed.get(i, given[i])), fold.get(i)) for i in labeled]
        bundle = train_bundle(examples, parse({}), classes)
        cal = sorted(calibration)
        cal_prob = bundle.predict_proba([texts[i] for i in cal], [fold[i] for i in cal])
        cal_margin = dict(zip(cal, margins(cal_prob).tolist(), strict=True))
        cal_label = dict(zip(cal, cal_prob.argmax(1).tolist(), strict=True))
        cal_correct = {i: cal_label[i] == given[i] for i in cal}
        if variant == "review":
            surest = sorted(record, key=lambda i: -cal_margin[i])[: math.ceil(review_share * len(record))]
            asked = {i: review_label[i] for i in surest if not cal_correct[i] and i not in reviewed}
            # the third answer only where the second differs from the first
            review_labels += sum(1 + (second_opinions[i][0] != given[i]) for i in asked)
            # lagged: asked with this round's human batch, so only the next round's certificate reads them
            known = reviewed if review_lag else {**reviewed, **asked}
            cal_correct = {i: cal_correct[i] or known.get(i) == cal_label[i] for i in cal}
            reviewed.update(asked)
        pool = [i for i in range(size) if i not in human]
        pool_prob = bundle.predict_proba([texts[i] for i in pool])
        pool_margin = margins(pool_prob)
        predicted = pool_prob.argmax(1)
        scored = [(cal_margin[i], cal_correct[i]) for i in record]
        if variant in ("difference", "combined"):
            each = 1 - (1 - CONFIDENCE) / 2 if variant == "combined" else CONFIDENCE  # each procedure's level
            pick_prob = bundle.predict_proba([texts[i] for i in picked], [fold[i] for i in picked])
            pick_agrees = pick_prob.argmax(1) == given[picked]
            pick_scored = list(zip(margins(pick_prob).tolist(), pick_agrees.tolist(), strict=True))
            pool_fold = margins(bundle.predict_proba([texts[i] for i in pool], [fold[i] for i in pool]))
            value = difference_threshold(scored, pick_scored, pool_fold, size, each)
            if variant == "combined":
                shipped = search.calibrate(scored, TARGET, each, pool=pool_margin.tolist()).value
                value = min((v for v in (value, shipped) if v is not None), default=None)
            threshold = search.NO_THRESHOLD if value is None else search.Threshold(value, 0, 0, TARGET, None)
        else:
            threshold = search.calibrate(scored, TARGET, CONFIDENCE, pool=pool_margin.tolist())
        if trace:
            surest = sorted(record, key=lambda i: -cal_margin[i])[:trace]
            wrong, errors = sum(given[i] != truth[i] for i in surest), sum(cal_label[i] != truth[i] for i in surest)
            pool_agrees = predicted == given[pool]
            where = ""
            if threshold.value is not None:
                above = [cal_correct[i] for i in record if cal_margin[i] >= threshold.value]
                inside = pool_margin >= threshold.value
                where = (
                    f"; above the threshold {len(above)} of the record agree {np.mean(above):.2%},"
                    f" {inside.sum()} of the pool's {len(pool)} {pool_agrees[inside].mean():.2%}"
                )
            print(
                f"    round {rounds}: the record's surest {len(surest)}: {wrong} labels wrong,"
                f" {errors} model errors against the truth{where}; the whole pool agrees {pool_agrees.mean():.2%}",
                flush=True,
            )
        fresh = None
        if threshold.value is not None:
            covered = pool_margin >= threshold.value
            if covered.sum() >= len(auto):
                fresh = {pool[j]: int(predicted[j]) for j in np.nonzero(covered)[0]}, threshold
        extended = None
        if variant == "extend" and auto:
            # the set in force stays; its calibration items come first, with the labels in force, and the
            # search finds the loosest threshold of this round's model for the items outside it
            union = [(math.inf, region[i]) if i in region else (cal_margin[i], cal_correct[i]) for i in record]
            grown = search.calibrate(union, TARGET, extend_confidence)
            if grown.value is not None and grown.value < math.inf:
                added = {
                    pool[j]: int(predicted[j]) for j in np.nonzero(pool_margin >= grown.value)[0] if pool[j] not in auto
                }
                extended = {**auto, **added}, grown
        choice = max((c for c in (fresh, extended) if c), key=lambda c: len(c[0]), default=None)
        if choice is not None:
            chosen, threshold = choice
            if choice is fresh:
                region = {i: cal_correct[i] for i in record if cal_margin[i] >= threshold.value}
            else:
                region.update(
                    {i: cal_correct[i] for i in record if i not in region and cal_margin[i] >= threshold.value}
                )
            auto = chosen
            bound = threshold.lower_bound
            extensions += choice is extended
        candidates = sorted((pool_margin[j], pool[j]) for j in range(len(pool)) if pool[j] not in auto)
        take = batch
        if variant == "endgame" and batch // 4 < len(candidates) <= batch:
            take = math.ceil(len(candidates) / 2)  # the last batch split: one more model sees half of it
        picks = [item for _, item in candidates[:take]]
        human.update(picks)
        picked.extend(picks)
        if variant == "mirrored" and pool:
            share = len(picks) / len(pool)
            ranked = sorted(record, key=lambda i: cal_margin[i])
            record.difference_update(ranked[: round(share * len(ranked))])
    auto_items = list(auto)
    accuracy = float(np.mean([auto[i] == truth[i] for i in auto_items])) if auto_items else None
    if variant == "review":  # agreement with the reviewed label, as the claim now reads
        agrees = [auto[i] in (given[i], review_label[i]) for i in auto_items]
    else:
        agrees = [auto[i] == given[i] for i in auto_items]
    agreement = float(np.mean(agrees)) if auto_items else None
    extra = len(reviewed) if variant == "review" else extensions  # items reviewed, or rounds that extended
    return (len(human) + review_labels) / size, accuracy, bound, rounds, extra, agreement


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--bootstrap", type=float, default=0.2)
    parser.add_argument("--batch", type=int, default=500)
    variants = "all, mirrored, extend, difference, combined, stratified, endgame, review"
    parser.add_argument("--variants", nargs="+", default=["all", "mirrored"], help=variants)
    parser.add_argument("--extend-confidence", type=float, default=CONFIDENCE, help="the `extend` variant's level")
    parser.add_argument(
        "--trace",
        type=int,
        default=0,
        metavar="N",
        help="print, each round, the wrong labels and model errors among the record's surest N",
    )
    parser.add_argument("--review-share", type=float, default=0.7, help="the `review` variant's share of the record")
    parser.add_argument(
        "--review-at-once",
        action="store_true",
        help="reviews answered within the round that asks for them (default: with its human batch, for the next)",
    )
    args = parser.parse_args()
    dataset = Dataset.bundled()
    rows = read_rows(dataset)
    names = class_names(dataset, rows)
    results: dict[str, list] = {variant: [] for variant in args.variants}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        texts, truth, given = draw(rows, names, args.size, seed, args.noise)
        for variant in args.variants:
            outcome = run(
                texts,
                given,
                truth,
                len(names),
                seed=seed,
                bootstrap=args.bootstrap,
                batch=args.batch,
                variant=variant,
                extend_confidence=args.extend_confidence,
                trace=args.trace,
                noise=args.noise,
                review_share=args.review_share,
                review_lag=not args.review_at_once,
            )
            results[variant].append(outcome)
            human, accuracy, bound, rounds, extensions, agreement = outcome
            print(
                f"seed {seed} {variant:9s} human {human:6.1%} accuracy {accuracy or 0:7.2%} "
                f"agreement {agreement or 0:7.2%} claimed {bound or 0:7.2%} rounds {rounds:2d} "
                f"{'reviewed' if variant == 'review' else 'extensions'} {extensions}",
                flush=True,
            )
    for variant, outcomes in results.items():
        humans = [o[0] for o in outcomes]
        claims = [(bound, agreement) for _, _, bound, _, _, agreement in outcomes if bound is not None]
        held = sum(agreement is not None and agreement >= bound for bound, agreement in claims)
        print(  # of the runs that claim anything: a run that auto-labels nothing has no claim to miss
            f"{variant:9s} worst {max(humans):.1%} mean {np.mean(humans):.1%} claim held {held}/{len(claims)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
