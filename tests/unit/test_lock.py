"""One execution per output path."""

import json

import pytest

from labeling_common import lock
from labeling_common.errors import WorkflowLocked

OUT = "s3://labeling-bucket/runs/run-1/"
FIRST, SECOND = "arn:aws:states:us-east-1:123456789012:execution:loop:first", "arn:aws:states:...:second"


def holder(workspace):
    return json.loads(workspace.read_bytes(OUT + "working/lock.json"))["execution_arn"]


def test_second_execution_is_refused_while_the_first_runs(workspace):
    lock.acquire(OUT, FIRST, "t0", is_running=lambda arn: True)
    with pytest.raises(WorkflowLocked) as error:
        lock.acquire(OUT, SECOND, "t1", is_running=lambda arn: arn == FIRST)
    assert error.value.field == "$.OutputConfig.S3OutputPath" and FIRST in str(error.value)
    assert holder(workspace) == FIRST


def test_a_retry_of_the_owner_keeps_the_lock(workspace):
    lock.acquire(OUT, FIRST, "t0", is_running=lambda arn: True)
    lock.acquire(OUT, FIRST, "t1", is_running=lambda arn: True)
    assert holder(workspace) == FIRST


def test_the_lock_of_a_finished_execution_is_taken_over(workspace):
    lock.acquire(OUT, FIRST, "t0", is_running=lambda arn: True)
    lock.acquire(OUT, SECOND, "t1", is_running=lambda arn: False)
    assert holder(workspace) == SECOND


def test_release_only_by_the_owner(workspace):
    lock.acquire(OUT, FIRST, "t0", is_running=lambda arn: True)
    lock.release(OUT, SECOND)
    assert holder(workspace) == FIRST
    lock.release(OUT, FIRST)
    assert "runs/run-1/working/lock.json" not in workspace.keys("runs/")
    lock.release(OUT, FIRST)  # nothing to release: fine


def test_different_output_paths_do_not_interfere(workspace):
    lock.acquire(OUT, FIRST, "t0", is_running=lambda arn: True)
    lock.acquire("s3://labeling-bucket/runs/run-2/", SECOND, "t0", is_running=lambda arn: True)  # not refused
    assert holder(workspace) == FIRST
    other = json.loads(workspace.read_bytes("s3://labeling-bucket/runs/run-2/working/lock.json"))
    assert other["execution_arn"] == SECOND


def test_an_unknown_execution_is_not_running(aws):
    assert lock.execution_is_running("arn:aws:states:us-east-1:123456789012:execution:nope:gone") is False


def test_a_stopped_holder_never_deletes_its_successors_lock(workspace, monkeypatch):
    """FIRST was stopped; its late release reads the lock (still FIRST's), SECOND takes over, then FIRST
    deletes: the delete is conditional on what FIRST read, so SECOND keeps the lock."""
    lock.acquire(OUT, FIRST, "t0", is_running=lambda arn: True)
    s3 = lock.client("s3")
    read = s3.get_object

    def read_then_lose_the_race(**kwargs):
        response = read(**kwargs)
        monkeypatch.setattr(s3, "get_object", read)
        lock.acquire(OUT, SECOND, "t1", is_running=lambda arn: False)  # the takeover lands in between
        return response

    monkeypatch.setattr(s3, "get_object", read_then_lose_the_race)
    lock.release(OUT, FIRST)
    assert holder(workspace) == SECOND


def test_a_late_commit_of_a_stopped_execution_never_overwrites_its_successors_progress(workspace, monkeypatch):
    """The checkpoint is written only over the version its writer read: a step that read it, then lost the
    run to another execution that committed, fails with WorkflowLocked and changes nothing."""
    from labeling_common import checkpoint, s3io

    config = {"output_uri": OUT, "kms_key_id": None}
    checkpoint.save(config, {"step": 0}, identity={"input_manifest_uri": "s3://x/m"})
    stale = s3io.read_json_with_etag(OUT + "working/checkpoint.json")  # the stopped execution's read
    checkpoint.save(config, {"step": 1})  # the successor commits
    monkeypatch.setattr(s3io, "read_json_with_etag", lambda uri: stale)
    with pytest.raises(WorkflowLocked, match="another execution has taken over"):
        checkpoint.save(config, {"step": 99})
    monkeypatch.undo()
    assert checkpoint.load(OUT)["progress"] == {"step": 1}


def test_a_step_of_a_superseded_attempt_cannot_commit_even_after_reading_the_new_checkpoint(workspace):
    """The attempt number is the fencing token: once a successor's Bootstrap committed attempt 2, a step
    carrying attempt 1 is refused, however fresh its read of the checkpoint."""
    from labeling_common import checkpoint

    config = {"output_uri": OUT, "kms_key_id": None}
    checkpoint.save(config, {"attempt": 1, "step": 3}, identity={"input_manifest_uri": "s3://x/m"})
    checkpoint.save(config, {"attempt": 2, "step": 3}, attempt_owner=SECOND)  # the takeover
    with pytest.raises(WorkflowLocked, match="attempt 2"):
        checkpoint.save(config, {"attempt": 1, "step": 4})
    assert checkpoint.load(OUT)["progress"] == {"attempt": 2, "step": 3}
    checkpoint.save(config, {"attempt": 2, "step": 4})  # the holder goes on
