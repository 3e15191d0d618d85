"""SelectAndAutoLabel: calibrate the auto-label threshold, auto-label the confident pool items, and choose
the items humans label next.

Calibration ("calibrated" method). The held-out validation items are human-labeled at random and were
scored by the same model (out-of-fold in cross_fit mode), so for a threshold t the validation items scoring
>= t and the pool items scoring >= t are a random split of the items there: the record's errors tell how many
the pool's own items, the ones that would be auto-labeled, can hold (an exact finite-pool test). Each round
certifies the whole auto-labeled set afresh: its pool is every item without a human label (earlier rounds'
auto-labels included), and its certificate, if it covers at least as many items as the one in force,
replaces it (pipeline.py). So the claim is always one test on one model's scores, never a sum over models
of different quality. Candidate thresholds, fixed from the scores alone, are tested strictest first with
the fallback procedure (see `calibrate`), which controls the family-wise error at 1 - ConfidenceLevel and,
unlike a single fixed sequence, does not stop at the first wrong label among the most confident items. With
too few validation items no threshold passes and nothing is auto-labeled: everything goes to humans, the
honest outcome.

Known approximation (stated in docs/how-it-works.md): the items people label are chosen by active learning,
low-confidence ones, and leave the pool, while the validation items that stand for them stay; the
validation items above the threshold are therefore, if anything, harder than the pool items there, and the
bound errs on the safe side.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from labeling_common import schemas
from labeling_common.certification import ENTRY_POINTS, EntryPoint, chain_starts, entry_levels
from labeling_common.errors import InvalidInferenceOutput
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY
from labeling_common.stats import clopper_pearson_lower, clopper_pearson_reaches, pool_agreement_reaches

# Thresholds tested per round (the hypotheses of the fallback procedure): every 0.5% of the items. More tests
# cost no budget (only entries carry a share), and a coarser grid stops short of the loosest passing threshold.
SEARCH_POINTS = 200


@dataclass(frozen=True)
class Prediction:
    record_id: int
    predicted: int
    confidence: float  # probability of the predicted class
    margin: float  # top-1 minus top-2 probability
    entropy: float

    @property
    def score(self) -> float:
        """What the threshold applies to. The top-two margin ranks better than the top probability for
        linear text models (it separates 'two classes compete' from 'nothing fits')."""
        return self.margin


def parse_prediction(
    line: dict, categories: LabelCategories, where: str, line_no: int, *, validate: bool = True
) -> Prediction:
    """validate=False skips the schema check (most of the cost) for a line already checked in pass 1."""
    found = schemas.find_error(line, "inference-output-line.schema.json") if validate else None
    if found is not None:
        raise InvalidInferenceOutput(f"{where}: {found[0]}: {found[1]}", field=f"line {line_no}")
    output = line["SageMakerOutput"]
    labels, probs = output["label"], output["prob"]
    if len(labels) != len(probs):
        raise InvalidInferenceOutput(
            f"{where}: {len(labels)} labels but {len(probs)} probabilities", field=f"line {line_no}"
        )
    vector = [0.0] * len(categories)
    for label, prob in zip(labels, probs, strict=True):
        index = categories.index_of(label)
        if index is None:
            raise InvalidInferenceOutput(
                f"{where}: label {label!r} is not in the label config", field=f"line {line_no}"
            )
        # fastText (BlazingText) smooths probabilities to exp(log(p + 1e-5)): a sure 1.0 reads 1.00001
        vector[index] = min(float(prob), 1.0)
    ranked = sorted(range(len(vector)), key=lambda i: (-vector[i], i))
    top, second = vector[ranked[0]], vector[ranked[1]]
    entropy = -sum(p * math.log(p) for p in vector if p > 0)
    return Prediction(line[RECORD_ID_KEY], ranked[0], top, top - second, entropy)


def iter_predictions(
    lines: Iterable[tuple[str, int, dict]], categories: LabelCategories, *, validate: bool = True
) -> Iterator[Prediction]:
    for where, line_no, line in lines:
        yield parse_prediction(line, categories, where, line_no, validate=validate)


# --- calibration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    value: float | None  # None: auto-label nothing
    items: int  # validation items at or above the threshold (those the certificate's test counts)
    correct: int
    lower_bound: float | None
    estimated_accuracy: float | None


NO_THRESHOLD = Threshold(None, 0, 0, None, None)


@dataclass(frozen=True)
class SearchPlan:
    """The hypotheses of one round's threshold search and their initial shares of the error budget.
    positions[j]: how many of the remaining validation items (highest scores first) threshold j keeps;
    pool_items[j]: how many pool items it would auto-label (None: the search tests the rate, not the pool)."""

    positions: tuple[int, ...]
    weights: tuple[float, ...]
    pool_items: tuple[int, ...] | None = None


def search_plan(
    scores: list[float],
    target: float,
    confidence: float,
    *,
    pool: Iterable[float] | None = None,
    entries: tuple[EntryPoint, ...] = ENTRY_POINTS,
    points: int = SEARCH_POINTS,
) -> SearchPlan:
    """Fixed by the scores and counts alone, never by correctness, so the hypotheses and their weights are
    set before any is tested. Up to `points` positions, evenly spread from the first entry point to every
    item, each moved to the next boundary between distinct scores (a threshold cannot split tied items).
    The budget 1 - `confidence` is split over `entries`: each entry's share sits at the first position whose
    count lets a record with that entry's share of the tolerated error rate (1 - target) certify
    the target at the entry's share of the budget (shares of entries that cannot start within the items
    there are go to those that can). With `pool` (every pool item's score), "certify" is the finite-pool test
    against the pool items each position would auto-label, which asks for more items where few pool items lie
    above a threshold: an entry placed by the rate's count alone would fail there by construction (a flawless
    chain at 96 items needs about 105 against a pool four times the record). `entries` and `points` are
    parameters for experiments that compare searches (containers/text-classifier/experiments/round1_search.py);
    the workflow uses the defaults."""
    m = len(scores)
    if m == 0:
        return SearchPlan((), (), () if pool is not None else None)
    budget = 1.0 - confidence
    usable, counts = _entry_counts(list(entries), m, target, confidence)
    starts = [min(m, count) for count in counts]
    positions = spread_positions(scores, min(starts), points)
    first = [bisect.bisect_left(positions, start) for start in starts]
    pool_items = None
    if pool is not None:
        pool_items = tuple(counts_at_least(pool, [scores[position - 1] for position in positions]))
        first = _pool_entry_indices(usable, first, positions, pool_items, target, budget) or first
    weights = [0.0] * len(positions)
    placed = [(entry, index) for entry, index in zip(usable, first, strict=True) if index is not None]
    for (_, index), level in zip(placed, entry_levels([entry for entry, _ in placed], budget), strict=True):
        weights[index] += level
    return SearchPlan(tuple(positions), tuple(weights), pool_items)


def _pool_entry_indices(
    entries: list[EntryPoint],
    rate_first: list[int],
    positions: list[int],
    pool_items: tuple[int, ...],
    target: float,
    budget: float,
) -> list[int | None] | None:
    """For each entry, the first position (from where the rate's test would start it) at which a record with
    the entry's share of the tolerated errors passes the finite-pool test at the entry's share of the budget;
    None for an entry that passes nowhere, whose share goes to the others (pro rata; their starts are then
    found again). None when no entry passes anywhere: the rate's placement stands."""
    active = list(range(len(entries)))
    while active:
        found: list[int | None] = [None] * len(entries)
        for i, level in zip(active, entry_levels([entries[i] for i in active], budget), strict=True):
            rate = entries[i].error_rate(target)
            for index in range(rate_first[i], len(positions)):
                n = positions[index]
                if pool_agreement_reaches(n - math.floor(n * rate), n, pool_items[index], 1.0 - level, target):
                    found[i] = index
                    break
        passing = [i for i in active if found[i] is not None]
        if len(passing) == len(active):
            return found
        active = passing
    return None


def _entry_counts(
    entries: list[EntryPoint], available: int, target: float, confidence: float
) -> tuple[list[EntryPoint], list[int]]:
    """The entries that can start within `available` items, and the count where each starts. An
    entry that cannot (a small validation set) gives its share to the others, pro rata, and the counts are
    found again with the larger shares; with none that fits, all are kept (their tests sit at the end). An
    entry for long records goes first whenever it does not start within its part of the items."""
    while True:
        counts = chain_starts(target, confidence, entries, limit=available)
        fits = [count <= entry.within * available for entry, count in zip(entries, counts, strict=True)]
        general = [entry for entry, fit in zip(entries, fits, strict=True) if fit or entry.within >= 1.0]
        fitting = [entry for entry, fit in zip(entries, fits, strict=True) if fit]
        if len(general) < len(entries):
            entries = general
        elif len(fitting) == len(entries) or not fitting:
            return entries, counts
        else:
            entries = fitting


def spread_positions(scores: list[float], first: int, points: int) -> list[int]:
    """Up to `points` counts evenly spread from `first` to every item (scores highest first), each moved to the
    next boundary between distinct scores: a threshold cannot split tied items."""
    m = len(scores)
    count = min(points, m - first + 1)
    positions: list[int] = []
    for j in range(count):
        position = first + round((m - first) * j / max(1, count - 1))
        while position < m and scores[position] == scores[position - 1]:
            position += 1
        if not positions or position > positions[-1]:
            positions.append(position)
    return positions


def counts_at_least(values: Iterable[float], thresholds: list[float]) -> list[int]:
    """How many `values` are >= each of `thresholds` (highest first), in one pass over the values."""
    ascending = thresholds[::-1]
    reached = [0] * (len(ascending) + 1)  # reached[i]: values >= exactly the i lowest thresholds
    for value in values:
        reached[bisect.bisect_right(ascending, value)] += 1
    at_least, running = [], 0
    for i in range(len(ascending), 0, -1):  # highest threshold first
        running += reached[i]
        at_least.append(running)
    return at_least


def calibrate(
    scored: list[tuple[float, bool]] | list[tuple[float, bool, int]],
    target: float,
    confidence: float,
    *,
    pool: Iterable[float] | None = None,
    max_class_miss_rate: float = 1.0,
    entries: tuple[EntryPoint, ...] = ENTRY_POINTS,
    points: int = SEARCH_POINTS,
) -> Threshold:
    """The loosest threshold whose accuracy is certified >= `target` (and, with `max_class_miss_rate` < 1, at
    which no class loses more than that share of its items to auto-labels of another class).

    `scored`: (score, correct) of every validation item, or (score, correct, label) with the class people gave
    it, which `max_class_miss_rate` < 1 needs. `pool`: the score of every pool item. Hypothesis j, strictest
    first at the positions of `search_plan`: "the agreement of the pool items scoring >= t_j is below target",
    the share of the very items that would be auto-labeled, tested exactly on the finite pool
    (`stats.pool_agreement_reaches`: the record's items and the pool's above t_j are a random split). Without
    `pool` (experiments), "the accuracy of items like these scoring >= t_j is below target", tested with the
    one-sided Clopper-Pearson bound: the rate of an unlimited population, from which a pool of a few hundred
    items strays by a point or more. The tests follow the fallback procedure (Wiens 2003; a graphical
    procedure in the sense of Bretz et al. 2009), which controls the family-wise error at 1 - `confidence`
    under any dependence between the tests: hypothesis j is tested at its initial weight plus, when
    hypothesis j-1 was rejected, the level j-1 was tested at. So a chain of rejections carries its budget
    down the sequence, and a failed test loses only the budget carried since the last failure: a wrong label
    among the most confident items (every real dataset has some) no longer ends the search, because the
    next entry point starts a chain of its own. All rejections are valid at once, so the loosest rejected
    threshold is used.

    The bound stated is the target. What the procedure certifies at a rejected threshold is "agreement >=
    target", and no more: the record's own Clopper-Pearson bound at the level the threshold was tested at is
    not a confidence bound once the threshold (and that level, carried down a chain) was chosen by the tests,
    and the simultaneous bounds compatible with a fallback procedure are the null boundary itself at every
    rejected hypothesis (Strassburger & Bretz 2008), short of the case where every hypothesis is rejected.

    The per-class limit makes hypothesis j a union: "the accuracy is below target, or some class loses more than
    `max_class_miss_rate` of its items (by the labels people give) to auto-labels of another class". It is
    rejected only when every part is, each by its own test at the same level (a class's share lost, a rate, by
    the one-sided Clopper-Pearson test): an
    intersection-union test, valid at that level without a correction (Berger 1982), so the procedure above
    is unchanged. A class no validation item carries is not tested (the record cannot see it)."""
    ordered = sorted(scored, key=lambda item: -item[0])
    scores = [item[0] for item in ordered]
    plan = search_plan(scores, target, confidence, pool=pool, entries=entries, points=points)
    correct_before = [0]
    for item in ordered:
        correct_before.append(correct_before[-1] + item[1])
    keeps_classes = _class_limit(ordered, plan.positions, max_class_miss_rate) if max_class_miss_rate < 1.0 else None
    pool_above = dict(zip(plan.positions, plan.pool_items, strict=True)) if plan.pool_items is not None else None

    def reaches(position: int, level: float) -> bool:
        if pool_above is None:
            return clopper_pearson_reaches(correct_before[position], position, 1.0 - level, target)
        return pool_agreement_reaches(correct_before[position], position, pool_above[position], 1.0 - level, target)

    def rejects(position: int, level: float) -> bool:
        return reaches(position, level) and (keeps_classes is None or keeps_classes(position, level))

    n = loosest_rejected(plan, rejects)
    if n is None:
        return NO_THRESHOLD
    k = correct_before[n]
    return Threshold(scores[n - 1], n, k, target, k / n)


def loosest_rejected(plan: SearchPlan, rejects: Callable[[int, float], bool]) -> int | None:
    """The fallback procedure over the plan's hypotheses: the position of the loosest one rejected, or None.
    `rejects(position, level)` is the test of the hypothesis at `position` (the `position` surest validation
    items) at `level`; the procedure's validity needs only that each test is valid at its level."""
    best: int | None = None
    carried = 0.0
    for position, weight in zip(plan.positions, plan.weights, strict=True):
        level = weight + carried
        if level > 0 and rejects(position, level):
            best = position
            carried = level
        else:
            carried = 0.0
    return best


def _class_limit(ordered: list, positions: tuple[int, ...], rate: float) -> Callable[[int, float], bool]:
    """For records ordered by score, highest first: whether, among the `position` surest items (one of
    `positions`), every class loses at most `rate` of its record items (label c, predicted otherwise), by the
    one-sided Clopper-Pearson bound at `level`."""
    if any(len(item) < 3 for item in ordered):
        raise ValueError("a per-class limit needs the class people gave each validation item")
    sizes = Counter(item[2] for item in ordered)
    lost_at: dict[int, dict[int, int]] = {}  # position -> class -> items lost among the `position` surest
    lost = dict.fromkeys(sizes, 0)
    counted = 0
    for position in sorted(set(positions)):
        for _, correct, label in ordered[counted:position]:
            lost[label] += not correct
        counted = position
        lost_at[position] = dict(lost)

    def keeps_classes(position: int, level: float) -> bool:
        return all(
            clopper_pearson_reaches(size - lost_at[position][label], size, 1.0 - level, 1.0 - rate)
            for label, size in sizes.items()
        )

    return keeps_classes


def fixed_margin(scored: list[tuple[float, bool, int]], threshold: float, confidence: float) -> Threshold:
    """The AWS sample's rule (auto-label when margin > threshold), with the same kind of estimate."""
    passed = [item[1] for item in scored if item[0] > threshold]
    n, k = len(passed), sum(passed)
    return Threshold(threshold, n, k, clopper_pearson_lower(k, n, confidence) if n else None, k / n if n else None)


def replaces(covered: int, in_force: int) -> bool:
    """Whether a fresh certificate covering `covered` pool items replaces the one in force, which covers
    `in_force`: only if it covers at least as many, so the auto-labeled set never shrinks. (Preferring the
    larger of valid certificates is a choice among rounds: measured, not assumed, in
    tests/unit/test_calibration.py and docs/how-it-works.md.)"""
    return covered >= in_force


def projected_record(scored: list[tuple[float, bool]], extra: int) -> list[tuple[float, bool]]:
    """The record as it would read with `extra` more calibration items drawn like these, at the same rates:
    the items ordered by score, each standing for (m + extra) / m of the longer record. Only for weighing
    whether more calibration items pay (`calibration_pays`); never certifies anything."""
    ordered = sorted(scored, key=lambda item: -item[0])
    size = len(ordered) + extra
    return [ordered[position * len(ordered) // size] for position in range(size)] if ordered else []


STALLED_ROUNDS_PER_BATCH = 3  # rounds in a row that leave the set in force as it was, before a batch is bought


def record_has_stalled(stalled_rounds: int, fresh_covered: int, in_force: int) -> bool:
    """Whether the calibration record has gone bad for the later models: a third (sixth, …) round in a row
    leaves the set in force as it was (`stalled_rounds`), and this round's own certificate covers less than
    half of that set (`fresh_covered`; 0 when it certified nothing). One round that certifies nothing is as
    often a coin flip at the edge of the bound as a sign, so it takes three; and a round whose certificate
    covers nearly as much as the set in force is a plateau of the models, not a failing record (the price
    rule in `calibration_pays` already weighs a batch there)."""
    return stalled_rounds > 0 and stalled_rounds % STALLED_ROUNDS_PER_BATCH == 0 and 2 * fresh_covered < in_force


def calibration_pays(
    in_force: int, projected: int, extra: int, pool: int, stalled: bool = False, short_record: bool = True
) -> bool:
    """Whether a random calibration batch of `extra` labels, drawn from the whole pool, is worth its price.
    Each rule weighs it on the pool the batch leaves (`pool - extra`): the strategy's picks, all outside the
    set in force, leave that set whole, while a random batch takes its share of it (each label lands on an
    auto-labeled item, one people would not otherwise label, with probability in_force / pool) and the same
    share of any certificate it buys. The batch pays

    - when the certificate a record longer by the batch is expected to give (`projected` pool items, at the
      record's rates: `projected_record`), less the batch's share of it, exceeds the set in force:
      projected · (pool − extra) / pool > in_force. To first order that is projected − in_force > the price,
      but a batch that is a large part of the pool (a small dataset's late rounds) takes as large a part of
      the certificate it buys;
    - while nothing is in force: it costs nothing;
    - while the set in force covers less than half of the pool the batch leaves and the record is
      `short_record` (`certification.long_record_items`: shorter than the record on which every chain of the
      search starts). The batch then costs under half its size, and the projection, which keeps the record's
      rates, cannot see that fresh draws dilute an unlucky short record's excess of wrong labels: a small early
      certificate would otherwise stop the batches until the record stalls. Half of what the batch leaves, not
      of the pool: a later certificate grows only into the items beyond the set in force, and where that room
      was smaller than the set (3,000 items in batches of 500, the late rounds) every batch measured took more
      auto-labels than the longer record won back. On a long record a small certificate is what the model and
      the labels allow (2% wrong labels cap agreement near 98%), and batches bought for it only take the
      strategy's picks;
    - when the record has stalled (`record_has_stalled`), which the projection cannot see past either.

    Never when the set in force and the batch fill the pool (`in_force + extra >= pool`): a random batch would
    leave at most `pool - extra` items for any later certificate, no more than the set in force. The set in force
    keeps its share of the pool as the picks take the rest, so a run whose certificate once covers half of what
    a batch leaves is weighed by the projection alone from then on."""
    if pool <= 0 or in_force + extra >= pool:
        return False
    small = in_force == 0 or (2 * in_force < pool - extra and short_record)
    return small or stalled or projected * (pool - extra) > in_force * pool


def passes(score: float, threshold: Threshold, method: str) -> bool:
    if threshold.value is None:
        return False
    return score > threshold.value if method == "margin_threshold" else score >= threshold.value


def choose_threshold(config: dict, scored: list[tuple[float, bool, int]], pool: Iterable[float]) -> Threshold:
    """`scored`: (score, correct, the class people gave) of every validation item; `pool`: every pool item's score."""
    if config["auto_label_method"] == "calibrated":
        return calibrate(
            scored,
            config["target_accuracy"],
            config["confidence_level"],
            pool=pool,
            max_class_miss_rate=config["max_class_miss_rate"],
        )
    return fixed_margin(scored, config["margin_threshold"], config["confidence_level"])


def calibration_record(
    predictions: dict[int, Prediction], truth: dict[int, int], threshold: Threshold, method: str
) -> Iterator[dict]:
    """Each validation item's line of the round's calibration record (the audit trail of its certificate):
    its score, the model's prediction, the class people gave it, whether they agree, and whether the
    certificate counts it."""
    for record_id in sorted(predictions):
        prediction = predictions[record_id]
        yield {
            RECORD_ID_KEY: record_id,
            "score": prediction.score,
            "predicted": prediction.predicted,
            "label": truth[record_id],
            "correct": prediction.predicted == truth[record_id],
            "certified": passes(prediction.score, threshold, method),
        }


def summary(
    config: dict,
    *,
    round_number: int,
    job_name: str,
    threshold: Threshold,
    pool: int,
    auto_per_class: list[int],
    selected: int,
    validation_items: int,
    certificate_round: int | None,
    declined: dict | None,
    calibration_batch: dict | None,
    calibration: list[dict],
    class_names: tuple[str, ...],
) -> dict:
    """The round's record (rounds/round-NNN/summary.json, and the report). `certificate_round`: the round
    whose certificate covers the auto-labeled set after this one (this round, an earlier one, or None);
    `declined`: this round's own certificate when it covered fewer pool items than the one in force;
    `calibration_batch`: whether the next human batch buys random calibration labels, and why."""
    per_class_validation = [[0, 0] for _ in class_names]  # certified validation items by predicted class
    labeled = [[0, 0] for _ in class_names]  # validation items by the class people gave: all, certified otherwise
    for line in calibration:
        labeled[line["label"]][0] += 1
        if line["certified"]:
            per_class_validation[line["predicted"]][0] += 1
            per_class_validation[line["predicted"]][1] += int(line["correct"])
            labeled[line["label"]][1] += not line["correct"]
    return {
        "round": round_number,
        "job_name": job_name,
        "auto_label_method": config["auto_label_method"],
        "query_strategy": config["query_strategy"],
        "threshold": threshold.value,
        "score": "margin",
        "pool": pool,
        "auto_labeled": sum(auto_per_class),
        "selected": selected,
        "certificate_round": certificate_round,
        "declined_certificate": declined,
        "calibration_batch": calibration_batch,
        "calibration": {
            "target_accuracy": config["target_accuracy"],
            "confidence_level": config["confidence_level"],
            "validation_items": validation_items,
            "certified_items": threshold.items,
            "certified_correct": threshold.correct,
            "estimated_accuracy": threshold.estimated_accuracy,
            "lower_bound": threshold.lower_bound,
        },
        "per_class": [
            {
                "class": name,
                "auto_labeled": auto_per_class[i],
                "validation_items": per_class_validation[i][0],
                "validation_correct": per_class_validation[i][1],
                "validation_labeled": labeled[i][0],
                "validation_missed": labeled[i][1],
            }
            for i, name in enumerate(class_names)
        ],
    }


# --- selection (the query strategies themselves live in strategies.py) ----------------------------------


class TopK:
    """The k highest-priority items of a stream, in bounded memory (no sort of all predictions)."""

    def __init__(self, k: int):
        self.k = k
        self._heap: list[tuple[float, int]] = []

    def offer(self, value: float, record_id: int) -> None:
        if self.k <= 0:
            return
        item = (value, -record_id)  # ties: lower record id first
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def best_first(self) -> Iterator[tuple[int, float]]:
        """(record id, value), highest value first, read backwards from the heap sorted in place rather than
        copied (a batch may hold 100,000 items). A list sorted ascending is still a heap, so offers may go on."""
        self._heap.sort()
        return ((-negated_id, value) for value, negated_id in reversed(self._heap))
