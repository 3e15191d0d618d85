"""Test helpers: an S3 workspace under moto, real UCI News records, configs as ValidateInput makes them."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[1]
UCI_SAMPLE = REPO / "examples" / "uci-news" / "news-50k.csv.gz"
LABEL_CONFIG = json.loads((REPO / "examples" / "uci-news" / "class_labels.json").read_text())

MODEL_CONFIG = {  # what Terraform writes into MODEL_CONFIG for the bundled container
    "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/text-classifier:latest",
    "inference_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/text-classifier:latest",
    "channel_format": "jsonlines",
    "calibration_mode": "cross_fit",
    "cross_fit_folds": 5,
    "training_instance_type": "ml.m5.large",
    "training_instance_count": 1,
    "training_volume_gb": 10,
    "max_runtime_seconds": 3600,
    "hyperparameters": {"random_state": "0"},
    "model_environment": {},
    "enable_network_isolation": True,
    "transform_instance_type": "ml.m5.large",
    "transform_instance_count": 1,
    "transform_batch_strategy": "MultiRecord",
    "transform_max_payload_mb": 6,
    "transform_record_extras": {},
    "sagemaker_role_arn": "arn:aws:iam::123456789012:role/active-labeling-sagemaker",
    "volume_kms_key_id": None,
    "source_archive": None,
}

BUCKET = "labeling-bucket"
CATEGORY_INDEX = {"b": 0, "e": 1, "m": 2, "t": 3}
CLASS_NAMES = [item["label"] for item in LABEL_CONFIG["labels"]]


# The validated settings of a run, as far as the report reads them (ValidateInput's `config`).
RUN_CONFIG = {
    "input_manifest_uri": "s3://b/in.manifest",
    "target_accuracy": 0.95,
    "confidence_level": 0.95,
    "max_class_miss_rate": 1.0,
    "human_cost_per_label": 0.036,
    "labeling_backend": "callback",
    "query_strategy": "margin",
    "auto_label_method": "calibrated",
    "bootstrap_fraction": 0.2,
    "validation_fraction": 0.1,
    "human_batch_size": 100,
    "max_rounds": 20,
    "max_human_labels": 0,
    "seed": 3,
}


@dataclass
class Workspace:
    s3: object
    bucket: str = BUCKET

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put_bytes(self, key: str, data: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return self.uri(key)

    def put_lines(self, key: str, records: list) -> str:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        return self.put_bytes(key, body.encode())

    def put_json(self, key: str, value: object) -> str:
        return self.put_bytes(key, json.dumps(value).encode())

    def read_bytes(self, uri: str) -> bytes:
        bucket, _, key = uri[5:].partition("/")
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def read_lines(self, uri: str) -> list[dict]:
        return [json.loads(line) for line in self.read_bytes(uri).decode().splitlines() if line.strip()]

    def read_json(self, uri: str):
        return json.loads(self.read_bytes(uri))

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture
def workspace(aws) -> Workspace:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    ws = Workspace(s3)
    ws.put_json("config/class_labels.json", LABEL_CONFIG)
    return ws


def uci_rows(count: int, seed: int = 0) -> list[dict]:
    """`count` random rows of the bundled UCI News sample: {id, title, publisher, category}."""
    with gzip.open(UCI_SAMPLE, "rt", encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    return random.Random(seed).sample(rows, count)


def manifest_records(rows: list[dict], labeled_fraction: float = 0.0, attribute: str = "category") -> list[dict]:
    """Input manifest lines in the AWS sample's shape, plus user fields (news-id, publisher)."""
    labeled = int(len(rows) * labeled_fraction)
    records = []
    for position, row in enumerate(rows):
        record = {"source": row["title"], "news-id": int(row["id"]), "publisher": row["publisher"]}
        if position < labeled:
            record[attribute] = CATEGORY_INDEX[row["category"]]
            record[f"{attribute}-metadata"] = {
                "confidence": 1.0,
                "human-annotated": "yes",
                "type": "groundtruth/text-classification",
            }
        records.append(record)
    return records


