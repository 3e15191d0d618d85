"""CreateValidationSet Lambda: write the held-out calibration set; record it in progress and checkpoint."""

from __future__ import annotations

from labeling_common import checkpoint, layout, model_config, s3io
from labeling_common.manifest import RECORD_ID_KEY
from labeling_common.observability import entrypoint, logger, metrics

from .logic import human_class_counts, quotas, stratified_sample, validation_size


@entrypoint("create_validation_set")
def lambda_handler(event: dict, context: object) -> dict:
    config, state = event["config"], event["progress"]
    if state["validation_uri"] is not None:
        return state  # once per run
    attribute = config["label_attribute"]
    size = validation_size(config, state["counts"], model_config.load()["calibration_mode"])
    working = state["working_manifest_uri"]
    class_quotas = quotas(human_class_counts(s3io.iter_records(working), attribute), size)
    chosen = stratified_sample(s3io.iter_records(working), attribute, class_quotas, config["seed"])

    validation_uri = layout.validation_set(config["output_uri"], state["attempt"])
    lines = ({RECORD_ID_KEY: record_id, "label": label} for record_id, label in chosen)
    s3io.write_lines(validation_uri, lines, s3io.encryption_args(config["kms_key_id"]))
    new_state = {**state, "validation_uri": validation_uri, "counts": {**state["counts"], "validation": len(chosen)}}
    checkpoint.save(
        config,
        new_state,
        history_entry={
            "kind": "validation_set",
            "step": state["step"],
            "size": len(chosen),
            "per_class": {str(k): v for k, v in sorted(class_quotas.items())},
        },
    )
    metrics.add_metric(name="ValidationItems", unit="Count", value=len(chosen))
    logger.info("validation set created", size=len(chosen), per_class=class_quotas)
    return new_state
