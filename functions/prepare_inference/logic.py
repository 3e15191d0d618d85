"""PrepareInference: the round's transform input and the complete CreateTransformJob request.

The transform scores the unlabeled pool and, with the same model, the held-out validation items: their
predictions are what the auto-label threshold is calibrated on. In cross_fit mode a validation line carries
its fold, so the model predicts it out-of-fold.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from labeling_common.manifest import HUMAN, RECORD_ID_KEY, label_state
from labeling_common.model_config import FOLD_KEY, TextFetcher, fold_of, model_line, tags


def transform_lines(
    records: Iterable[dict], attribute: str, validation: dict[int, int], model: dict, seed: int, fetch: TextFetcher
) -> Iterator[tuple[str, dict]]:
    """Yield ("pool" | "validation", line) for every record the transform must score."""
    extras = model["transform_record_extras"]
    cross_fit = model["calibration_mode"] == "cross_fit"
    for record in records:
        record_id = record[RECORD_ID_KEY]
        if record_id in validation:
            fold = {FOLD_KEY: fold_of(seed, record_id, model["cross_fit_folds"])} if cross_fit else {}
            yield "validation", model_line(record, fetch, **extras, **fold)
        elif label_state(record, attribute) != HUMAN:  # earlier rounds' auto-labels are re-decided
            yield "pool", model_line(record, fetch, **extras)


def transform_request(
    model: dict,
    *,
    job_name: str,
    model_name: str,
    run_id: str,
    round_number: int,
    input_prefix: str,
    output_prefix: str,
    kms_key_id: str | None,
) -> dict:
    """The CreateTransformJob request. The output keeps only the record id and the prediction, joined to
    the input line by line (JoinSource=Input), so user fields never reach the model's output."""
    resources = {
        "InstanceType": model["transform_instance_type"],
        "InstanceCount": model["transform_instance_count"],
        **({"VolumeKmsKeyId": model["volume_kms_key_id"]} if model["volume_kms_key_id"] else {}),
    }
    return {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "BatchStrategy": model["transform_batch_strategy"],
        "MaxPayloadInMB": model["transform_max_payload_mb"],
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_prefix}},
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
            "CompressionType": "None",
        },
        "TransformOutput": {
            "S3OutputPath": output_prefix,
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
            **({"KmsKeyId": kms_key_id} if kms_key_id else {}),
        },
        "TransformResources": resources,
        "DataProcessing": {
            "InputFilter": "$",
            "JoinSource": "Input",
            "OutputFilter": f"$['{RECORD_ID_KEY}','SageMakerOutput']",
        },
        "Tags": tags(run_id, round_number),
    }
