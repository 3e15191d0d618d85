"""(d) SageMaker training / model / transform jobs with a fake bring-your-own-model container."""

from __future__ import annotations

import builtins
import errno
import io
import json
import tarfile
import time
import uuid

import pytest
from prepare_training.logic import channel

from .embedded_aws_helpers import ROLE, create_state_machine, make_client, run_execution

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fake-classifier:latest"
METRICS = [{"Name": "train:rows", "Regex": r"#metric train:rows=(\d+)"}]


@pytest.fixture(scope="module")
def bucket(server):
    name = f"sm-{uuid.uuid4().hex[:8]}"
    s3 = make_client(server, "s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="train/part-1.jsonl", Body=b'{"text": "a"}\n{"text": "bb"}\n')
    s3.put_object(Bucket=name, Key="train/nested/part-2.jsonl", Body=b'{"text": "ccc"}\n')
    s3.put_object(
        Bucket=name,
        Key="infer/a.jsonl",
        Body=b'{"id": 1, "text": "one", "extra": "x"}\n{"id": 2, "text": "three", "extra": "y"}\n'
        b'{"id": 3, "text": "seven", "extra": "z"}\n',
    )
    s3.put_object(Bucket=name, Key="infer/b.jsonl", Body=b'{"id": 4, "text": "four", "extra": "w"}')
    s3.put_object(Bucket=name, Key="boom/c.jsonl", Body=b'{"id": 5, "text": "boom"}\n')
    return name


def _training_params(bucket: str, image: str = IMAGE) -> dict:
    return {
        "TrainingJobName.$": "$.job",
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File", "MetricDefinitions": METRICS},
        "HyperParameters.$": "$.hp",
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "application/jsonlines",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.max_runtime"},
    }


@pytest.fixture(scope="module")
def training_machine(server, bucket):
    return create_state_machine(
        server,
        f"train-{uuid.uuid4().hex[:6]}",
        {
            "StartAt": "Train",
            "States": {
                "Train": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                    "Parameters": _training_params(bucket),
                    "End": True,
                }
            },
        },
    )


def _train(server, machine, hp, max_runtime=60):
    job = f"train-{uuid.uuid4().hex[:8]}"
    desc = run_execution(server, machine, job, {"job": job, "hp": hp, "max_runtime": max_runtime})
    return job, desc


def test_training_job_sync_succeeds_and_uploads_model(server, bucket, training_machine):
    job, desc = _train(server, training_machine, {"default_label": "sports", "epochs": "3"})
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["TrainingJobName"] == job
    assert out["TrainingJobStatus"] == "Completed"
    assert out["TrainingJobArn"].endswith(f":training-job/{job}")
    model_uri = f"s3://{bucket}/output/{job}/output/model.tar.gz"
    assert out["ModelArtifacts"]["S3ModelArtifacts"] == model_uri
    assert isinstance(out["BillableTimeInSeconds"], int) and out["BillableTimeInSeconds"] >= 1
    assert isinstance(out["CreationTime"], int)  # epoch millis, as Step Functions renders timestamps
    assert [(m["MetricName"], m["Value"]) for m in out["FinalMetricDataList"]] == [("train:rows", 3.0)]
    assert out["HyperParameters"] == {"default_label": "sports", "epochs": "3"}

    body = make_client(server, "s3").get_object(Bucket=bucket, Key=f"output/{job}/output/model.tar.gz")["Body"]
    with tarfile.open(fileobj=io.BytesIO(body.read()), mode="r:gz") as tar:
        assert tar.getnames() == ["model.json"]
        model = json.load(tar.extractfile("model.json"))
    assert model == {"n_rows": 3, "default_label": "sports", "files": ["nested", "part-1.jsonl"]}

    described = make_client(server, "sagemaker").describe_training_job(TrainingJobName=job)
    assert described["TrainingJobStatus"] == "Completed" and described["SecondaryStatus"] == "Completed"
    assert described["AlgorithmSpecification"]["MetricDefinitions"] == METRICS
    record = [r for r in server.read_jsonl("jobs.jsonl") if r["name"] == job][-1]
    assert record["status"] == "Completed" and 1 < record["peak_mb"] < 150
    log = (server.state_dir / "logs" / "sagemaker" / "TrainingJobs" / f"{job}.log").read_text()
    assert "hyperparameters" in log


def test_failing_training_fails_the_task_with_failure_reason(server, training_machine):
    job, desc = _train(server, training_machine, {"fail": "true"})
    assert desc["status"] == "FAILED"
    assert desc["error"] == "States.TaskFailed"
    cause = json.loads(desc["cause"])
    assert cause["TrainingJobStatus"] == "Failed"
    assert "ValueError: the training data has only one class" in cause["FailureReason"]
    described = make_client(server, "sagemaker").describe_training_job(TrainingJobName=job)
    assert described["FailureReason"] == cause["FailureReason"]
    assert "ModelArtifacts" not in described


