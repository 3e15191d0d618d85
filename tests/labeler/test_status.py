"""`labeler status` on what a run leaves under its output path (moto S3): while it works, after a failure,
finished, and where there is no run at all. End to end on real runs: tests/e2e (finished, waiting for people,
stopped, failed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from labeler import cli, status
from tests.support import RUN_CONFIG as CONFIG

RUN = "runs/run-7/"


def summary(round_number: int, lower_bound: float | None) -> dict:
    return {
        "round": round_number,
        "certificate_round": 1,  # round 2 certified nothing: round 1's certificate stays in force
        "calibration": {
            "target_accuracy": 0.95,
            "confidence_level": 0.95,
            "certified_items": 1500,
            "estimated_accuracy": None if lower_bound is None else lower_bound + 0.01,
            "lower_bound": lower_bound,
        },
    }


@pytest.fixture
def run_in_progress(workspace):
    first, second = f"{RUN}rounds/round-001-a1/summary.json", f"{RUN}rounds/round-002-a1/summary.json"
    workspace.put_json(first, summary(1, 0.9512))
    workspace.put_json(second, summary(2, None))
    history = [
        {"kind": "bootstrap", "step": 0, "total": 10_000, "human": 2_000, "auto": 0, "unlabeled": 8_000},
        {"kind": "human_batch", "step": 1, "sent": 500, "labeled": 498},
        {"kind": "round", "step": 2, "round": 1, "summary_uri": workspace.uri(first)},
        {"kind": "human_batch", "step": 3, "sent": 500, "labeled": 500},
        {"kind": "round", "step": 4, "round": 2, "summary_uri": workspace.uri(second)},
    ]
    progress = {
        "round": 2,
        "next": "human_batch",
        "stop_reason": None,
        "step": 4,
        "counts": {"total": 10_000, "human": 3_000, "auto": 5_000, "unlabeled": 2_000, "validation": 1_000},
        "certificate_round": 1,
        "pending_batch": {"kind": "selection", "size": 500, "selection_uri": workspace.uri(f"{RUN}sel.jsonl")},
    }
    workspace.put_json(f"{RUN}working/checkpoint.json", {"progress": progress, "history": history, "updated_at": "t"})
    return workspace


def test_a_stopped_run_shows_counts_the_last_certified_bound_and_what_people_were_paid(run_in_progress):
    found = status.run_status(run_in_progress.s3, boto3.client("stepfunctions"), run_in_progress.uri(RUN))
    assert found["state"] == "stopped" and found["execution"] is None  # no lock, no failure record: nobody holds it
    assert (found["round"], found["next"], found["counts"]["auto"]) == (2, "human_batch", 5_000)
    assert found["shares"] == {"human": 0.3, "auto": 0.5, "unlabeled": 0.2}
    assert found["bound"]["lower_bound"] == 0.9512  # round 2 certified nothing: round 1's bound stands
    assert (found["human_labels_bought"], found["human_cost_usd"]) == (998, round(998 * 0.036, 2))
    assert found["waiting_for"] == []  # only a running execution waits for people
    text = status.render(found)
    assert "stopped: round 2, next human_batch" in text
    assert "human 3,000 (30.0%) · auto 5,000 (50.0%) · unlabeled 2,000 (20.0%)" in text
    assert "≥ 95.12% agree with people's labels" in text and "998" in text


def test_a_certificate_whose_auto_labels_all_went_to_people_claims_nothing(run_in_progress):
    """Random calibration picks can take every auto-label of a small certified set; the bound then speaks of
    no label, and the status states none (as the report does)."""
    key = f"{RUN}working/checkpoint.json"
    saved = run_in_progress.read_json(run_in_progress.uri(key))
    counts = saved["progress"]["counts"]
    saved["progress"]["counts"] = {**counts, "human": counts["human"] + counts["auto"], "auto": 0}
    run_in_progress.put_json(key, saved)
    found = status.run_status(run_in_progress.s3, boto3.client("stepfunctions"), run_in_progress.uri(RUN))
    assert found["bound"]["lower_bound"] is None and found["counts"]["auto"] == 0


def test_a_failed_run_is_found_through_its_failure_record(run_in_progress):
    run_in_progress.put_json(
        f"{RUN}failures/run-7.json",
        {
            "execution": {"name": "run-7", "arn": "arn:aws:states:us-east-1:123456789012:execution:loop:run-7"},
            "error": "InvalidInferenceOutput",
            "cause": "line 3 of the transform output is not JSON",
        },
    )
    found = status.run_status(run_in_progress.s3, boto3.client("stepfunctions"), run_in_progress.uri(RUN))
    assert found["execution"]["arn"].endswith(":run-7")
    # moto has never heard of that execution: its state is unknown, not invented
    assert found["execution"]["status"] == "UNKNOWN" and found["state"] == "stopped"


def test_nothing_at_the_location_is_a_clear_error(workspace, capsys):
    with pytest.raises(status.StatusError, match="no run at s3://.*/runs/none/: neither report.json"):
        status.run_status(workspace.s3, boto3.client("stepfunctions"), workspace.uri("runs/none"))
    assert cli.main(["status", workspace.uri("runs/none")]) == 2
    assert "labeler: no run at" in capsys.readouterr().err


def test_a_waiting_batch_says_how_long_people_have_had_it():
    found = {
        "output_uri": "s3://b/r/",
        "state": "running",
        "execution": {"arn": "arn", "name": "run-7", "status": "RUNNING"},
        "round": 1,
        "next": "human_batch",
        "stop_reason": None,
        "counts": {"total": 10, "human": 2, "auto": 0, "unlabeled": 8},
        "shares": {"human": 0.2, "auto": 0.0, "unlabeled": 0.8},
        "bound": {"target": None, "confidence_level": None, "lower_bound": None, "estimated": None},
        "human_labels_bought": 0,
        "human_cost_usd": 0.0,
        "waiting_for": [
            {"task_uri": "s3://b/r/batches/j/task.json", "job": "j", "items": 8, "since": "2026-12-01T10:00:00"}
        ],
        "failure": None,
        "report_uri": None,
    }
    text = status.render(found, now=datetime(2026, 12, 1, 12, 30, tzinfo=UTC))
    assert "running: round 1, next human_batch" in text and "none certified yet" in text
    assert (
        "waiting for people: 8 items since 2026-12-01 10:00:00 UTC (2h 30m ago): s3://b/r/batches/j/task.json" in text
    )


class HistoryOnly:
    """Step Functions as far as the cost lookup reads it: the state output that carries the validated config."""

    def __init__(self, events):
        self.events = events

    def describe_execution(self, executionArn):
        return {"status": "RUNNING", "name": "run-7", "startDate": datetime(2026, 12, 1, tzinfo=UTC)}

    def get_execution_history(self, executionArn, maxResults):
        return {"events": self.events}


def test_the_cost_is_counted_at_the_price_validate_input_resolved(run_in_progress):
    run_in_progress.put_json(f"{RUN}working/lock.json", {"execution_arn": "arn:run-7", "acquired_at": "t"})
    validated = {"output": json.dumps({"config": {**CONFIG, "human_cost_per_label": 0.1}})}
    sfn = HistoryOnly([{"type": "ExecutionStarted"}, {"type": "TaskStateExited", "stateExitedEventDetails": validated}])
    found = status.run_status(run_in_progress.s3, sfn, run_in_progress.uri(RUN))
    assert found["state"] == "running" and found["human_cost_usd"] == 99.8  # 998 labels at $0.10
    assert found["waiting_for"] == [{"task_uri": None, "job": None, "items": 500, "since": None, "kind": "selection"}]


def test_the_report_of_a_run_in_progress_is_built_from_its_checkpoint(run_in_progress, capsys):
    run_in_progress.put_json(f"{RUN}working/lock.json", {"execution_arn": "arn:aws:states:r:1:execution:l:run-7"})
    validated = {"output": json.dumps({"config": CONFIG})}
    sfn = HistoryOnly([{"type": "TaskStateExited", "stateExitedEventDetails": validated}])
    found = status.report_document(run_in_progress.s3, sfn, run_in_progress.uri(RUN))
    assert (found["finished_at"], found["final_manifest"], found["stop_reason"]) == (None, None, None)
    assert found["execution"] == {"arn": "arn:aws:states:r:1:execution:l:run-7", "name": "run-7"}
    assert found["counts"]["auto"] == 5_000 and [r["round"] for r in found["rounds"]] == [1, 2]
    assert found["auto_label_accuracy"]["lower_bound"] == 0.9512 and found["cost"]["human_labels_obtained"] == 998


def test_a_finished_run_reports_its_report_json_and_a_run_without_settings_says_why(run_in_progress, capsys):
    with pytest.raises(status.StatusError, match="has no report yet, and its settings cannot be read from any"):
        status.report_document(run_in_progress.s3, HistoryOnly([]), run_in_progress.uri(RUN))
    exported = {"rounds": [], "finished_at": "2026-12-01T12:00:00Z", "counts": {"total": 1}}
    run_in_progress.put_json(f"{RUN}report.json", exported)
    assert cli.main(["report", run_in_progress.uri(RUN), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == exported  # the exported document, not a rebuilt one
