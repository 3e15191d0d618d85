"""Resume after failure, state by state: each execution fails at the next state in the workflow (a fault
injected into that state's function), and the next execution with the same input continues the run. In the
end every record is in the final manifest exactly once, every label obtained before a failure is kept, and
no human batch is asked twice."""

from __future__ import annotations

import json
import time

import pytest

from labeler import status as run_status
from labeler import tasks as labeling_tasks
from local import runner

from .conftest import check_final_manifest, run_workflow

pytestmark = pytest.mark.e2e

FAILURES = [  # (function made to fail once, the loop state that then fails), in the order the workflow meets them
    ("bootstrap_manifest", "Bootstrap"),
    ("prepare_human_batch", "PrepareHumanBatch"),
    ("request_callback_labels", "LabelWithCallback"),
    ("merge_labels", "MergeHumanLabels"),  # after the batch was answered: its labels must not be lost
    ("create_validation_set", "RunActiveLearningRound"),
    ("prepare_training", "RunActiveLearningRound"),
    ("prepare_inference", "RunActiveLearningRound"),
    ("select_and_auto_label", "RunActiveLearningRound"),
    ("merge_labels", "RunActiveLearningRound"),  # the round's auto-label merge
    ("export_final", "ExportFinal"),
]


def test_every_state_fails_in_turn_and_the_run_resumes(deployment, tmp_path):
    names = deployment.outputs["function_names"]
    options = {"human_batch_size": 60, "max_rounds": 2, "seed": 3, "sample_seed": 3, "prelabeled": 0.1}
    answered: list[tuple[str, int]] = []
    try:
        for attempt, (function, state) in enumerate(FAILURES, start=1):
            deployment.aws.set_faults({"lambda": {names[function]: {"error": "InjectedFailure", "times": 1}}})
            sample, run = run_workflow(deployment, tmp_path, f"resume-{attempt}", 600, run_name="resume", **options)
            with pytest.raises(runner.RunFailed) as failed:
                runner.wait(deployment, run, on_progress=lambda line: None)
            assert (failed.value.state, failed.value.error) == (state, "InjectedFailure"), f"attempt {attempt}"
            answered += run.answered_jobs
        deployment.aws.set_faults({})
        sample, run = run_workflow(deployment, tmp_path, "resume-final", 600, run_name="resume", **options)
        output = runner.wait(deployment, run, on_progress=lambda line: None)
    finally:
        deployment.aws.set_faults({})
    answered += run.answered_jobs
    summary = runner.measure(deployment, run, output, tmp_path / "result")

    jobs = [job for job, _ in answered]
    assert len(jobs) == len(set(jobs)), f"a human batch was asked twice: {jobs}"
    prelabeled = sum("category" in line for line in sample.manifest)
    assert summary["human_labeled"] == prelabeled + sum(count for _, count in answered)  # no label lost
    check_final_manifest(sample, summary)
    s3 = deployment.client("s3")
    failures = s3.list_objects_v2(Bucket=run.bucket, Prefix="runs/resume/failures/")["Contents"]
    assert len(failures) == len(FAILURES)  # each failure recorded under the run's output path
    checkpoint = json.loads(s3.get_object(Bucket=run.bucket, Key="runs/resume/working/checkpoint.json")["Body"].read())
    # one attempt per execution after the first checkpoint (the first failure, at Bootstrap, came before it)
    assert checkpoint["progress"]["attempt"] == len(FAILURES)


def test_a_second_execution_on_the_same_output_path_is_refused(deployment, tmp_path):
    options = {
        "human_batch_size": 30,
        "max_rounds": 1,
        "seed": 8,
        "sample_seed": 8,
        "prelabeled": 0.1,
        "workforce": "human",
    }  # the first execution waits for people: it keeps running
    _, first = run_workflow(deployment, tmp_path, "lock-first", 300, run_name="locked", **options)
    sfn = deployment.client("stepfunctions")
    try:
        _, second = run_workflow(deployment, tmp_path, "lock-second", 300, run_name="locked", **options)
        with pytest.raises(runner.RunFailed) as refused:
            runner.wait(deployment, second, on_progress=lambda line: None)
        assert (refused.value.state, refused.value.error) == ("Bootstrap", "WorkflowLocked")
        assert "lock-first" in refused.value.cause
        assert sfn.describe_execution(executionArn=first.execution_arn)["status"] == "RUNNING"
        # a run on another output path shares nothing with it
        _, other = run_workflow(
            deployment, tmp_path, "lock-other", 300, run_name="unlocked", **{**options, "workforce": "simulated"}
        )
        runner.wait(deployment, other, on_progress=lambda line: None)
    finally:
        sfn.stop_execution(executionArn=first.execution_arn, error="TestDone", cause="stopped by the test")


def _until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def _status(sfn, arn: str) -> str:
    return sfn.describe_execution(executionArn=arn)["status"]


