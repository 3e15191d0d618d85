"""ExportFinal: the final manifest (every input record once, in input order, internal keys stripped); the
run report (per-round counts, thresholds, estimated accuracy and its bound, human cost) is built and
rendered by labeling_common.report, which `labeler report` shares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from labeling_common.errors import InvalidEvent
from labeling_common.manifest import Tally, strip_internal


def final_records(records: Iterable[dict], tally: Tally) -> Iterator[dict]:
    for record in records:
        tally.add(record)
        yield strip_internal(record)


def check_counts(tally: Tally, expected: dict) -> None:
    got = tally.counts(validation=expected["validation"])
    if got != expected:
        raise InvalidEvent(f"final manifest counts {got} differ from the run's counts {expected}")
