"""RecordFailure Lambda: the failure path of the loop. Writes what failed, where and why, under the run's
output path (when the request got far enough to have one), then the state machine fails with that error."""

from __future__ import annotations

from labeling_common import checkpoint, layout, lock, s3io
from labeling_common.observability import entrypoint, logger

from .logic import failure_document


@entrypoint("record_failure")
def lambda_handler(event: dict, context: object) -> dict:
    document = failure_document(event, checkpoint.now())
    config = (event["state"] or {}).get("config") if isinstance(event["state"], dict) else None
    if config and "output_uri" in config:
        uri = layout.failure_record(config["output_uri"], event["execution"]["name"])
        s3io.write_json(uri, document, encryption=s3io.encryption_args(config.get("kms_key_id")))
        document["failure_record"] = uri
        lock.release(config["output_uri"], event["execution"]["arn"])
    logger.error("execution failed", error=document["error"], failure_record=document.get("failure_record"))
    return document
