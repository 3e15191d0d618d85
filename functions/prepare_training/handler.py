"""PrepareTraining Lambda: write the round's training channels; return the CreateTrainingJob request."""

from __future__ import annotations

from labeling_common import layout, model_config, s3io
from labeling_common.errors import InvalidEvent
from labeling_common.observability import entrypoint, logger, metrics

from .logic import training_lines, training_request


@entrypoint("prepare_training")
def lambda_handler(event: dict, context: object) -> dict:
    config, state = event["config"], event["progress"]
    model = model_config.load()
    round_number = state["round"] + 1
    job_name = layout.round_job_name(config["job_name_prefix"], state["run_id"], round_number, state["attempt"])
    prefix = layout.round_prefix(config["output_uri"], round_number, state["attempt"])
    uris = {"train": f"{prefix}train/train.jsonl", "validation": f"{prefix}validation/validation.jsonl"}
    validation = s3io.load_validation_set(state["validation_uri"])
    encryption = s3io.encryption_args(config["kms_key_id"])

    lines = training_lines(
        s3io.iter_records(state["working_manifest_uri"]),
        config["label_attribute"],
        validation,
        model,
        config["seed"],
        s3io.read_text,
    )
    with (
        s3io.JsonLinesWriter(uris["train"], encryption=encryption, intermediate=True) as train,
        s3io.JsonLinesWriter(
            uris["validation"], encryption=encryption, write_empty=False, intermediate=True
        ) as held_out,
    ):
        writers = {"train": train, "validation": held_out}
        for channel, line in lines:
            writers[channel].write(line)
        if train.lines == 0:
            raise InvalidEvent("no human label is available for training", field="$.progress.counts.human")
    channels = {"train": uris["train"], **({"validation": uris["validation"]} if held_out.lines else {})}

    request = training_request(
        model,
        job_name=job_name,
        run_id=state["run_id"],
        round_number=round_number,
        channels=channels,
        output_uri=f"{prefix}model/",
        kms_key_id=config["kms_key_id"],
    )
    metrics.add_metric(name="TrainingRecords", unit="Count", value=train.lines)
    logger.info("training prepared", job_name=job_name, train=train.lines, validation=held_out.lines)
    return {
        "round": round_number,
        "job_name": job_name,
        "request": request,
        "model": {"name": job_name, "image": model["inference_image"], "environment": dict(model["model_environment"])},
    }
