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


def _merge(config: dict, state: dict, event: dict, store: LabelStore, source_uri: str) -> dict:
    step = state["step"] + 1
    merged_uri = layout.working_manifest(config["output_uri"], step, state["attempt"])
    # a round that adopts a certificate replaces every earlier auto-label with its own
    result = event.get("round_result")
    adopted = event["source"] != "human" and result["certificate_round"] == result["round"]
    merge = Merge(config["label_attribute"], store.in_order(), replace_auto=adopted)
    with s3io.JsonLinesWriter(merged_uri, encryption=s3io.encryption_args(config["kms_key_id"])) as writer:
        for record in merge.apply(s3io.iter_records(state["working_manifest_uri"])):
            writer.write(record)
        merge.check_complete()
    new_state, entry = merged_progress(config, state, event, merged_uri, merge, source_uri)
    checkpoint.save(config, new_state, history_entry=entry)
    metric = "HumanLabelsMerged" if event["source"] == "human" else "AutoLabelsMerged"
    metrics.add_metric(name=metric, unit="Count", value=merge.applied)
    logger.info("labels merged", source=event["source"], applied=merge.applied, step=step, next=new_state["next"])
    return new_state
