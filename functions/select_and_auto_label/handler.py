"""SelectAndAutoLabel Lambda: two streaming passes over the transform output.

Pass 1 checks every line against its schema, checks the output covers every input record exactly once, and
collects the validation items' predictions (a small set); the threshold is calibrated on them. Pass 2
writes auto-labels for pool items at or above the threshold and keeps the next human batch in a bounded heap.
"""

from __future__ import annotations

from datetime import UTC, datetime

from labeling_common import layout, progress, s3io
from labeling_common.errors import InvalidEvent, InvalidInferenceOutput
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY, label_metadata, metadata_key
from labeling_common.observability import entrypoint, logger, metrics

from .logic import TopK, calibration_state, choose_threshold, iter_predictions, passes, summary
from .strategies import strategy


def _output_lines(output_uri: str):
    for uri in sorted(u for u in s3io.list_keys(output_uri) if u.endswith(".out")):
        for line_no, line in s3io.iter_json_lines(uri, what="transform output"):
            yield uri, line_no, line


def _previous_calibration(calibration_uri: str | None) -> dict[int, dict]:
    """The cumulative calibration record the last committed round left (none before round 1)."""
    if calibration_uri is None:
        return {}
    return {line[RECORD_ID_KEY]: line for line in s3io.iter_records(calibration_uri)}


def _texts(manifest_uri: str, wanted: set[int]) -> dict[int, str]:
    """The texts of a few records (the diversity candidates), from the working manifest."""
    texts = {}
    for record in s3io.iter_records(manifest_uri):
        if record[RECORD_ID_KEY] in wanted:
            texts[record[RECORD_ID_KEY]] = (
                record["source"] if "source" in record else s3io.read_text(record["source-ref"])
            )
    return texts


@entrypoint("select_and_auto_label")
def lambda_handler(event: dict, context: object) -> dict:
    config, state, training, inference = event["config"], event["progress"], event["training"], event["inference"]
    round_number = training["round"]
    categories = LabelCategories.from_config(s3io.read_json(config["label_config_uri"]))
    if len(categories) != config["num_classes"]:
        raise InvalidEvent("the label config changed during the run", field="$.config.label_config_uri")
    validation = s3io.load_validation_set(state["validation_uri"])
    previous = _previous_calibration(state["calibration_uri"])
    prior = [line for line in previous.values() if line["auto_round"] is not None]
    prior_items, prior_correct = len(prior), sum(line["correct"] for line in prior)

    # Pass 1: coverage check + validation predictions.
    total = state["counts"]["total"]
    seen = bytearray(total)
    validation_predictions = {}
    pool_count = 0
    for prediction in iter_predictions(_output_lines(inference["output_uri"]), categories):
        record_id = prediction.record_id
        if record_id >= total or seen[record_id]:
            raise InvalidInferenceOutput(f"record id {record_id} is unknown or appears twice in the transform output")
        seen[record_id] = 1
        if record_id in validation:
            validation_predictions[record_id] = prediction
        else:
            pool_count += 1
    if pool_count != inference["pool_count"] or len(validation_predictions) != inference["validation_count"]:
        raise InvalidInferenceOutput(
            f"transform output holds {pool_count} pool and {len(validation_predictions)} validation records, "
            f"expected {inference['pool_count']} and {inference['validation_count']}"
        )

    remaining = {rid: p for rid, p in validation_predictions.items() if previous.get(rid, {}).get("auto_round") is None}
    scored = [(p.score, p.predicted == validation[rid]) for rid, p in remaining.items()]
    threshold = choose_threshold(config, scored, prior_items, prior_correct)
    method = config["auto_label_method"]

    # Pass 2: auto-labels and the next human batch.
    prefix = layout.round_prefix(config["output_uri"], round_number, state["attempt"])
    encryption = s3io.encryption_args(config["kms_key_id"])
    budget = progress.human_budget_left(config, state["counts"])
    batch_size = int(min(config["human_batch_size"], budget))
    query = strategy(config["query_strategy"])
    chooser = TopK(batch_size * query.candidates_per_slot)
    auto_per_class = [0] * len(categories)
    created = datetime.now(UTC)
    attribute, meta_key = config["label_attribute"], metadata_key(config["label_attribute"])
    auto_uri = f"{prefix}auto-labels.jsonl"
    with s3io.JsonLinesWriter(auto_uri, encryption=encryption) as auto_labels:
        for prediction in iter_predictions(_output_lines(inference["output_uri"]), categories, validate=False):
            if prediction.record_id in validation:
                continue
            if passes(prediction.score, threshold, method):
                name = categories.names[prediction.predicted]
                auto_labels.write(
                    {
                        RECORD_ID_KEY: prediction.record_id,
                        attribute: prediction.predicted,
                        meta_key: label_metadata(
                            name,
                            confidence=prediction.confidence,
                            human=False,
                            job_name=training["job_name"],
                            created=created,
                        ),
                    }
                )
                auto_per_class[prediction.predicted] += 1
            else:
                chooser.offer(query.priority(prediction, config["seed"], round_number), prediction.record_id)

    selection = chooser.best_first()
    if query.choose is not None:
        texts = _texts(state["working_manifest_uri"], {rid for rid, _ in selection})
        selection = query.choose(selection, texts, batch_size)
    selection_uri = f"{prefix}selection.jsonl"
    with s3io.JsonLinesWriter(selection_uri, encryption=encryption) as writer:
        for record_id, value in selection:
            writer.write({RECORD_ID_KEY: record_id, "priority": value})

    calibration = list(calibration_state(validation_predictions, validation, previous, threshold, method, round_number))
    calibration_uri = f"{prefix}calibration.jsonl"
    with s3io.JsonLinesWriter(calibration_uri, encryption=encryption) as writer:
        for line in calibration:
            writer.write(line)

    record = summary(
        config,
        round_number=round_number,
        job_name=training["job_name"],
        threshold=threshold,
        pool=pool_count,
        auto_per_class=auto_per_class,
        selected=len(selection),
        validation_items=len(validation_predictions),
        remaining=len(remaining),
        calibration=calibration,
        class_names=categories.names,
    )
    summary_uri = f"{prefix}summary.json"
    s3io.write_json(summary_uri, record, encryption=encryption)
    metrics.add_metric(name="AutoLabeled", unit="Count", value=record["auto_labeled"])
    metrics.add_metric(name="SelectedForHumans", unit="Count", value=len(selection))
    logger.info(
        "round selected",
        round=round_number,
        threshold=threshold.value,
        auto_labeled=record["auto_labeled"],
        selected=len(selection),
        lower_bound=threshold.lower_bound,
    )
    return {
        "round": round_number,
        "auto_labels_uri": auto_uri,
        "auto_labeled": record["auto_labeled"],
        "selection_uri": selection_uri,
        "selected": len(selection),
        "summary_uri": summary_uri,
        "calibration_uri": calibration_uri,
        "threshold": threshold.value,
        "accuracy_lower_bound": threshold.lower_bound,
    }
