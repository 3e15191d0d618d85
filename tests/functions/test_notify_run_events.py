"""NotifyRunEvents: what the team is told on the run-events topic, for each event it receives (pure
messages; the handler under moto, publishing to SNS read through an SQS subscription)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from notify_run_events.handler import lambda_handler as notify
from notify_run_events.logic import (
    alarm_state_change,
    execution_status_change,
    human_batch_waiting,
    kind,
    subject,
    waiting_seconds,
)

from labeling_common.errors import InvalidEvent
from labeling_common.history import failing_state

ARN = "arn:aws:states:us-east-1:123456789012:execution:al-active-learning-loop:run-1"
REQUEST = json.dumps({"OutputConfig": {"S3OutputPath": "s3://bucket/news/run-1/"}})
OUTPUT = json.dumps(
    {
        "FinalManifestS3Uri": "s3://bucket/news/run-1/final_output.manifest",
        "ReportS3Uri": "s3://bucket/news/run-1/report.json",
        "ReportHtmlS3Uri": "s3://bucket/news/run-1/report.html",
        "StopReason": "all_labeled",
        "Counts": {"total": 10_000, "human": 3_627, "auto": 6_373, "unlabeled": 0, "validation": 2_000},
        "Rounds": 4,
        "AutoLabelAccuracyLowerBound": 0.95036,
    }
)


def status_event(status: str, **detail) -> dict:
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": ARN, "name": "run-1", "status": status, "input": REQUEST, **detail},
    }


WAITING = {
    "source": "active-labeling",
    "detail-type": "Human batch waiting",
    "detail": {
        "execution": "run-1",
        "output_uri": "s3://bucket/news/run-1/",
        "backend": "callback",
        "job_name": "al-news-1a2b-h0002",
        "items": 500,
        "kind": "selection",
    },
}
ALARM = {
    "source": "aws.cloudwatch",
    "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:al-failed-runs",
    "alarmData": {
        "alarmName": "al-failed-runs",
        "state": {"value": "ALARM", "reason": "Threshold Crossed: 1 datapoint [1.0] >= 1.0"},
        "previousState": {"value": "OK"},
        "configuration": {"description": "A labeling run failed."},
    },
}


def test_a_finished_run_says_what_was_labeled_by_whom_what_is_certified_and_where_the_report_is():
    note = execution_status_change(status_event("SUCCEEDED", output=OUTPUT)["detail"])
    assert note.subject == "Labeling run run-1 finished"
    assert note.message.splitlines() == [
        "Labeling run run-1 finished (all_labeled) after 4 rounds.",
        "Items 10,000: human 3,627 (36.3%), auto 6,373 (63.7%), unlabeled 0.",
        "Auto-labels certified to agree with people's labels: at least 95.04%.",
        "Report: s3://bucket/news/run-1/report.html",
        "Final manifest: s3://bucket/news/run-1/final_output.manifest",
    ]


@pytest.mark.parametrize(
    ("missed", "items", "limit", "said"),
    [
        (0.2917, 48, 1.0, "Health, an estimated 29.2% of its items (from 48 calibration items); no per-class limit "
         "was set (MaxClassMissRate)."),
        (0.04, 1, 0.025, "Health, an estimated 4.0% of its items (from 1 calibration item); certified at most 2.5%."),
    ],
)  # fmt: skip
def test_a_finished_run_names_the_class_most_often_auto_labeled_as_another(missed, items, limit, said):
    most = {"class": "Health", "missed": missed, "validation_labeled": items, "max_class_miss_rate": limit}
    output = json.dumps({**json.loads(OUTPUT), "MostMissedClass": most})
    note = execution_status_change(status_event("SUCCEEDED", output=output)["detail"])
    assert note.message.splitlines()[3] == f"Class most often auto-labeled as another: {said}"


def test_a_finished_run_where_no_class_loses_calibration_items_names_none():
    most = {"class": "Business", "missed": 0.0, "validation_labeled": 400, "max_class_miss_rate": 0.1}
    output = json.dumps({**json.loads(OUTPUT), "MostMissedClass": most})
    note = execution_status_change(status_event("SUCCEEDED", output=output)["detail"])
    assert note.message.splitlines()[3] == (
        "No class's calibration items are counted as another class; certified at most 10%."
    )


def test_a_failed_run_names_the_state_the_error_and_the_cause_and_how_to_resume():
    detail = status_event("FAILED", error="InvalidInferenceOutput", cause="line 3 is not JSON")["detail"]
    note = execution_status_change(detail, "RunActiveLearningRound")
    assert note.subject == "Labeling run run-1 failed"
    assert note.message.splitlines() == [
        "Labeling run run-1 failed in state RunActiveLearningRound.",
        "Error: InvalidInferenceOutput",
        "Cause: line 3 is not JSON",
        "A new execution with the same input resumes from the last checkpoint.",
        "Where it stands: labeler status s3://bucket/news/run-1/",
    ]


@pytest.mark.parametrize(("status", "said"), [("ABORTED", "was stopped"), ("TIMED_OUT", "timed out")])
def test_a_stopped_run_says_so_and_how_to_resume(status, said):
    note = execution_status_change(status_event(status)["detail"])
    assert note.subject == f"Labeling run run-1 {said}" and f"({status})" in note.message
    with pytest.raises(InvalidEvent, match="'RUNNING' is not one"):
        execution_status_change(status_event("RUNNING")["detail"])


def test_a_waiting_batch_says_how_many_items_and_where_people_find_them():
    note = human_batch_waiting(WAITING["detail"])
    assert note.subject == "Labeling run run-1: 500 items wait for people"
    assert "labeler tasks s3://bucket/news/run-1/" in note.message
    ground_truth = human_batch_waiting({**WAITING["detail"], "backend": "ground_truth"})
    assert "Ground Truth labeling job al-news-1a2b-h0002" in ground_truth.message


def test_an_alarm_says_its_state_and_why():
    note = alarm_state_change(ALARM)
    assert note.subject == "ALARM: al-failed-runs"
    assert note.message.splitlines() == [
        "Alarm al-failed-runs: ALARM (was OK).",
        "Threshold Crossed: 1 datapoint [1.0] >= 1.0",
        "A labeling run failed.",
    ]


def test_events_are_told_apart_and_strangers_refused():
    assert [kind(e) for e in (status_event("FAILED"), WAITING, ALARM)] == ["execution", "human_batch", "alarm"]
    with pytest.raises(InvalidEvent, match="not a run event"):
        kind({"source": "aws.s3", "detail-type": "Object Created"})


def test_subjects_fit_sns():
    assert subject("Run ✓ done\nnext") == "Run ? done next"
    assert len(subject("x" * 300)) == 100


def test_the_failing_state_is_the_one_before_the_newest_failure_not_the_failure_path():
    oldest_first = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "ValidateInput"}},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "RunActiveLearningRound"}},
        {"type": "TaskFailed"},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "RecordFailure"}},
        {"type": "LambdaFunctionSucceeded"},
        {"type": "FailStateEntered", "stateEnteredEventDetails": {"name": "Failed"}},
        {"type": "ExecutionFailed"},
    ]
    assert failing_state(reversed(oldest_first)) == "RunActiveLearningRound"
    assert failing_state(reversed(oldest_first[:2])) is None  # nothing failed (yet)


@pytest.fixture
def topic_queue(aws, monkeypatch):
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="al-run-events")["TopicArn"]
    queue = sqs.create_queue(QueueName="team")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("RUN_EVENTS_TOPIC_ARN", topic)

    def received() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return received


def test_the_handler_publishes_one_message_per_event(topic_queue, lambda_context):
    assert notify(WAITING, lambda_context)["kind"] == "human_batch"
    [message] = topic_queue()
    assert message["Subject"] == "Labeling run run-1: 500 items wait for people"
    assert "labeler status s3://bucket/news/run-1/" in message["Message"]


def test_a_failed_run_unknown_to_step_functions_is_still_reported(topic_queue, lambda_context):
    event = status_event("FAILED", error="InvalidInferenceOutput", cause="line 3")
    assert notify(event, lambda_context)["kind"] == "execution"  # the history cannot be read: no state named
    [message] = topic_queue()
    assert message["Message"].startswith("Labeling run run-1 failed.\nError: InvalidInferenceOutput")


def test_a_malformed_event_is_refused_by_the_contract(topic_queue, lambda_context):
    with pytest.raises(InvalidEvent):
        notify({**WAITING, "detail": {"execution": "run-1"}}, lambda_context)
    assert topic_queue() == []


def test_a_run_waits_for_people_from_the_checkpoint_that_said_a_batch_comes_next():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    saved = {"progress": {"next": "human_batch"}, "updated_at": "2026-12-01T10:30:00Z"}
    assert waiting_seconds(saved, now) == 5400.0
    assert waiting_seconds({**saved, "progress": {"next": "round"}}, now) is None  # the model is at work
    assert waiting_seconds(None, now) is None


def test_the_schedule_measures_the_longest_wait_of_the_running_runs(workspace, lambda_context, capsys, monkeypatch):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name="al-active-learning-loop",
        definition=json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("LOOP_STATE_MACHINE_ARN", machine)
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    for name, next_step in (("waits", "human_batch"), ("trains", "round")):
        request = {"OutputConfig": {"S3OutputPath": workspace.uri(f"runs/{name}")}}  # no slash, as users write it
        sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(request))
        workspace.put_json(
            f"runs/{name}/working/checkpoint.json", {"progress": {"next": next_step}, "updated_at": two_hours_ago}
        )
    capsys.readouterr()
    result = notify({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, lambda_context)
    assert result["running"] == 2 and 7190 < result["longest_wait_seconds"] < 7300
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    [waited] = [e["HumanBatchWaitingSeconds"] for e in emitted if "HumanBatchWaitingSeconds" in e]
    assert 7190 < waited[0] < 7300  # the metric the alarm watches (Embedded Metric Format, one value)
