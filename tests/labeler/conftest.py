"""The labeling task every labeler test answers: three records of one batch under runs/run-1/ in moto S3."""

import pytest

from labeler import tasks
from tests.support import CLASS_NAMES

TASK_KEY = "runs/run-1/batches/news-0a1b2c3d-h0001/task.json"


@pytest.fixture
def task_setup(workspace):
    batch = [{"source": f"headline {i}", "news-id": 100 + i, "al:record-id": i} for i in (3, 8, 15)]
    workspace.put_lines("runs/run-1/batches/news-0a1b2c3d-h0001/input.manifest", batch)
    document = {
        "SchemaVersion": "1",
        "JobName": "news-0a1b2c3d-h0001",
        "TaskToken": "token-123",
        "ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:loop:run-1",
        "BatchManifestS3Uri": workspace.uri("runs/run-1/batches/news-0a1b2c3d-h0001/input.manifest"),
        "RecordCount": 3,
        "RecordIdKey": "al:record-id",
        "LabelAttributeName": "category",
        "LabelCategoryConfigS3Uri": workspace.uri("config/class_labels.json"),
        "Labels": CLASS_NAMES,
        "AnswerS3Uri": workspace.uri("runs/run-1/batches/news-0a1b2c3d-h0001/answers.manifest"),
        "CreatedAt": "2026-11-29T04:00:00.000000",
    }
    workspace.put_json(TASK_KEY, document)
    return workspace, tasks.load_task(workspace.s3, workspace.uri(TASK_KEY)), batch
