"""Bootstrap Lambda: working manifest version 0 with record ids, counts, checkpoint (or resume)."""

from __future__ import annotations

from labeling_common import checkpoint, layout, lock, progress, s3io
from labeling_common.errors import InvalidManifest
from labeling_common.labels import LabelCategories
from labeling_common.manifest import LineChecker, Tally
from labeling_common.observability import entrypoint, logger, metrics

from .logic import counts_or_error, identity, number_records, resumed_progress


@entrypoint("bootstrap_manifest")
def lambda_handler(event: dict, context: object) -> dict:
    config = event["config"]
    lock.acquire(config["output_uri"], event["execution"]["arn"], checkpoint.now(), lock.execution_is_running)
    saved = checkpoint.load(config["output_uri"])
    current = identity(config, s3io.etag(config["input_manifest_uri"]), s3io.etag(config["label_config_uri"]))
    if saved is not None:
        resumed = resumed_progress(config, saved, event["execution"]["arn"], current)
        checkpoint.save(config, resumed, attempt_owner=event["execution"]["arn"])
        logger.info("resuming run", **{key: resumed[key] for key in ("run_id", "attempt", "step", "next")})
        return resumed

    run = layout.run_id(config["output_uri"], event["execution"]["name"])
    categories = LabelCategories.from_config(
        s3io.read_json(config["label_config_uri"], if_match=current["label_config_etag"])
    )
    checker = LineChecker(config["label_attribute"], categories, InvalidManifest, mode="input")
    tally = Tally(config["label_attribute"])
    working_uri = layout.working_manifest(config["output_uri"], 0, attempt=1)
    encryption = s3io.encryption_args(config["kms_key_id"])
    lines = s3io.iter_json_lines(config["input_manifest_uri"], what="input manifest", if_match=current["manifest_etag"])
    with s3io.JsonLinesWriter(working_uri, encryption=encryption) as writer:
        for record in number_records(lines, checker, tally):
            writer.write(record)
        counts = counts_or_error(tally, config["input_manifest_uri"])

    first = {"run_id": run, "attempt": 1, "step": 0, "rounds_done": 0, "validation_uri": None}
    state = progress.build(config, working_manifest_uri=working_uri, counts=counts, **first)
    checkpoint.save(
        config,
        state,
        identity=current,
        attempt_owner=event["execution"]["arn"],
        history_entry={"kind": "bootstrap", "step": 0, **counts},
    )
    metrics.add_metric(name="InputRecords", unit="Count", value=counts["total"])
    logger.info("working manifest created", run_id=run, **counts)
    return state