def test_stop_while_people_label_then_resume(deployment, tmp_path):
    """StopExecution on an execution waiting for a labeling task aborts it at once (as on AWS), so a new
    execution with the same input takes the run over and finishes it; the batch nobody answered is asked
    again under the same job name."""
    options = {"human_batch_size": 40, "max_rounds": 1, "seed": 4, "sample_seed": 4, "prelabeled": 0.1}
    _, first = run_workflow(deployment, tmp_path, "stop-wait", 300, run_name="stopped", workforce="human", **options)
    s3, sfn = deployment.client("s3"), deployment.client("stepfunctions")
    waiting = _until(lambda: labeling_tasks.find_tasks(s3, sfn, first.output_uri), 120, "the labeling task")
    status = run_status.run_status(s3, sfn, first.output_uri)  # what `labeler status` shows while people label
    assert (status["state"], status["next"], status["execution"]["status"]) == ("running", "human_batch", "RUNNING")
    [batch] = status["waiting_for"]
    assert (batch["job"], batch["items"], batch["task_uri"]) == (
        waiting[0].job_name,
        waiting[0].document["RecordCount"],
        waiting[0].uri,
    )
    assert f"waiting for people: {batch['items']:,} items since" in run_status.render(status)
    sfn.stop_execution(executionArn=first.execution_arn, error="Operator", cause="stopped by the test")
    assert _until(lambda: _status(sfn, first.execution_arn) == "ABORTED", 10, "ABORTED")
    status = run_status.run_status(s3, sfn, first.output_uri)
    assert (status["state"], status["execution"]["status"], status["waiting_for"]) == ("stopped", "ABORTED", [])

    sample, again = run_workflow(deployment, tmp_path, "stop-wait-resume", 300, run_name="stopped", **options)
    output = runner.wait(deployment, again, on_progress=lambda line: None)
    summary = runner.measure(deployment, again, output, tmp_path / "result")
    check_final_manifest(sample, summary)
    assert waiting[0].job_name in [job for job, _ in again.answered_jobs]


def test_stop_during_a_round_stops_the_round_then_resume(deployment, tmp_path):
    """A round runs as a child execution (startExecution.sync:2): stopping the loop stops the round too, as
    Step Functions does, so it commits nothing after the stop; the resumed run finishes."""
    options = {"human_batch_size": 40, "max_rounds": 2, "seed": 6, "sample_seed": 6, "prelabeled": 0.2}
    _, first = run_workflow(deployment, tmp_path, "stop-round", 300, run_name="stopped-round", **options)
    sfn = deployment.client("stepfunctions")
    rounds = deployment.outputs["round_state_machine_arn"]

    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=rounds)["executions"]}
    child = _until(
        lambda: [
            e["executionArn"]
            for e in sfn.list_executions(stateMachineArn=rounds, statusFilter="RUNNING")["executions"]
            if e["executionArn"] not in before
        ],
        180,
        "a running round",
    )[0]
    sfn.stop_execution(executionArn=first.execution_arn)
    assert _until(lambda: _status(sfn, first.execution_arn) == "ABORTED", 10, "the loop ABORTED")
    assert _until(lambda: _status(sfn, child) == "ABORTED", 10, "the round ABORTED")

    sample, again = run_workflow(deployment, tmp_path, "stop-round-resume", 300, run_name="stopped-round", **options)
    output = runner.wait(deployment, again, on_progress=lambda line: None)
    check_final_manifest(sample, runner.measure(deployment, again, output, tmp_path / "result"))


def test_a_run_that_outlasts_its_timeout_is_stopped_and_says_why(deployment, tmp_path):
    """The runner's last resort (a run waiting for people nobody sends, or a hang): it stops the execution at its
    timeout and names the timeout, which the aborted execution's history does not."""
    options = {"human_batch_size": 10, "max_rounds": 1, "seed": 1, "sample_seed": 1, "prelabeled": 0.0}
    _, run = run_workflow(deployment, tmp_path, "timeout", 30, workforce="human", timeout_seconds=2, **options)
    with pytest.raises(runner.RunFailed) as failed:
        runner.wait(deployment, run, on_progress=lambda line: None)
    assert (failed.value.status, failed.value.error) == ("ABORTED", "LocalTimeout")
    assert failed.value.cause == "no result after 2 s: the runner stopped the execution"


@pytest.mark.parametrize("size", [2, 5])
def test_a_tiny_manifest_is_labeled_by_people_and_never_fails_after_they_labeled(deployment, tmp_path, size):
    """Too few labels to train fold models or certify anything: the rounds degrade (fold models that know
    nothing auto-label nothing) instead of failing after people labeled, and people label every item."""
    options = {"human_batch_size": 10, "max_rounds": 3, "seed": 1, "sample_seed": 1, "prelabeled": 0.0}
    sample, run = run_workflow(deployment, tmp_path, f"tiny-{size}", size, **options)
    output = runner.wait(deployment, run, on_progress=lambda line: None)
    summary = runner.measure(deployment, run, output, tmp_path / "result")
    check_final_manifest(sample, summary)
    assert (summary["human_labeled"], summary["auto_labeled"]) == (size, 0)


def test_a_bootstrap_of_one_label_runs_its_rounds(deployment, tmp_path):
    """BootstrapFraction leaving a single label: the first training has one label for five folds; the round
    still runs (nothing certified) and people's batches go on."""
    options = {"human_batch_size": 20, "max_rounds": 2, "seed": 2, "sample_seed": 2, "prelabeled": 0.0}
    sample, run = run_workflow(deployment, tmp_path, "one-label", 100, bootstrap_fraction=0.01, **options)
    output = runner.wait(deployment, run, on_progress=lambda line: None)
    summary = runner.measure(deployment, run, output, tmp_path / "result")
    check_final_manifest(sample, summary)
    assert output["Rounds"] == 2 and summary["human_labeled"] == 1 + 2 * 20
