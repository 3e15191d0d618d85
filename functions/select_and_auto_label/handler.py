"""SelectAndAutoLabel Lambda: the round's threshold, auto-labels and next human batch (pipeline.py), fed with
two streaming passes over the transform output and, when the round keeps the auto-labels in force, one over
the working manifest; everything it writes goes under the round's folder."""

from __future__ import annotations

from labeling_common import layout, s3io
from labeling_common.errors import InvalidEvent
from labeling_common.labels import LabelCategories
from labeling_common.manifest import AUTO, RECORD_ID_KEY, label_state
from labeling_common.model_config import text_of
from labeling_common.observability import entrypoint, logger, metrics

from .logic import iter_predictions
from .pipeline import RoundSelection


def _predictions(output_uri: str, categories: LabelCategories, validate: bool = True):
    """The transform output's predictions, file by file (validate=False: the lines were checked in pass 1)."""
    files = sorted(u for u in s3io.list_keys(output_uri) if u.endswith(".out"))
    lines = ((uri, n, line) for uri in files for n, line in s3io.iter_json_lines(uri, what="transform output"))
    return iter_predictions(lines, categories, validate=validate)


@entrypoint("select_and_auto_label")
def lambda_handler(event: dict, context: object) -> dict:
    config, state, training, inference = event["config"], event["progress"], event["training"], event["inference"]
    categories = LabelCategories.from_config(s3io.read_json(config["label_config_uri"]))
    if len(categories) != config["num_classes"]:
        raise InvalidEvent("the label config changed during the run", field="$.config.label_config_uri")
    validation = s3io.load_validation_set(state["validation_uri"])
    selection = RoundSelection.start(event, categories, validation)
    selection.check_output(_predictions(inference["output_uri"], categories), state["counts"]["total"], inference)
    if selection.needs_weighing:
        selection.weigh()
    if selection.keeps:
        records = s3io.iter_records(state["working_manifest_uri"])
        attribute = config["label_attribute"]
        kept = (r[RECORD_ID_KEY] for r in records if label_state(r, attribute) == AUTO)
        selection.keep(kept, state["counts"]["total"])

    prefix = layout.round_prefix(config["output_uri"], training["round"], state["attempt"])
    encryption = s3io.encryption_args(config["kms_key_id"])
    uris = {name: f"{prefix}{name}.jsonl" for name in ("auto-labels", "selection", "calibration")}
    uris["summary"] = f"{prefix}summary.json"
    with s3io.JsonLinesWriter(uris["auto-labels"], encryption=encryption) as auto_labels:
        selection.split_pool(_predictions(inference["output_uri"], categories, validate=False), auto_labels.write)

    def texts_of(wanted: set[int]) -> dict[int, str]:  # the few candidates a strategy's final choice reads
        records = s3io.iter_records(state["working_manifest_uri"])
        return {r[RECORD_ID_KEY]: text_of(r, s3io.read_text) for r in records if r[RECORD_ID_KEY] in wanted}

    selected = s3io.write_lines(uris["selection"], selection.selection(texts_of), encryption)
    calibration = selection.calibration()
    s3io.write_lines(uris["calibration"], calibration, encryption)
    record = selection.summary(selected, calibration)
    s3io.write_json(uris["summary"], record, encryption=encryption)

    metrics.add_metric(name="AutoLabeled", unit="Count", value=record["auto_labeled"])
    metrics.add_metric(name="SelectedForHumans", unit="Count", value=selected)
    logger.info(
        "round selected",
        round=training["round"],
        threshold=selection.threshold.value,
        certificate_round=selection.certificate_after,
        selected=selected,
        calibration_batch=selection.buys_calibration,
    )
    return selection.result(record, uris)