def make_config(workspace: Workspace, **overrides) -> dict:
    config = {
        "input_manifest_uri": workspace.uri("input/input.manifest"),
        "output_uri": workspace.uri("runs/run-1/"),
        "label_attribute": "category",
        "label_config_uri": workspace.uri("config/class_labels.json"),
        "num_classes": 4,
        "job_name_prefix": "news",
        "labeling_backend": "callback",
        "labeling_timeout_seconds": 3600,
        "data_attributes": {"ContentClassifiers": []},
        "kms_key_id": None,
        "target_accuracy": 0.95,
        "confidence_level": 0.95,
        "bootstrap_fraction": 0.2,
        "validation_fraction": 0.1,
        "human_batch_size": 50,
        "query_strategy": "margin",
        "auto_label_method": "calibrated",
        "margin_threshold": 0.5,
        "max_class_miss_rate": 1.0,
        "max_rounds": 10,
        "max_human_labels": 0,
        "seed": 7,
        "human_cost_per_label": 0.036,
    }
    config.update(overrides)
    return config


EXECUTION = {"name": "test-execution", "arn": "arn:aws:states:us-east-1:123456789012:execution:loop:test-execution"}


def request(workspace: Workspace, **overrides) -> dict:
    """A labeling job request as the AWS sample's notebook printed it (minus RoleArn, which is optional)."""
    body = {
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": workspace.uri("input/input.manifest")}},
            "DataAttributes": {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]},
        },
        "OutputConfig": {"S3OutputPath": workspace.uri("runs/run-1/")},
        "LabelAttributeName": "category",
        "LabelCategoryConfigS3Uri": workspace.uri("config/class_labels.json"),
        "LabelingJobNamePrefix": "news",
    }
    body.update(overrides)
    return body


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def answer_lines(
    batch_records: list[dict], truth: dict[int, int], attribute: str = "category", job_name: str = "job"
) -> list[dict]:
    """What a labeling tool uploads for a callback task: record id + label + Ground Truth metadata."""
    lines = []
    for record in batch_records:
        label = truth[record["news-id"]]
        lines.append(
            {
                "al:record-id": record["al:record-id"],
                attribute: label,
                f"{attribute}-metadata": {
                    "class-name": CLASS_NAMES[label],
                    "confidence": 1.0,
                    "human-annotated": "yes",
                    "type": "groundtruth/text-classification",
                    "job-name": f"labeling-job/{job_name}",
                    "creation-date": "2026-11-29T04:00:00.000000",
                },
            }
        )
    return lines


def truth_of(rows: list[dict]) -> dict[int, int]:
    return {int(row["id"]): CATEGORY_INDEX[row["category"]] for row in rows}


def fake_transform(
    workspace: Workspace,
    inference: dict,
    truth_by_record: dict[int, int],
    *,
    seed: int = 0,
    accuracy: float = 0.9,
    label_style: str = "blazingtext",
    informative: bool = True,
) -> None:
    """Stand-in for a transform job: confident when right, unsure when wrong (like a decent model), or, with
    informative=False, a confidence that says nothing about correctness.
    Output lines are what SageMaker writes with JoinSource=Input and the record-id/SageMakerOutput filter."""
    rng = random.Random(seed)
    request = inference["request"]
    input_prefix = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    for key in workspace.keys(input_prefix[len(f"s3://{workspace.bucket}/") :]):
        out = []
        for line in workspace.read_lines(workspace.uri(key)):
            truth = truth_by_record[line["al:record-id"]]
            right = rng.random() < accuracy
            predicted = truth if right else rng.choice([c for c in range(4) if c != truth])
            low, high = ((0.75, 1.0) if right else (0.3, 0.8)) if informative else (0.3, 1.0)
            top = rng.uniform(low, high)
            rest = [(1 - top) * w for w in (0.6, 0.3, 0.1)]
            order = [predicted] + [c for c in range(4) if c != predicted]
            labels = [f"__label__{c}" if label_style == "blazingtext" else c for c in order]
            out.append(
                {"al:record-id": line["al:record-id"], "SageMakerOutput": {"label": labels, "prob": [top, *rest]}}
            )
        name = key.rsplit("/", 1)[1]
        workspace.put_lines(
            f"{request['TransformOutput']['S3OutputPath'][len(f's3://{workspace.bucket}/') :]}{name}.out", out
        )


def prediction(record_id: int, probs: list[float]):
    """A SelectAndAutoLabel prediction from class probabilities (top class, confidence, margin, entropy)."""
    import math

    from select_and_auto_label.logic import Prediction

    ranked = sorted(probs, reverse=True)
    return Prediction(
        record_id,
        probs.index(ranked[0]),
        ranked[0],
        ranked[0] - ranked[1],
        -sum(p * math.log(p) for p in probs if p > 0),
    )
