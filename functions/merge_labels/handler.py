"""MergeLabels Lambda: working manifest version N -> N+1 with a human or auto-label batch; checkpoint."""

from __future__ import annotations

from labeling_common import backends, checkpoint, layout, progress, s3io
from labeling_common.errors import InvalidLabeledBatch
from labeling_common.label_store import LabelStore
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY, LineChecker
from labeling_common.observability import entrypoint, logger, metrics

from .logic import Merge, check_sent, load_answers, load_auto_labels


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


def _merge(config: dict, state: dict, event: dict, store: LabelStore, source_uri: str) -> dict:
    attribute = config["label_attribute"]
    step = state["step"] + 1
    merged_uri = layout.working_manifest(config["output_uri"], step, state["attempt"])
    merge = Merge(attribute, store.in_order())
    with s3io.JsonLinesWriter(merged_uri, encryption=s3io.encryption_args(config["kms_key_id"])) as writer:
        for record in merge.apply(s3io.iter_records(state["working_manifest_uri"])):
            writer.write(record)
        merge.check_complete()
    counts = merge.tally.counts(validation=state["counts"]["validation"])

    common = {
        "run_id": state["run_id"],
        "attempt": state["attempt"],
        "step": step,
        "working_manifest_uri": merged_uri,
        "counts": counts,
        "validation_uri": state["validation_uri"],
    }
    if event["source"] == "human":
        batch = event["batch"]
        new_state = progress.build(
            config,
            rounds_done=state["round"],
            calibration_uri=state["calibration_uri"],
            stalled=merge.applied == 0,
            **common,
        )
        entry = {
            "kind": "human_batch",
            "step": step,
            "job_name": batch["job_name"],
            "batch_kind": batch["kind"],
            "sent": batch["record_count"],
            "labeled": merge.applied,
            "labeled_manifest_uri": source_uri,
        }
        metrics.add_metric(name="HumanLabelsMerged", unit="Count", value=merge.applied)
    else:
        result = event["round_result"]
        selection = {"uri": result["selection_uri"], "size": result["selected"]}
        new_state = progress.build(
            config,
            rounds_done=result["round"],
            calibration_uri=result["calibration_uri"],
            selection=selection,
            after_round=True,
            **common,
        )
        entry = {"kind": "round", "step": step, **result}
        metrics.add_metric(name="AutoLabelsMerged", unit="Count", value=merge.applied)
    checkpoint.save(config, new_state, history_entry=entry)
    logger.info(
        "labels merged", source=event["source"], applied=merge.applied, step=step, next=new_state["next"], **counts
    )
    return new_state
