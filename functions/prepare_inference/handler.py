"""PrepareInference Lambda: write the transform input (pool + validation items); return the request."""

from __future__ import annotations

from labeling_common import layout, model_config, s3io
from labeling_common.observability import entrypoint, logger, metrics

from .logic import transform_lines, transform_request


@entrypoint("prepare_inference")
def lambda_handler(event: dict, context: object) -> dict:
    config, state, training = event["config"], event["progress"], event["training"]
    model = model_config.load()
    prefix = layout.round_prefix(config["output_uri"], training["round"], state["attempt"])
    input_prefix, output_prefix = f"{prefix}transform-input/", f"{prefix}transform-output/"
    validation = s3io.load_validation_set(state["validation_uri"])
    counts = {"pool": 0, "validation": 0}

    lines = transform_lines(
        s3io.iter_records(state["working_manifest_uri"]),
        config["label_attribute"],
        validation,
        model,
        config["seed"],
        s3io.read_text,
    )
    encryption = s3io.encryption_args(config["kms_key_id"])
    with s3io.JsonLinesWriter(f"{input_prefix}records.jsonl", encryption=encryption, intermediate=True) as writer:
        for kind, line in lines:
            writer.write(line)
            counts[kind] += 1

    request = transform_request(
        model,
        job_name=training["job_name"],
        model_name=training["model"]["name"],
        run_id=state["run_id"],
        round_number=training["round"],
        input_prefix=input_prefix,
        output_prefix=output_prefix,
        kms_key_id=config["kms_key_id"],
    )
    metrics.add_metric(name="TransformRecords", unit="Count", value=writer.lines)
    logger.info("inference prepared", job_name=training["job_name"], **counts)
    return {
        "job_name": training["job_name"],
        "request": request,
        "output_uri": output_prefix,
        "pool_count": counts["pool"],
        "validation_count": counts["validation"],
    }
