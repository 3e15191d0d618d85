"""PrepareHumanBatch: choose the records humans label next and cut them out of the working manifest.

A bootstrap batch is a uniform random sample of the unlabeled records (not the first N in file order, as
the AWS sample did): the `size` records with the smallest seeded hash, found with a bounded heap. A selection
batch is what the last round chose, in its order: random calibration picks first, when the round bought
them, then the query strategy's. A calibration pick may be an auto-labeled record (the picks stand for the
whole pool): people see it without its auto-label, so nothing hints at the model's answer.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from labeling_common import backends
from labeling_common.draws import seeded_hash
from labeling_common.manifest import AUTO, RECORD_ID_KEY, UNLABELED, label_state, metadata_key

ID_BITS = 40  # record ids below 2**40: far beyond any manifest


def random_unlabeled_ids(records: Iterable[dict], attribute: str, size: int, seed: int, purpose: str) -> set[int]:
    """The `size` unlabeled records with the smallest seeded hash. The heap holds one int per candidate,
    -(hash << ID_BITS | id) (a max-heap by negation), a third of the memory of (hash, id) tuples."""
    heap: list[int] = []
    mask = (1 << ID_BITS) - 1
    for record in records:
        if label_state(record, attribute) != UNLABELED:
            continue
        item = -((seeded_hash(seed, purpose, record[RECORD_ID_KEY]) << ID_BITS) | record[RECORD_ID_KEY])
        if len(heap) < size:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return {-item & mask for item in heap}


def first_selected_ids(selection: Iterable[dict], size: int) -> tuple[set[int], set[int]]:
    """The first `size` ids of a round's selection file, and those of them that join the calibration set."""
    chosen: set[int] = set()
    calibration: set[int] = set()
    for line in selection:
        if len(chosen) >= size:
            break
        chosen.add(line[RECORD_ID_KEY])
        if line.get("calibration"):
            calibration.add(line[RECORD_ID_KEY])
    return chosen, calibration


def batch_records(
    records: Iterable[dict], attribute: str, chosen: set[int], calibration: set[int] = frozenset()
) -> Iterator[dict]:
    """The chosen records people are to label, in manifest order: those still unlabeled, and the calibration
    picks that carry an auto-label, without it. Every other field is kept (humans see every field)."""
    for record in records:
        if record[RECORD_ID_KEY] not in chosen:
            continue
        state = label_state(record, attribute)
        if state == UNLABELED:
            yield record
        elif state == AUTO and record[RECORD_ID_KEY] in calibration:
            yield {key: value for key, value in record.items() if key not in (attribute, metadata_key(attribute))}


def existing_answers(backend: str, batch: dict, exists) -> str | None:
    """Where this batch's labels already are, if an earlier execution of the run got them delivered (same
    step -> same job name and records): where the backend's answers land."""
    candidate = backends.backend(backend).answers_uri(batch)
    return candidate if exists(candidate) else None