@pytest.fixture
def disk_fills(monkeypatch):
    """The disk fills as a job writes its results: the upload, then the failure's own log line and record, fail
    with ENOSPC (what a CI machine's full /tmp did, leaving jobs InProgress and their runs waiting an hour)."""
    from local.embedded_aws import sagemaker_jobs
    from local.embedded_aws.state import STATE

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def open_but_not_to_append(file, mode="r", *args, **kwargs):
        return no_space() if mode == "a" else builtins.open(file, mode, *args, **kwargs)

    monkeypatch.setattr(sagemaker_jobs, "_tar_gz_dir", no_space)
    monkeypatch.setattr(sagemaker_jobs, "write_uri", no_space)
    monkeypatch.setattr(sagemaker_jobs, "open", open_but_not_to_append, raising=False)
    monkeypatch.setattr(STATE, "append_jsonl", no_space)


def test_a_training_job_that_cannot_write_ends_failed_instead_of_waiting(server, training_machine, disk_fills):
    job, desc = _train(server, training_machine, {"default_label": "sports"})
    assert desc["status"] == "FAILED"
    cause = json.loads(desc["cause"])
    assert cause["TrainingJobStatus"] == "Failed" and "No space left on device" in cause["FailureReason"]


def test_max_runtime_is_enforced(server, training_machine):
    started = time.monotonic()
    job, desc = _train(server, training_machine, {"sleep": "30"}, max_runtime=1)
    assert time.monotonic() - started < 15
    assert desc["status"] == "FAILED"
    cause = json.loads(desc["cause"])
    assert "MaxRuntimeInSeconds" in cause["FailureReason"]
    assert cause["SecondaryStatus"] == "MaxRuntimeExceeded"


def test_unmapped_image_fails_job(server, bucket):
    sm = make_client(server, "sagemaker")
    job = f"train-{uuid.uuid4().hex[:8]}"
    params = _training_params(bucket, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/unknown-algo:1")
    params = {k.rstrip(".$"): v for k, v in params.items()}
    params.update(TrainingJobName=job, HyperParameters={}, StoppingCondition={"MaxRuntimeInSeconds": 60})
    sm.create_training_job(**params)
    for _ in range(100):
        described = sm.describe_training_job(TrainingJobName=job)
        if described["TrainingJobStatus"] != "InProgress":
            break
        time.sleep(0.05)
    assert described["TrainingJobStatus"] == "Failed"
    assert "unknown-algo:1 is not available in local mode" in described["FailureReason"]
    with pytest.raises(sm.exceptions.ClientError, match="must be unique"):
        sm.create_training_job(**params)


@pytest.fixture(scope="module")
def model_artifacts(server, training_machine):
    job, desc = _train(server, training_machine, {"default_label": "business"})
    assert desc["status"] == "SUCCEEDED", desc
    return json.loads(desc["output"])["ModelArtifacts"]["S3ModelArtifacts"]


def _transform_machine(server, bucket, *, strategy: str, data_processing: dict | None, prefix: str = "infer/"):
    transform = {
        "TransformJobName.$": "$.job",
        "ModelName.$": "$.model",
        "BatchStrategy": strategy,
        "MaxPayloadInMB": 6,
        "TransformInput": {
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}"}},
        },
        "TransformOutput": {
            "S3OutputPath.$": "States.Format('s3://" + bucket + "/predictions/{}', $.job)",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
    }
    if data_processing:
        transform["DataProcessing"] = data_processing
    return create_state_machine(
        server,
        f"transform-{uuid.uuid4().hex[:6]}",
        {
            "StartAt": "CreateModel",
            "States": {
                "CreateModel": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:createModel",
                    "Parameters": {
                        "ModelName.$": "$.model",
                        "ExecutionRoleArn": ROLE,
                        "PrimaryContainer": {
                            "Image": IMAGE,
                            "ModelDataUrl.$": "$.model_data",
                            "Environment": {"LOG_LEVEL": "debug"},
                        },
                    },
                    "ResultPath": "$.created",
                    "Next": "Transform",
                },
                "Transform": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync",
                    "Parameters": transform,
                    "ResultPath": "$.transform",
                    "Next": "DeleteModel",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DeleteAfterFailure"}],
                },
                "DeleteModel": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:deleteModel",
                    "Parameters": {"ModelName.$": "$.model"},
                    "ResultPath": "$.deleted",
                    "End": True,
                },
                "DeleteAfterFailure": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:deleteModel",
                    "Parameters": {"ModelName.$": "$.model"},
                    "ResultPath": None,
                    "Next": "Fail",
                },
                "Fail": {"Type": "Fail", "Error": "TransformFailed", "CausePath": "$.error.Cause"},
            },
        },
    )


