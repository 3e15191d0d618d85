"""MergeLabels Lambda: working manifest version N -> N+1 with a human or auto-label batch; checkpoint."""

from __future__ import annotations

from labeling_common import backends, checkpoint, layout, s3io
from labeling_common.errors import InvalidLabeledBatch
from labeling_common.label_store import LabelStore
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY, LineChecker
from labeling_common.observability import entrypoint, logger, metrics

from .logic import Merge, check_sent, load_answers, load_auto_labels, merged_progress


def _load_human_answers(store: LabelStore, config: dict, event: dict) -> str:
    batch = event["batch"]
    labeled_uri = backends.labeled_manifest_uri(event["labeling"], batch)
    if not s3io.exists(labeled_uri):
        raise InvalidLabeledBatch(f"labeled manifest {labeled_uri} does not exist", field="$.labeling")
    categories = LabelCategories.from_config(s3io.read_json(config["label_config_uri"]))
    checker = LineChecker(config["label_attribute"], categories, InvalidLabeledBatch, mode="answer")
    where = f"labeled manifest {labeled_uri}"
    load_answers(store, s3io.iter_json_lines(labeled_uri, what="labeled manifest"), checker, where)
    check_sent(store, (record[RECORD_ID_KEY] for record in s3io.iter_records(batch["batch_manifest_uri"])), where)
    return labeled_uri


@entrypoint("merge_labels")
def lambda_handler(event: dict, context: object) -> dict:
    config, state = event["config"], event["progress"]
    with LabelStore() as store:
        if event["source"] == "human":
            source_uri = _load_human_answers(store, config, event)
        else:
            source_uri = event["round_result"]["auto_labels_uri"]
            load_auto_labels(store, s3io.iter_records(source_uri), config["label_attribute"])
        return _merge(config, state, event, store, source_uri)


def _calibration_picks(event: dict) -> set[int]:
    """The human batch's random calibration picks (a batch's worth of ids at most)."""
    uri = event["batch"].get("calibration_uri") if event["source"] == "human" else None
    return {line[RECORD_ID_KEY] for line in s3io.iter_records(uri)} if uri else set()


def _grown_validation_set(config: dict, state: dict, step: int, merge: Merge) -> tuple[str, int] | None:
    """The calibration set with the batch's labeled picks added, as a new version (None: nothing to add)."""
    if not merge.calibration_labels:
        return None
    labels = {**s3io.load_validation_set(state["validation_uri"]), **dict(merge.calibration_labels)}
    uri = layout.validation_set(config["output_uri"], state["attempt"], step)
    lines = ({RECORD_ID_KEY: record_id, "label": labels[record_id]} for record_id in sorted(labels))
    s3io.write_lines(uri, lines, s3io.encryption_args(config["kms_key_id"]))
    return uri, len(labels)


def _merge(config: dict, state: dict, event: dict, store: LabelStore, source_uri: str) -> dict:
    step = state["step"] + 1
    merged_uri = layout.working_manifest(config["output_uri"], step, state["attempt"])
    # a round that adopts a certificate replaces every earlier auto-label with its own
    result = event.get("round_result")
    adopted = event["source"] != "human" and result["certificate_round"] == result["round"]
    picks = _calibration_picks(event)
    merge = Merge(config["label_attribute"], store.in_order(), replace_auto=adopted, calibration=picks)
    with s3io.JsonLinesWriter(merged_uri, encryption=s3io.encryption_args(config["kms_key_id"])) as writer:
        for record in merge.apply(s3io.iter_records(state["working_manifest_uri"])):
            writer.write(record)
        merge.check_complete()
    validation = _grown_validation_set(config, state, step, merge)
    new_state, entry = merged_progress(config, state, event, merged_uri, merge, source_uri, validation)
    checkpoint.save(config, new_state, history_entry=entry)
    metric = "HumanLabelsMerged" if event["source"] == "human" else "AutoLabelsMerged"
    metrics.add_metric(name=metric, unit="Count", value=merge.applied)
    logger.info("labels merged", source=event["source"], applied=merge.applied, step=step, next=new_state["next"])
    return new_state
