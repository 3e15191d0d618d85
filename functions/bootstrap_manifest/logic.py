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


IDENTITY_KEYS = ("input_manifest_uri", "label_attribute", "label_config_uri")
MANIFEST_FIELD = "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri"


def identity(config: dict, manifest_etag: str, label_config_etag: str) -> dict:
    """What must not change between executions that share one output path's checkpoint: the input's URIs
    and the content at them (ETags), since a resumed run continues from record ids given to that content."""
    return {
        **{key: config[key] for key in IDENTITY_KEYS},
        "manifest_etag": manifest_etag,
        "label_config_etag": label_config_etag,
    }


def check_same_input(saved: dict, current: dict) -> None:
    """A resumed run must be fed what it started with (checkpoints from before ETags were kept: URIs only)."""
    if "input_manifest_uri" not in saved and "manifest_uri" in saved:  # checkpoints of earlier releases
        saved = {**saved, "input_manifest_uri": saved["manifest_uri"]}
    if {key: saved.get(key) for key in IDENTITY_KEYS} != {key: current[key] for key in IDENTITY_KEYS}:
        raise InvalidInput(
            f"already holds a run for { ({key: saved.get(key) for key in IDENTITY_KEYS}) }; use another output path "
            "for a different manifest, label attribute or label config",
            field="$.OutputConfig.S3OutputPath",
        )
    for key, field, what in (
        ("manifest_etag", MANIFEST_FIELD, "input manifest"),
        ("label_config_etag", "$.LabelCategoryConfigS3Uri", "label config"),
    ):
        if key in saved and saved[key] != current[key]:
            raise InvalidInput(
                f"the {what} changed since this run started (ETag {saved[key]}, now {current[key]}): its record "
                "ids would no longer match. To label the new content, start with another S3OutputPath; to "
                "continue this run, put the original object back (with bucket versioning, restore that version)",
                field=field,
            )


def resumed_progress(config: dict, document: dict, execution_arn: str, current_identity: dict) -> dict:
    """Progress for an execution that continues a run from its checkpoint (settings may have changed). Each
    new execution is a new attempt (its round and job names differ from the failed attempt's); a retry of
    this execution's own bootstrap keeps its attempt."""
    check_same_input(document.get("identity") or {}, current_identity)
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
        working_manifest_uri=saved.get("working_manifest_uri") or saved["manifest_uri"],  # or an older name
        counts=saved["counts"],
        rounds_done=saved["round"],
        validation_uri=saved["validation_uri"],
        # a checkpoint from before re-certification has none: the next round certifies its auto-labels afresh
        certificate_round=saved.get("certificate_round"),
        selection=selection,
    )


def counts_or_error(tally: Tally, manifest_uri: str) -> dict:
    if tally.total == 0:
        raise InvalidInput(
            f"{manifest_uri} holds no records", field="$.InputConfig.DataSource.S3DataSource.ManifestS3Uri"
        )
    return tally.counts(validation=0)