def _run_transform(server, machine, model_artifacts):
    job = f"tr-{uuid.uuid4().hex[:8]}"
    model = f"model-{job}"
    desc = run_execution(server, machine, job, {"job": job, "model": model, "model_data": model_artifacts})
    return job, model, desc


def _read_lines(server, bucket, key):
    body = make_client(server, "s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


def test_create_model_transform_multirecord_join_and_delete_model(server, bucket, model_artifacts):
    machine = _transform_machine(
        server,
        bucket,
        strategy="MultiRecord",
        data_processing={
            "InputFilter": "$['id','text']",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
    )
    job, model, desc = _run_transform(server, machine, model_artifacts)
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["created"]["ModelArn"].endswith(f":model/{model}")
    assert out["transform"]["TransformJobStatus"] == "Completed"
    assert out["transform"]["TransformJobName"] == job
    assert out["transform"]["TransformOutput"]["S3OutputPath"] == f"s3://{bucket}/predictions/{job}"
    assert out["deleted"] == {}
    rows = _read_lines(server, bucket, f"predictions/{job}/a.jsonl.out")
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert all(set(r) == {"id", "SageMakerOutput"} for r in rows)
    first = rows[0]["SageMakerOutput"]
    assert first == {"label": "business", "score": 3, "batch": 3, "keys": ["id", "text"]}
    assert _read_lines(server, bucket, f"predictions/{job}/b.jsonl.out")[0]["id"] == 4
    sm = make_client(server, "sagemaker")
    with pytest.raises(sm.exceptions.ClientError, match="Could not find model"):
        sm.describe_model(ModelName=model)
    record = [r for r in server.read_jsonl("jobs.jsonl") if r["name"] == job][-1]
    assert record["status"] == "Completed" and record["objects"] == 2 and record["peak_mb"] < 150


def test_transform_singlerecord_without_join(server, bucket, model_artifacts):
    machine = _transform_machine(server, bucket, strategy="SingleRecord", data_processing=None)
    job, _, desc = _run_transform(server, machine, model_artifacts)
    assert desc["status"] == "SUCCEEDED", desc
    rows = _read_lines(server, bucket, f"predictions/{job}/a.jsonl.out")
    assert [r["batch"] for r in rows] == [1, 1, 1]
    assert rows[1] == {"label": "business", "score": 5, "batch": 1, "keys": ["extra", "id", "text"]}


def test_transform_model_error_fails_job_and_stops_server(server, bucket, model_artifacts):
    from local.embedded_aws import procs

    machine = _transform_machine(server, bucket, strategy="MultiRecord", data_processing=None, prefix="boom/")
    job, _, desc = _run_transform(server, machine, model_artifacts)
    assert desc["status"] == "FAILED"
    assert desc["error"] == "TransformFailed"  # caught as States.TaskFailed, model deleted, then failed
    cause = json.loads(desc["cause"])
    assert cause["TransformJobStatus"] == "Failed" and "HTTP 500" in cause["FailureReason"]
    assert not procs._children, "the model server was not stopped"
    sm = make_client(server, "sagemaker")
    assert sm.describe_transform_job(TransformJobName=job)["FailureReason"] == cause["FailureReason"]


def test_a_transform_job_that_cannot_write_ends_failed_instead_of_waiting(server, bucket, model_artifacts, disk_fills):
    machine = _transform_machine(server, bucket, strategy="MultiRecord", data_processing=None)
    job, _, desc = _run_transform(server, machine, model_artifacts)
    assert desc["status"] == "FAILED"
    cause = json.loads(desc["cause"])
    assert cause["TransformJobStatus"] == "Failed" and "No space left on device" in cause["FailureReason"]


def test_transform_batches_respect_payload_limit():
    from local.embedded_aws.sagemaker_jobs import _batches, apply_json_filter

    records = ["x" * 10] * 5
    assert _batches(records, "MultiRecord", 25) == [[0, 1], [2, 3], [4]]
    assert _batches(records, "SingleRecord", 25) == [[0], [1], [2], [3], [4]]
    assert apply_json_filter("$.a.b", {"a": {"b": 1}}, "f") == 1
    assert apply_json_filter("$['a','c']", {"a": 1, "b": 2, "c": 3}, "f") == {"a": 1, "c": 3}
    assert apply_json_filter('$["b"]', {"a": 1, "b": 2}, "f") == 2


# --- Pipe mode: augmented manifests streamed as RecordIO, run by the BlazingText stand-in ------------------

BLAZINGTEXT = "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1"


# The blazingtext preset's channels, exactly as PrepareTraining builds them.
AUGMENTED_MANIFEST = {"channel_format": "augmented_manifest"}


def _wait(describe, status_key: str) -> dict:
    for _ in range(1200):
        described = describe()
        if described[status_key] not in ("InProgress", "Stopping"):
            return described
        time.sleep(0.05)
    raise AssertionError(f"still {described[status_key]}")


def _train_blazingtext(server, bucket: str, train_body: bytes) -> dict:
    s3, sm = make_client(server, "s3"), make_client(server, "sagemaker")
    job = f"bt-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=bucket, Key=f"{job}/train.jsonl", Body=train_body)
    s3.put_object(Bucket=bucket, Key=f"{job}/validation.jsonl", Body=train_body)
    sm.create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={"TrainingImage": BLAZINGTEXT, "TrainingInputMode": "Pipe"},
        RoleArn=ROLE,
        HyperParameters={
            "mode": "supervised",
            "epochs": "5",
            "early_stopping": "True",
            "patience": "2",
            "min_epochs": "1",
            "vector_dim": "10",
            "buckets": "100000",
        },
        InputDataConfig=[
            channel("train", f"s3://{bucket}/{job}/train.jsonl", AUGMENTED_MANIFEST),
            channel("validation", f"s3://{bucket}/{job}/validation.jsonl", AUGMENTED_MANIFEST),
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/bt-output"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
    )
    return _wait(lambda: sm.describe_training_job(TrainingJobName=job), "TrainingJobStatus")


def test_pipe_mode_streams_augmented_manifests_to_the_blazingtext_standin(server, bucket):
    from tests.container.helpers import ROWS

    lines = [{"source": row["source"], "label": row["label"], "other": "not streamed"} for row in ROWS[:600]]
    described = _train_blazingtext(server, bucket, "".join(json.dumps(line) + "\n" for line in lines).encode())
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    log = server.state_dir / "logs" / "sagemaker" / "TrainingJobs" / f"{described['TrainingJobName']}.log"
    assert "trained on 600 items (600 validation), 4 labels" in log.read_text()
    s3, sm = make_client(server, "s3"), make_client(server, "sagemaker")
    model_uri = described["ModelArtifacts"]["S3ModelArtifacts"]
    body = s3.get_object(Bucket=bucket, Key=model_uri.split("/", 3)[3])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getnames() == ["model.bin"]

    # Batch transform as PrepareInference asks for it: JSON Lines with BlazingText's top-k switch.
    job = described["TrainingJobName"]
    s3.put_object(
        Bucket=bucket,
        Key=f"{job}/infer/unlabeled.jsonl",
        Body="".join(
            json.dumps({"al:record-id": i, "source": row["source"], "k": 1000000}) + "\n"
            for i, row in enumerate(ROWS[600:650])
        ).encode(),
    )
    sm.create_model(
        ModelName=job, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": BLAZINGTEXT, "ModelDataUrl": model_uri}
    )
    sm.create_transform_job(
        TransformJobName=job,
        ModelName=job,
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=6,
        TransformInput={
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{job}/infer/"}},
        },
        TransformOutput={
            "S3OutputPath": f"s3://{bucket}/{job}/out",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        DataProcessing={
            "InputFilter": "$['source','k']",
            "JoinSource": "Input",
            "OutputFilter": "$['al:record-id','SageMakerOutput']",
        },
        TransformResources={"InstanceCount": 1, "InstanceType": "ml.c5.xlarge"},
    )
    transform = _wait(lambda: sm.describe_transform_job(TransformJobName=job), "TransformJobStatus")
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    out = _read_lines(server, bucket, f"{job}/out/unlabeled.jsonl.out")
    assert [line["al:record-id"] for line in out] == list(range(50))
    for line in out:
        assert sorted(line["SageMakerOutput"]["label"]) == [f"__label__{c}" for c in range(4)]
        assert line["SageMakerOutput"]["prob"] == sorted(line["SageMakerOutput"]["prob"], reverse=True)


def test_a_manifest_line_without_an_attribute_fails_the_job_with_its_line(server, bucket):
    body = b'{"source": "a headline", "label": 1}\n{"source": "no label here"}\n'
    described = _train_blazingtext(server, bucket, body)
    assert described["TrainingJobStatus"] == "Failed"
    assert "line 2 of" in described["FailureReason"] and "has no attribute 'label'" in described["FailureReason"]
