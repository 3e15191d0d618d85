"""MergeLabels: apply a batch of labels (human or auto) to the working manifest, as a new version.

The batch is small (at most one labeling job or one round's auto-labels) and is held as a dict by record
id; the working manifest streams past once. Only the label attribute and its metadata are taken from the
batch, so every other field of the working record is kept (the AWS sample replaced whole records and lost
user fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from labeling_common import schemas
from labeling_common.errors import InvalidEvent, InvalidLabeledBatch
from labeling_common.manifest import RECORD_ID_KEY, UNLABELED, LineChecker, Tally, label_state, metadata_key

Updates = dict[int, tuple[int, str]]
"""Record id -> (label, metadata as compact JSON). A batch can hold 100,000 answers; keeping each metadata
object as one string instead of a dict of small objects cuts the merge's memory several-fold."""


def _compact(metadata: dict) -> str:
    return json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))


def callback_manifest_uri(answer: object, job_name: str) -> str:
    """The labeled manifest named by a callback answer (the SendTaskSuccess output)."""
    schemas.check(answer, "labeled-batch.schema.json", InvalidLabeledBatch, root="$.labeling.callback_answer")
    if answer["JobName"] != job_name:
        raise InvalidLabeledBatch(
            f"answers job {answer['JobName']!r}, but this task is {job_name!r}",
            field="$.labeling.callback_answer.JobName",
        )
    return answer["LabeledManifestS3Uri"]


def read_answers(lines: Iterable[tuple[int, dict]], checker: LineChecker, expected: set[int], where: str) -> Updates:
    """Validated human labels by record id. Every id must belong to the batch that was sent, at most once."""
    updates: Updates = {}
    meta_key = metadata_key(checker.attribute)
    for line_no, record in lines:
        checker.check(record, line_no, where)
        record_id = record[RECORD_ID_KEY]
        if record_id not in expected:
            raise InvalidLabeledBatch(
                f"{where}: record id {record_id} was not sent in this batch", field=f"line {line_no}"
            )
        if record_id in updates:
            raise InvalidLabeledBatch(f"{where}: record id {record_id} is answered twice", field=f"line {line_no}")
        updates[record_id] = (record[checker.attribute], _compact(record[meta_key]))
    return updates


def read_auto_labels(lines: Iterable[dict], attribute: str) -> Updates:
    meta_key = metadata_key(attribute)
    return {line[RECORD_ID_KEY]: (line[attribute], _compact(line[meta_key])) for line in lines}


class Merge:
    """Streams one manifest version into the next, applying `updates`; counts as it goes."""

    def __init__(self, attribute: str, updates: Updates):
        self.attribute = attribute
        self.meta_key = metadata_key(attribute)
        self.updates = updates
        self.tally = Tally(attribute)
        self.applied = 0

    def apply(self, records: Iterable[dict]) -> Iterator[dict]:
        for record in records:
            update = self.updates.get(record[RECORD_ID_KEY])
            if update is not None:
                if label_state(record, self.attribute) != UNLABELED:
                    raise InvalidEvent(f"record {record[RECORD_ID_KEY]} is already labeled; refusing to relabel it")
                record[self.attribute], record[self.meta_key] = update[0], json.loads(update[1])
                self.applied += 1
            self.tally.add(record)
            yield record

    def check_complete(self) -> None:
        if self.applied != len(self.updates):
            raise InvalidEvent(f"{len(self.updates) - self.applied} labels name records missing from the manifest")
