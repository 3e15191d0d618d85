"""MergeLabels: apply a batch of labels (human or auto) to the working manifest, as a new version.

The batch goes into a LabelStore (SQLite on /tmp) and comes back ordered by record id, so the merge is one
sorted join with the working manifest, whose record ids ascend: bounded memory whatever the batch size.
Only the label attribute and its metadata are taken from the batch, so every other field of the working
record is kept (the AWS sample replaced whole records and lost user fields).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from labeling_common import progress
from labeling_common.errors import InvalidEvent, InvalidLabeledBatch
from labeling_common.label_store import Entry, LabelStore
from labeling_common.manifest import AUTO, RECORD_ID_KEY, UNLABELED, LineChecker, Tally, label_state, metadata_key


def load_answers(store: LabelStore, lines: Iterable[tuple[int, dict]], checker: LineChecker, where: str) -> None:
    """Validated human labels into the store: each line checked, each record answered at most once."""
    meta_key = metadata_key(checker.attribute)
    for line_no, record in lines:
        checker.check(record, line_no, where)
        first = store.add(record[RECORD_ID_KEY], record[checker.attribute], record[meta_key], line_no)
        if first is not None:
            raise InvalidLabeledBatch(
                f"{where}: record id {record[RECORD_ID_KEY]} is answered twice (first on line {first})",
                field=f"line {line_no}",
            )


def check_sent(store: LabelStore, batch_ids: Iterable[int], where: str) -> None:
    """Every answered record was in the batch sent to humans (both in ascending record-id order)."""
    sent = iter(batch_ids)
    current = next(sent, None)
    for record_id, _, _, line_no in store.in_order():
        while current is not None and current < record_id:
            current = next(sent, None)
        if current != record_id:
            raise InvalidLabeledBatch(
                f"{where}: record id {record_id} was not sent in this batch", field=f"line {line_no}"
            )


def load_auto_labels(store: LabelStore, lines: Iterable[dict], attribute: str) -> None:
    meta_key = metadata_key(attribute)
    for line_no, line in enumerate(lines, start=1):
        if store.add(line[RECORD_ID_KEY], line[attribute], line[meta_key], line_no) is not None:
            raise InvalidEvent(f"auto-labels name record {line[RECORD_ID_KEY]} twice", field=f"line {line_no}")


class Merge:
    """Streams one manifest version into the next, joining the label entries (by ascending record id)."""

    def __init__(
        self,
        attribute: str,
        entries: Iterable[Entry],
        *,
        replace_auto: bool = False,
        calibration: set[int] = frozenset(),
    ):
        self.attribute = attribute
        self.replace_auto = replace_auto  # an adopting round's auto-labels replace every earlier auto-label
        self.calibration = calibration  # a human batch's calibration picks: their labels may replace auto-labels
        self.calibration_labels: list[tuple[int, int]] = []  # (record id, label) of the picks labeled here
        self.relabeled: Counter[int] = Counter()  # auto-labels people's answers replaced, by the auto-label's class
        self.meta_key = metadata_key(attribute)
        self._entries = iter(entries)
        self.tally = Tally(attribute)
        self.applied = 0
        self._pending = next(self._entries, None)

    def apply(self, records: Iterable[dict]) -> Iterator[dict]:
        previous = -1
        for record in records:
            record_id = record[RECORD_ID_KEY]
            if record_id <= previous:
                raise InvalidEvent(f"working manifest is out of record-id order at record {record_id}")
            previous = record_id
            if self._pending is not None and self._pending[0] < record_id:
                raise InvalidEvent(f"a label names record {self._pending[0]}, which the manifest does not hold")
            if self.replace_auto and label_state(record, self.attribute) == AUTO:
                del record[self.attribute], record[self.meta_key]
            if self._pending is not None and self._pending[0] == record_id:
                state = label_state(record, self.attribute)
                if state != UNLABELED and not (state == AUTO and record_id in self.calibration):
                    raise InvalidEvent(f"record {record_id} is already labeled; refusing to relabel it")
                if state == AUTO:  # a random calibration pick drawn from the auto-labeled set
                    self.relabeled[record[self.attribute]] += 1
                record[self.attribute], record[self.meta_key] = self._pending[1], self._pending[2]
                self.applied += 1
                if record_id in self.calibration:
                    self.calibration_labels.append((record_id, self._pending[1]))
                self._pending = next(self._entries, None)
            self.tally.add(record)
            yield record

    def check_complete(self) -> None:
        if self._pending is not None:
            raise InvalidEvent(f"a label names record {self._pending[0]}, which the manifest does not hold")


def merged_progress(
    config: dict,
    state: dict,
    event: dict,
    merged_uri: str,
    merge: Merge,
    source_uri: str,
    validation: tuple[str, int] | None = None,
):
    """The progress after a merge, and its history entry: what was sent and labeled (a human batch), or the
    round's result (auto-labels, with the next selection and the certificate then in force). `validation`:
    the calibration set's new version and size, when the batch's calibration picks joined it."""
    validation_uri, validation_items = validation or (state["validation_uri"], state["counts"]["validation"])
    common = {
        "run_id": state["run_id"],
        "attempt": state["attempt"],
        "step": state["step"] + 1,
        "working_manifest_uri": merged_uri,
        "counts": merge.tally.counts(validation=validation_items),
        "validation_uri": validation_uri,
    }
    if event["source"] == "human":
        batch = event["batch"]
        outcome = {"rounds_done": state["round"], "certificate_round": state["certificate_round"]}
        outcome["stalled"] = merge.applied == 0
        entry = {
            "kind": "human_batch",
            "job_name": batch["job_name"],
            "batch_kind": batch["kind"],
            "sent": batch["record_count"],
            "labeled": merge.applied,
            "calibration_items": len(merge.calibration_labels),
            # the auto-labels in force that people's answers replaced, by class: the report's counts of the set
            # in force are the certifying round's less these
            "auto_relabeled": [merge.relabeled[label] for label in range(config["num_classes"])],
            "labeled_manifest_uri": source_uri,
        }
    else:
        result = event["round_result"]
        outcome = {"rounds_done": result["round"], "certificate_round": result["certificate_round"]}
        outcome.update(selection={"uri": result["selection_uri"], "size": result["selected"]}, after_round=True)
        entry = {"kind": "round", **result}
    return progress.build(config, **common, **outcome), {**entry, "step": common["step"]}
