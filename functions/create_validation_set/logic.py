"""CreateValidationSet: hold out a random, class-stratified sample of the human labels, once per run.

The held-out items calibrate the auto-label threshold, so they must be a random sample of the data: they are
drawn from the human labels that exist when the first round starts, which are the bootstrap's random picks
(not items chosen by active learning). Size: see validation_size.
Exactly `size` items, split across classes in proportion to their human-label counts (largest remainder),
each class's share being the items with the smallest seeded hash (two streaming passes, bounded heaps).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable

from labeling_common.draws import seeded_hash
from labeling_common.manifest import HUMAN, RECORD_ID_KEY, label_state
from labeling_common.progress import MAX_VALIDATION_ITEMS


def validation_size(config: dict, counts: dict, calibration_mode: str) -> int:
    """holdout: ValidationFraction of all items, at most half the human labels (the rest must train).
    cross_fit: every human label, since each is still trained on by the models that do not predict it:
    the bigger the calibration set, the tighter the bound, at no cost in training data.
    Both at most MAX_VALIDATION_ITEMS."""
    if calibration_mode == "cross_fit":
        return min(counts["human"], MAX_VALIDATION_ITEMS)
    return min(round(config["validation_fraction"] * counts["total"]), counts["human"] // 2, MAX_VALIDATION_ITEMS)


def human_class_counts(records: Iterable[dict], attribute: str) -> Counter:
    return Counter(record[attribute] for record in records if label_state(record, attribute) == HUMAN)


def quotas(class_counts: Counter, size: int) -> dict[int, int]:
    """Split `size` across classes proportionally to `class_counts`, summing exactly to `size`."""
    total = sum(class_counts.values())
    if total == 0 or size == 0:
        return {label: 0 for label in class_counts}
    shares = {label: size * count / total for label, count in class_counts.items()}
    result = {label: math.floor(share) for label, share in shares.items()}
    by_remainder = sorted(shares, key=lambda label: (shares[label] - result[label], -label), reverse=True)
    for label in by_remainder[: size - sum(result.values())]:
        result[label] += 1
    return result


def stratified_sample(
    records: Iterable[dict], attribute: str, class_quotas: dict[int, int], seed: int
) -> list[tuple[int, int]]:
    """[(record id, label)] sorted by record id."""
    heaps: dict[int, list[tuple[int, int]]] = {label: [] for label in class_quotas}
    for record in records:
        if label_state(record, attribute) != HUMAN:
            continue
        label = record[attribute]
        quota = class_quotas.get(label, 0)
        if quota == 0:
            continue
        record_id = record[RECORD_ID_KEY]
        item = (-seeded_hash(seed, "validation", record_id), record_id)
        heap = heaps[label]
        if len(heap) < quota:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return sorted((record_id, label) for label, heap in heaps.items() for _, record_id in heap)
