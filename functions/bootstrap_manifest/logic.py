"""Bootstrap: number the input records into working manifest version 0, or resume from a checkpoint."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from labeling_common import progress
from labeling_common.errors import InvalidInput
from labeling_common.manifest import LABEL_TYPE, RECORD_ID_KEY, LineChecker, Tally, metadata_key


def number_records(lines: Iterable[tuple[int, dict]], checker: LineChecker, tally: Tally) -> Iterator[dict]:
    """Validate each input line and give it a stable record id: its position among the input's records.

    A label without metadata (a user's pre-labeled item) is taken as a human label and gets the minimal
    Ground Truth metadata, so every later step sees one consistent shape. Nothing else is changed.
    """
    attribute = checker.attribute
    meta_key = metadata_key(attribute)
    for record_id, (line_no, record) in enumerate(lines):
        checker.check(record, line_no, "input manifest")
        if attribute in record and meta_key not in record:
            record[meta_key] = {
                "class-name": checker.categories.names[record[attribute]],
                "human-annotated": "yes",
                "type": LABEL_TYPE,
            }
        record[RECORD_ID_KEY] = record_id
        tally.add(record)
        yield record


def identity(config: dict) -> dict:
    """What must not change between executions that share one output path's checkpoint."""
    return {key: config[key] for key in ("manifest_uri", "label_attribute", "label_config_uri")}


def resumed_progress(config: dict, document: dict, execution_arn: str) -> dict:
    """Progress for an execution that continues a run from its checkpoint (settings may have changed). Each
    new execution is a new attempt (its round and job names differ from the failed attempt's); a retry of
    this execution's own bootstrap keeps its attempt."""
    if document.get("identity") != identity(config):
        raise InvalidInput(
            f"already holds a run for {document.get('identity')}; use another output path for a different "
            "manifest, label attribute or label config",
            field="$.OutputConfig.S3OutputPath",
        )
    saved = document["progress"]
    pending = saved.get("pending_batch")
    selection = (
        {"uri": pending["selection_uri"], "size": pending["size"]}
        if pending and pending["kind"] == "selection"
        else None
    )
    attempt = saved["attempt"] if document.get("attempt_owner") == execution_arn else saved["attempt"] + 1
    return progress.build(
        config,
        run_id=saved["run_id"],
        attempt=attempt,
        step=saved["step"],
        manifest_uri=saved["manifest_uri"],
        counts=saved["counts"],
        rounds_done=saved["round"],
        validation_uri=saved["validation_uri"],
        selection=selection,
    )


def counts_or_error(tally: Tally, manifest_uri: str) -> dict:
    if tally.total == 0:
        raise InvalidInput(
            f"{manifest_uri} holds no records", field="$.InputConfig.DataSource.S3DataSource.ManifestS3Uri"
        )
    return tally.counts(validation=0)
