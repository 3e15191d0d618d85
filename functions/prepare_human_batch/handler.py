"""PrepareHumanBatch Lambda: write the batch manifest humans will label; name the labeling job."""

from __future__ import annotations

from labeling_common import layout, s3io
from labeling_common.errors import InvalidEvent
from labeling_common.manifest import RECORD_ID_KEY
from labeling_common.model_config import text_of
from labeling_common.observability import entrypoint, logger, metrics

from .logic import batch_records, existing_answers, first_selected_ids, random_unlabeled_ids


@entrypoint("prepare_human_batch")
def lambda_handler(event: dict, context: object) -> dict:
    config, state = event["config"], event["progress"]
    pending = state["pending_batch"]
    if state["next"] != "human_batch" or pending is None:
        raise InvalidEvent(f"progress.next is {state['next']!r}: there is no batch to prepare", field="$.progress")
    attribute = config["label_attribute"]
    step = state["step"] + 1
    calibration: set[int] = set()
    if pending["kind"] == "bootstrap":
        chosen = random_unlabeled_ids(
            s3io.iter_records(state["working_manifest_uri"]),
            attribute,
            pending["size"],
            config["seed"],
            f"bootstrap-{step}",
        )
    else:
        chosen, calibration = first_selected_ids(s3io.iter_records(pending["selection_uri"]), pending["size"])

    job_name = layout.human_job_name(config["job_name_prefix"], state["run_id"], step)
    prefix = layout.batch_prefix(config["output_uri"], job_name)
    batch_uri = f"{prefix}input.manifest"
    encryption = s3io.encryption_args(config["kms_key_id"])
    sent_for_calibration: list[int] = []
    with s3io.JsonLinesWriter(batch_uri, encryption=encryption) as writer:
        records = s3io.iter_records(state["working_manifest_uri"])
        for record in batch_records(records, attribute, chosen, calibration):
            text_of(record, s3io.read_text)  # no one is asked to label an item whose text cannot be read
            writer.write(record)
            if record[RECORD_ID_KEY] in calibration:
                sent_for_calibration.append(record[RECORD_ID_KEY])
        if writer.lines == 0:
            raise InvalidEvent("none of the chosen records is still unlabeled", field="$.progress.pending_batch")
    # which of the batch's items join the calibration set: kept apart, so labelers cannot tell them from the rest
    calibration_uri = f"{prefix}calibration.jsonl" if sent_for_calibration else None
    if calibration_uri:
        s3io.write_lines(calibration_uri, ({RECORD_ID_KEY: rid} for rid in sent_for_calibration), encryption)

    metrics.add_metric(name="HumanBatchRecords", unit="Count", value=writer.lines)
    logger.info(
        "human batch written",
        job_name=job_name,
        kind=pending["kind"],
        records=writer.lines,
        calibration=len(sent_for_calibration),
    )
    batch = {
        "job_name": job_name,
        "kind": pending["kind"],
        "batch_manifest_uri": batch_uri,
        "record_count": writer.lines,
        "output_uri": f"{prefix}ground-truth/",
        "answer_uri": f"{prefix}answers.manifest",
        "calibration_uri": calibration_uri,
    }
    delivered = existing_answers(config["labeling_backend"], batch, s3io.exists)
    if delivered:
        logger.info("labels for this batch were already delivered; they are merged, not asked for again", uri=delivered)
    return {**batch, "existing_answers_uri": delivered}
