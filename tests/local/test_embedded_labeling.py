"""Ground Truth createLabelingJob.sync with the simulated workforce, and the workforce core itself."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from local.embedded_aws.workforce import (
    GT_DATE_FORMAT,
    SimulatedWorkforce,
    WorkforceConfig,
    label_manifest,
)

from .embedded_aws_helpers import ROLE, create_state_machine, make_client, run_execution

CLASSES = ["business", "science", "sports"]
GT_LAMBDA = "arn:aws:lambda:us-east-1:432418664414:function"


@pytest.fixture(scope="module")
def labeling_setup(server):
    bucket = f"gt-{uuid.uuid4().hex[:8]}"
    s3 = make_client(server, "s3")
    s3.create_bucket(Bucket=bucket)
    lines = [{"source": f"headline {i}", "news-id": f"n{i}", "round": 1} for i in range(30)]
    lines.append({"source": "no answer for me", "news-id": "unknown", "round": 1})
    s3.put_object(Bucket=bucket, Key="in/input.manifest", Body="".join(json.dumps(x) + "\n" for x in lines).encode())
    s3.put_object(
        Bucket=bucket,
        Key="in/labels.json",
        Body=json.dumps({"document-version": "2018-11-28", "labels": [{"label": c} for c in CLASSES]}).encode(),
    )
    machine = create_state_machine(
        server,
        f"label-{uuid.uuid4().hex[:6]}",
        {
            "StartAt": "Label",
            "States": {
                "Label": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:createLabelingJob.sync",
                    "Parameters": {
                        "LabelingJobName.$": "$.job",
                        "LabelAttributeName": "category",
                        "InputConfig": {
                            "DataSource": {"S3DataSource": {"ManifestS3Uri": f"s3://{bucket}/in/input.manifest"}}
                        },
                        "OutputConfig": {"S3OutputPath": f"s3://{bucket}/gt-output"},
                        "RoleArn": ROLE,
                        "LabelCategoryConfigS3Uri": f"s3://{bucket}/in/labels.json",
                        "HumanTaskConfig": {
                            "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/local",
                            "UiConfig": {"UiTemplateS3Uri": f"s3://{bucket}/in/template.liquid"},
                            "PreHumanTaskLambdaArn": f"{GT_LAMBDA}:PRE-TextMultiClass",
                            "TaskTitle": "Classify",
                            "TaskDescription": "Pick the category",
                            "NumberOfHumanWorkersPerDataObject": 1,
                            "TaskTimeLimitInSeconds": 300,
                            "AnnotationConsolidationConfig": {
                                "AnnotationConsolidationLambdaArn": f"{GT_LAMBDA}:ACS-TextMultiClass"
                            },
                        },
                    },
                    "End": True,
                }
            },
        },
    )
    return bucket, machine, lines


def _label(server, setup):
    bucket, machine, _ = setup
    job = f"gt-{uuid.uuid4().hex[:8]}"
    desc = run_execution(server, machine, job, {"job": job})
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    key = f"gt-output/{job}/manifests/output/output.manifest"
    body = make_client(server, "s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return job, out, [json.loads(line) for line in body.splitlines()]


def test_labeling_job_with_perfect_workers(server, labeling_setup):
    bucket, _, lines = labeling_setup
    job, out, rows = _label(server, labeling_setup)
    assert out["LabelingJobStatus"] == "Completed"
    assert out["LabelingJobArn"].endswith(f":labeling-job/{job}")
    assert out["LabelingJobOutput"]["OutputDatasetS3Uri"] == (
        f"s3://{bucket}/gt-output/{job}/manifests/output/output.manifest"
    )
    assert out["LabelCounters"]["TotalLabeled"] == 30
    assert out["LabelCounters"]["HumanLabeled"] == 30
    assert out["LabelCounters"]["FailedNonRetryableError"] == 1
    assert len(rows) == 30
    for row, src in zip(rows, lines, strict=False):
        assert list(row)[:3] == ["source", "news-id", "round"] and {k: row[k] for k in src} == src
        assert row["category"] == int(src["news-id"][1:]) % 3  # answers file: label = i % 3
        meta = row["category-metadata"]
        assert meta["class-name"] == CLASSES[row["category"]]
        assert meta["confidence"] == 1.0
        assert meta["type"] == "groundtruth/text-classification"
        assert meta["job-name"] == f"labeling-job/{job}"
        assert meta["human-annotated"] == "yes"
        datetime.strptime(meta["creation-date"], GT_DATE_FORMAT)
    described = make_client(server, "sagemaker").describe_labeling_job(LabelingJobName=job)
    assert described["LabelingJobStatus"] == "Completed" and described["LabelAttributeName"] == "category"
    listed = make_client(server, "sagemaker").list_labeling_jobs()["LabelingJobSummaryList"]
    assert job in {j["LabelingJobName"] for j in listed}


def test_labeling_job_noisy_workers_are_deterministic(server, labeling_setup, answers_file):
    workforce = {
        "answers_file": str(answers_file),
        "key_field": "news-id",
        "worker_accuracy": 0.9,
        "workers_per_item": 3,
        "seed": 11,
    }
    server.update_config(workforce=workforce)
    try:
        _, _, first = _label(server, labeling_setup)
        _, _, second = _label(server, labeling_setup)
    finally:
        server.update_config(workforce={**workforce, "worker_accuracy": 1.0, "workers_per_item": 1})
    strip = [{k: v for k, v in r.items() if k != "category-metadata"} for r in first]
    assert strip == [{k: v for k, v in r.items() if k != "category-metadata"} for r in second]
    assert [r["category-metadata"]["confidence"] for r in first] == [
        r["category-metadata"]["confidence"] for r in second
    ]
    expected = SimulatedWorkforce.from_config(workforce)
    for row in first:
        vote = expected.answer(row["news-id"], 3)
        assert (row["category"], row["category-metadata"]["confidence"]) == (vote.label, vote.confidence)
    assert {r["category-metadata"]["confidence"] for r in first} <= {0.33, 0.67, 1.0}


def test_labeling_job_without_workforce_fails(server, labeling_setup):
    saved = server.config()["workforce"]
    server.update_config(workforce=None)
    try:
        bucket, machine, _ = labeling_setup
        desc = run_execution(server, machine, f"gt-{uuid.uuid4().hex[:8]}", {"job": f"gt-{uuid.uuid4().hex[:8]}"})
    finally:
        server.update_config(workforce=saved)
    assert desc["status"] == "FAILED" and desc["error"] == "States.TaskFailed"
    assert "no simulated workforce" in json.loads(desc["cause"])["FailureReason"]


# --- the pure workforce ------------------------------------------------------------------------------------


def test_workforce_accuracy_one_is_exact():
    wf = SimulatedWorkforce({str(i): i % 4 for i in range(100)}, worker_accuracy=1.0, workers_per_item=5, seed=1)
    assert all(wf.answer(i, 4).label == i % 4 and wf.answer(i, 4).confidence == 1.0 for i in range(100))
    assert wf.answer("missing", 4) is None


def test_workforce_error_rate_and_wrong_answers_are_other_classes():
    n = 4000
    wf = SimulatedWorkforce({str(i): 0 for i in range(n)}, worker_accuracy=0.8, workers_per_item=1, seed=3)
    labels = [wf.answer(i, 4).label for i in range(n)]
    correct = sum(1 for x in labels if x == 0) / n
    assert 0.77 < correct < 0.83
    wrong = [x for x in labels if x != 0]
    assert {1, 2, 3} == set(wrong)
    assert all(abs(wrong.count(c) / len(wrong) - 1 / 3) < 0.06 for c in (1, 2, 3))


def test_workforce_majority_vote_and_deterministic_ties():
    wf = SimulatedWorkforce({"k": 1}, worker_accuracy=0.0, workers_per_item=2, seed=5)
    vote = wf.answer("k", 3)
    assert vote.label != 1 and vote.label == vote.votes[0]  # a tie goes to the first-voted class
    assert vote.confidence in (0.5, 1.0)
    again = SimulatedWorkforce({"k": 1}, worker_accuracy=0.0, workers_per_item=2, seed=5).answer("k", 3)
    assert again == vote
    assert SimulatedWorkforce({"k": 1}, worker_accuracy=0.0, workers_per_item=1, seed=5).answer("k", 2).label == 0


def test_workforce_is_order_independent_and_keys_are_strings():
    answers = {str(i): i % 3 for i in range(50)}
    wf = SimulatedWorkforce(answers, worker_accuracy=0.7, workers_per_item=3, seed=9)
    forward = [wf.answer(i, 3) for i in range(50)]
    backward = [wf.answer(str(i), 3) for i in reversed(range(50))][::-1]
    assert forward == backward


def test_label_manifest_keeps_lines_and_counts_failures(tmp_path):
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"key": 1, "label": 2}\n{"key": "2", "label": 0}\n')
    wf = SimulatedWorkforce.from_config(WorkforceConfig(answers_file=str(answers), key_field="id"))
    lines = ['{"id": 1, "z": "first", "a": [1]}', '{"id": 2}', '{"id": 3}', "", '{"other": 1}']
    created = datetime(2024, 5, 1, 12, 30, 45, 123456)
    result = label_manifest(lines, wf, ["x", "y", "z"], "lab", "job-1", created)
    assert (result.labeled, result.failed) == (2, 2)
    first = json.loads(result.output_lines[0])
    assert list(first) == ["id", "z", "a", "lab", "lab-metadata"]
    assert first["lab"] == 2
    assert first["lab-metadata"] == {
        "class-name": "z",
        "confidence": 1.0,
        "type": "groundtruth/text-classification",
        "job-name": "labeling-job/job-1",
        "human-annotated": "yes",
        "creation-date": "2024-05-01T12:30:45.123456",
    }
    with pytest.raises(ValueError):
        WorkforceConfig.from_dict({"answers_file": "a", "key_field": "k", "worker_accuracy": 1.5})
