"""How many calibration items a certificate needs: the threshold search's entry points (where its chains
start, and their shares of the error budget) and the exact Clopper-Pearson counts behind them.

SelectAndAutoLabel's search (`select_and_auto_label.logic.calibrate`) starts its chains here, and the loop's
decision rules (`progress`) size the random bootstrap by them: the record the search needs to start its chains
with room, and no more, since a bootstrap is bought before any model can tell whether more would pay; random
calibration batches grow the record later, when a round expects them to, and for a small certificate only while
the record is shorter than the one every chain starts on (`long_record_items`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from .stats import clopper_pearson_reaches


@dataclass(frozen=True)
class EntryPoint:
    """Where one chain of the search starts, and its initial share of the error budget 1 - ConfidenceLevel.
    `budget_share` is a weight: each entry in use gets weight / (sum of the weights in use) of the budget.
    The chain starts at the first count where a record with `error_share` of the tolerated error rate
    1 - TargetAccuracy wrong can certify the target at this share of the budget. An entry for long records
    (`within` < 1) is used only when that count lies within the first `within` of the validation items;
    otherwise its weight goes out of the sum, and the others' shares grow pro rata."""

    error_share: float
    budget_share: float
    within: float = 1.0

    def error_rate(self, target: float) -> float:
        """The observed error rate the chain is placed for: its share of the tolerated error rate 1 - target."""
        return self.error_share * (1.0 - target)


def entry_levels(entries: tuple[EntryPoint, ...] | list[EntryPoint], budget: float) -> list[float]:
    """Each entry's significance level when `entries` alone share the error budget (1 - confidence) by their
    weights: the one place the weights become levels, for the search's plan and for where its chains start."""
    total = sum(entry.budget_share for entry in entries)
    return [entry.budget_share / total * budget for entry in entries]


# Shares of the budget, by what each chain is for. Most goes where records with 60% and 70% of the tolerated
# errors wrong (3% and 3.5% for a 95% target: the 1-3% wrong labels real data has, plus the model's own few)
# can pass: a chain fails about half the time at an entry placed exactly where its error rate just passes, so
# the noisy chains start where such records pass with room. The flawless chain needs little: on clean data it
# starts early and, passing, collects every later entry's share as it goes. The 40% entry (2% wrong) serves
# small validation sets, where the later entries do not fit (their share then goes to the entries that do).
# Measured against (0, 0.4, 0.6) with equal shares: docs/how-it-works.md, "The accuracy guarantee".
# Those four start within the first 685 items (95% target), wherever the record ends; in a long record (random
# calibration batches grow it) all four can fail on an unlucky few hundred surest items while the items below
# them hold ample evidence. The fifth chain, for records with 75% of the tolerated errors (3.75% wrong), starts
# at 1,465 items; it is used only when that lies within the surer half of the record (from 2,930 items), where
# thresholds can pass. Its weight, a quarter of the four's, leaves them 4/5 of the budget there (12/8/20/40%,
# 20% for it); a shorter record is searched with the four's weights alone, bit for bit as before it.
ENTRY_POINTS = (
    EntryPoint(0.0, 0.15),
    EntryPoint(0.4, 0.10),
    EntryPoint(0.6, 0.25),
    EntryPoint(0.7, 0.50),
    EntryPoint(0.75, 0.25, within=0.5),
)


@functools.lru_cache(maxsize=256)  # the same few entry points every round: most of a search's time otherwise
def items_to_certify(target: float, level: float, error_rate: float = 0.0, limit: int = 10**7) -> int:
    """Fewest validation items for which a record with this observed error rate (floor(n * error_rate) wrong)
    certifies `target` at significance `level` (error_rate 0: a perfect record); limit + 1 if more than
    `limit` would be needed. With k wrong fixed, the bound rises with n, so the counts are searched segment
    by segment (one segment per k) with a bisection each: exact, and fast even for a 99.9% target."""

    def errors(n: int) -> int:
        return math.floor(n * error_rate)

    def certifies(n: int) -> bool:
        return clopper_pearson_reaches(n - errors(n), n, 1.0 - level, target)

    low = 1
    while low <= limit:
        k = errors(low)
        high = low  # the last count with k errors (doubling, then bisection on the error count)
        step = 1
        while high + step <= limit + 1 and errors(high + step) == k:
            high += step
            step *= 2
        while step > 1:
            step //= 2
            if high + step <= limit + 1 and errors(high + step) == k:
                high += step
        if certifies(high):
            first = low
            while first < high:  # the first certifying count of this segment
                middle = (first + high) // 2
                if certifies(middle):
                    high = middle
                else:
                    first = middle + 1
            return first
        low = high + 1
    return limit + 1


def minimum_items(target: float, confidence: float) -> int:
    """Fewest validation items for which even a perfect record can certify `target`."""
    return items_to_certify(target, 1.0 - confidence)


def chain_starts(
    target: float, confidence: float, entries: tuple[EntryPoint, ...] | list[EntryPoint], limit: int = 10**7
) -> list[int]:
    """Where each entry's chain starts when `entries` alone share the budget 1 - `confidence` by their weights:
    the fewest items on which a record with the entry's share of the tolerated errors certifies `target` at
    the entry's share of the budget (limit + 1 where more than `limit` would be needed)."""
    levels = entry_levels(entries, 1.0 - confidence)
    return [
        items_to_certify(target, level, entry.error_rate(target), limit)
        for entry, level in zip(entries, levels, strict=True)
    ]


SURE_SHARE = 0.5
"""Share of a random record assumed to lie above a useful threshold: the surer half (as for the fifth entry)."""


def bootstrap_items(target: float, confidence: float, entries: tuple[EntryPoint, ...] = ENTRY_POINTS) -> int:
    """Random labels the bootstrap buys at most: a record whose surer half reaches the count where the
    search's last general chain starts (1,370 items for a 95% target at 95% confidence, where that chain,
    for records with 3.5% wrong, starts at 685). A shorter record leaves the chains no room to pass; a
    longer one is bought only as random calibration batches, when a round shows a longer record would
    certify more than its labels take from the auto-labels — which a bootstrap, bought before any model,
    cannot know. It does not grow with the dataset: 20% of a million items would be 200,000 labels.

    The rate's counts, not the finite-pool test's the search runs: sized by that test (the first record whose
    surer half starts every chain against the surer half of the items it leaves: 1,597 of 10,000 items), the
    bootstrap cost 2 points on every seed of a binary set, which certifies most of its pool in round 1 from the
    shorter record, and left the four-class sample's mean where it was (docs/efficiency.md, "No labels in the
    input"); where round 1's record proves short, the calibration batches top it up."""
    general = [entry for entry in entries if entry.within >= 1.0]
    return math.ceil(max(chain_starts(target, confidence, general)) / SURE_SHARE)


def long_record_items(target: float, confidence: float, entries: tuple[EntryPoint, ...] = ENTRY_POINTS) -> int:
    """The shortest record on which every chain of the search starts: where the entry for long records starts
    within its part of it (2,930 items for a 95% target at 95% confidence: the fifth entry's 1,465 within the
    surer half). A shorter record is what random calibration batches still dilute while a small certificate is
    in force (`select_and_auto_label.logic.calibration_pays`); a record this long already holds the evidence the
    search was built to use, and a small certificate on it is the model's and the labels', not the record's."""
    starts = chain_starts(target, confidence, entries)
    return max(math.ceil(start / entry.within) for entry, start in zip(entries, starts, strict=True))
