"""PrepareTraining: the round's training channels and the complete CreateTrainingJob request.

The request is built here from the deploy-time model configuration, so bringing your own model means
changing Terraform variables, never editing a Lambda or the state machine in the console. Training uses the
human labels only (auto-labels are never trained on, so a model cannot confirm its own mistakes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from labeling_common.manifest import HUMAN, label_state
from labeling_common.model_config import FOLD_KEY, TextFetcher, fold_of, model_line, tags

CODE_CHANNEL = "code"


def training_lines(
    records: Iterable[dict],
    attribute: str,
    validation: dict[int, int],
    model: dict,
    seed: int,
    fetch: TextFetcher,
) -> Iterator[tuple[str, dict]]:
    """Yield (channel, line). Held-out items go to the `validation` channel (holdout) or into `train` with
    their fold (cross_fit), so they can still be predicted by a model that never saw them."""
    cross_fit = model["calibration_mode"] == "cross_fit"
    for record in records:
        if label_state(record, attribute) != HUMAN:
            continue
        line = model_line(record, fetch, label=record[attribute])
        record_id = line["al:record-id"]
        if record_id in validation:
            if cross_fit:
                yield "train", {**line, FOLD_KEY: fold_of(seed, record_id, model["cross_fit_folds"])}
            else:
                yield "validation", line
        else:
            yield "train", line


def channel(name: str, uri: str, model: dict) -> dict:
    """A training channel of the model's format: an augmented manifest streamed in Pipe mode (BlazingText), or
    the JSON Lines files under the URI's prefix."""
    if model["channel_format"] == "augmented_manifest":
        return {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "AugmentedManifestFile",
                    "S3Uri": uri,
                    "S3DataDistributionType": "FullyReplicated",
                    "AttributeNames": ["source", "label"],
                }
            },
            "ContentType": "application/x-recordio",
            "RecordWrapperType": "RecordIO",
            "InputMode": "Pipe",
            "CompressionType": "None",
        }
    prefix = uri.rsplit("/", 1)[0] + "/"
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": prefix, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": "application/jsonlines",
        "InputMode": "File",
        "CompressionType": "None",
    }


def _code_channel(model: dict) -> list[dict]:
    """Script mode: the source archive as a channel, so a job with network isolation reads its code from
    /opt/ml/input/data/code/ (the framework toolkit cannot download it from S3 itself)."""
    if not model["source_archive"]:
        return []
    return [
        {
            "ChannelName": CODE_CHANNEL,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": model["source_archive"],
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
            "CompressionType": "None",
        }
    ]


def training_request(
    model: dict,
    *,
    job_name: str,
    run_id: str,
    round_number: int,
    channels: dict[str, str],
    output_uri: str,
    kms_key_id: str | None,
) -> dict:
    """The CreateTrainingJob request. Every top-level key the state machine passes is always present."""
    output = {"S3OutputPath": output_uri, **({"KmsKeyId": kms_key_id} if kms_key_id else {})}
    resources = {
        "InstanceType": model["training_instance_type"],
        "InstanceCount": model["training_instance_count"],
        "VolumeSizeInGB": model["training_volume_gb"],
        **({"VolumeKmsKeyId": model["volume_kms_key_id"]} if model["volume_kms_key_id"] else {}),
    }
    return {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": model["training_image"],
            "TrainingInputMode": "Pipe" if model["channel_format"] == "augmented_manifest" else "File",
        },
        "RoleArn": model["sagemaker_role_arn"],
        "HyperParameters": dict(model["hyperparameters"]),
        "InputDataConfig": [channel(name, uri, model) for name, uri in channels.items()] + _code_channel(model),
        "OutputDataConfig": output,
        "ResourceConfig": resources,
        "StoppingCondition": {"MaxRuntimeInSeconds": model["max_runtime_seconds"]},
        "EnableNetworkIsolation": model["enable_network_isolation"],
        "Tags": tags(run_id, round_number),
    }
