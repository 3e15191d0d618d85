"""RequestCallbackLabels: describe a labeling task for any external labeling tool."""

from __future__ import annotations

from labeling_common import schemas
from labeling_common.errors import InvalidEvent
from labeling_common.manifest import RECORD_ID_KEY


def task_descriptor(
    config: dict, batch: dict, task_token: str, execution_arn: str, labels: list[str], created_at: str
) -> dict:
    task = {
        "SchemaVersion": "1",
        "JobName": batch["job_name"],
        "TaskToken": task_token,
        "ExecutionArn": execution_arn,
        "BatchManifestS3Uri": batch["batch_manifest_uri"],
        "RecordCount": batch["record_count"],
        "RecordIdKey": RECORD_ID_KEY,
        "LabelAttributeName": config["label_attribute"],
        "LabelCategoryConfigS3Uri": config["label_config_uri"],
        "Labels": labels,
        "AnswerS3Uri": batch["answer_uri"],
        "CreatedAt": created_at,
    }
    schemas.check(task, "labeling-task.schema.json", InvalidEvent)
    return task


def notification(task: dict, task_uri: str) -> dict:
    """The SNS message: pointers only. The task token stays in S3, readable only by those allowed to answer."""
    return {
        "TaskS3Uri": task_uri,
        "JobName": task["JobName"],
        "RecordCount": task["RecordCount"],
        "BatchManifestS3Uri": task["BatchManifestS3Uri"],
        "AnswerS3Uri": task["AnswerS3Uri"],
        "ExecutionArn": task["ExecutionArn"],
    }
