import json

import boto3
import pytest
from bootstrap_manifest.handler import lambda_handler as bootstrap
from export_final.handler import lambda_handler as export_final
from merge_labels.handler import lambda_handler as merge
from prepare_human_batch.handler import lambda_handler as prepare_batch
from record_failure.handler import lambda_handler as record_failure
from request_callback_labels.handler import lambda_handler as request_labels

from labeling_common.errors import InvalidLabeledBatch
from tests.support import EXECUTION, answer_lines, make_config, manifest_records, truth_of, uci_rows


@pytest.fixture
def started(workspace, lambda_context):
    rows = uci_rows(100, seed=2)
    workspace.put_lines("input/input.manifest", manifest_records(rows))
    config = make_config(workspace)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    batch = prepare_batch({"config": config, "progress": state}, lambda_context)
    sent = workspace.read_lines(batch["batch_manifest_uri"])
    return workspace, config, state, batch, sent, truth_of(rows)


def human_merge(config, state, batch, labeling, context):
    return merge(
        {"config": config, "progress": state, "source": "human", "batch": batch, "labeling": labeling}, context
    )


def test_callback_answers_are_merged_into_a_new_version_keeping_user_fields(started, lambda_context):
    workspace, config, state, batch, sent, truth = started
    answers = answer_lines(sent[:15], truth, job_name=batch["job_name"])
    workspace.put_lines(batch["answer_uri"][len("s3://labeling-bucket/") :], answers)
    answer = {"JobName": batch["job_name"], "LabeledManifestS3Uri": batch["answer_uri"]}

    new = human_merge(config, state, batch, {"callback_answer": answer}, lambda_context)

    assert new["step"] == 1 and new["working_manifest_uri"].endswith("manifest-00001-a1.jsonl")
    assert new["counts"] == {"total": 100, "human": 15, "auto": 0, "unlabeled": 85, "validation": 0}
    assert new["pending_batch"]["size"] == 5  # 5 sent items came back unlabeled: asked again
    before = workspace.read_lines(state["working_manifest_uri"])
    after = workspace.read_lines(new["working_manifest_uri"])
    assert len(after) == 100
    for old, record in zip(before, after, strict=True):
        assert {k: v for k, v in record.items() if not k.startswith("category")} == old
    labeled = {r["al:record-id"]: r for r in after if "category" in r}
    assert set(labeled) == {a["al:record-id"] for a in answers}
    assert workspace.keys("runs/run-1/working/manifest-00000-a1.jsonl")  # version 0 is kept, never rewritten
    history = workspace.read_json(config["output_uri"] + "working/checkpoint.json")["history"]
    assert history[-1] | {"labeled_manifest_uri": None} == {
        "kind": "human_batch",
        "step": 1,
        "job_name": batch["job_name"],
        "batch_kind": "bootstrap",
        "sent": 20,
        "labeled": 15,
        "calibration_items": 0,
        "auto_relabeled": [0] * config["num_classes"],
        "labeled_manifest_uri": None,
    }


def test_a_retried_merge_writes_the_same_version(started, lambda_context):
    workspace, config, state, batch, sent, truth = started
    workspace.put_lines("answers/a.jsonl", answer_lines(sent, truth))
    labeling = {"labeled_manifest_uri": workspace.uri("answers/a.jsonl")}
    first = human_merge(config, state, batch, labeling, lambda_context)
    content = workspace.read_bytes(first["working_manifest_uri"])
    second = human_merge(config, state, batch, labeling, lambda_context)
    assert second == first and workspace.read_bytes(second["working_manifest_uri"]) == content
    history = workspace.read_json(config["output_uri"] + "working/checkpoint.json")["history"]
    assert [h["kind"] for h in history] == ["bootstrap", "human_batch"]


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda lines: lines.append(dict(lines[0])), "answered twice"),
        (lambda lines: lines[0].update({"al:record-id": 99999}), "was not sent in this batch"),
        (lambda lines: lines[1].update(category=7), "7 is greater than the maximum of 3"),
        (lambda lines: lines[1]["category-metadata"].update({"human-annotated": "no"}), "'yes' was expected"),
        (lambda lines: lines[2].pop("category-metadata"), "'category-metadata' is a required property"),
        (lambda lines: lines[0].pop("al:record-id"), "'al:record-id' is a required property"),
    ],
)
def test_bad_answers_are_refused_and_the_manifest_is_unchanged(started, lambda_context, mutate, message):
    workspace, config, state, batch, sent, truth = started
    lines = answer_lines(sent, truth)
    mutate(lines)
    workspace.put_lines("answers/bad.jsonl", lines)
    with pytest.raises(InvalidLabeledBatch, match=message):
        human_merge(config, state, batch, {"labeled_manifest_uri": workspace.uri("answers/bad.jsonl")}, lambda_context)
    assert "runs/run-1/working/manifest-00001-a1.jsonl" not in workspace.keys("runs/run-1/working/")


@pytest.mark.parametrize(
    "answer,field",
    [
        (
            {"JobName": "other-job", "LabeledManifestS3Uri": "s3://labeling-bucket/a"},
            "$.labeling.callback_answer.JobName",
        ),
        ({"LabeledManifestS3Uri": "s3://labeling-bucket/a"}, "$.labeling.callback_answer.JobName"),
        ({"JobName": "x", "LabeledManifestS3Uri": "file:///tmp/a"}, "$.labeling.callback_answer.LabeledManifestS3Uri"),
        ("just a string", "$.labeling.callback_answer"),
    ],
)
def test_bad_callback_answers_name_the_field(started, lambda_context, answer, field):
    workspace, config, state, batch, _, _ = started
    with pytest.raises(InvalidLabeledBatch) as error:
        human_merge(config, state, batch, {"callback_answer": answer}, lambda_context)
    assert error.value.field == field


def test_a_missing_labeled_manifest_is_named(started, lambda_context):
    workspace, config, state, batch, _, _ = started
    answer = {"JobName": batch["job_name"], "LabeledManifestS3Uri": batch["answer_uri"]}
    with pytest.raises(InvalidLabeledBatch, match="does not exist"):
        human_merge(config, state, batch, {"callback_answer": answer}, lambda_context)


def test_an_empty_answer_stops_the_loop_instead_of_asking_forever(started, lambda_context):
    workspace, config, state, batch, _, _ = started
    workspace.put_bytes("answers/empty.jsonl", b"")
    new = human_merge(
        config, state, batch, {"labeled_manifest_uri": workspace.uri("answers/empty.jsonl")}, lambda_context
    )
    assert (new["next"], new["stop_reason"]) == ("export", "no_progress")


def test_callback_task_is_published_without_the_token_and_stored_with_it(started, lambda_context, capsys, caplog):
    workspace, config, state, batch, _, _ = started
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="active-labeling-tasks")["TopicArn"]
    queue = sqs.create_queue(QueueName="tasks")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

    result = request_labels(
        {"config": config, "batch": batch, "task_token": "secret-token", "execution": EXECUTION}, lambda_context
    )

    task = workspace.read_json(result["task_uri"])
    assert task["TaskToken"] == "secret-token" and task["RecordCount"] == 20
    assert task["Labels"][3] == "Science and Technology" and task["AnswerS3Uri"] == batch["answer_uri"]
    message = sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"]
    assert "secret-token" not in message and result["task_uri"] in message
    captured = capsys.readouterr()
    assert "secret-token" not in captured.out + captured.err + caplog.text  # the event is never logged


def test_final_export_strips_internal_keys_keeps_order_and_unlabeled_items(started, lambda_context):
    workspace, config, state, batch, sent, truth = started
    workspace.put_lines("answers/a.jsonl", answer_lines(sent, truth))
    state = human_merge(
        config, state, batch, {"labeled_manifest_uri": workspace.uri("answers/a.jsonl")}, lambda_context
    )
    state = {**state, "next": "export", "stop_reason": "max_rounds"}
    output = export_final({"config": config, "progress": state, "execution": EXECUTION}, lambda_context)
    assert output["FinalManifestS3Uri"] == workspace.uri("runs/run-1/final_output.manifest")
    assert output["StopReason"] == "max_rounds" and output["Counts"]["unlabeled"] == 80
    assert output["MostMissedClass"] is None  # nothing certified: no class estimate to speak of
    final = workspace.read_lines(output["FinalManifestS3Uri"])
    original = workspace.read_lines(config["input_manifest_uri"])
    assert [r["news-id"] for r in final] == [r["news-id"] for r in original]
    assert all("al:record-id" not in r for r in final)
    report = workspace.read_json(output["ReportS3Uri"])
    assert report["cost"]["human_labels_obtained"] == 20 and report["cost"]["human_labeling_usd"] == 0.72
    assert report["stop_reason"] == "max_rounds" and report["counts"]["human"] == 20
    page = workspace.s3.get_object(Bucket=workspace.bucket, Key="runs/run-1/report.html")
    assert output["ReportHtmlS3Uri"] == workspace.uri("runs/run-1/report.html")
    assert page["ContentType"].startswith("text/html")  # opens in a browser straight from S3
    assert "finished (max_rounds)" in page["Body"].read().decode()


def test_failures_are_recorded_under_the_output_path(started, lambda_context):
    workspace, config, state, *_ = started
    event = {
        "execution": EXECUTION,
        "error": {"Error": "InvalidLabeledBatch", "Cause": "line 3: ..."},
        "state": {"config": config, "progress": state},
    }
    result = record_failure(event, lambda_context)
    stored = workspace.read_json(result["failure_record"])
    assert stored["error"] == "InvalidLabeledBatch" and stored["last_checkpoint_step"] == 0
    # before ValidateInput succeeded there is no output path: nothing is written, the error is still returned
    bare = record_failure(
        {"execution": EXECUTION, "error": {"Error": "InvalidInput", "Cause": "x"}, "state": {}}, lambda_context
    )
    assert bare["error"] == "InvalidInput" and "failure_record" not in bare


def test_a_failed_round_is_recorded_with_its_original_error(started, lambda_context):
    workspace, config, state, *_ = started
    lambda_error = json.dumps(
        {"errorType": "InvalidInferenceOutput", "errorMessage": "transform output holds 3 pool records"}
    )
    inner = json.dumps({"Error": "InvalidInferenceOutput", "Cause": lambda_error})
    child = json.dumps({"Status": "FAILED", "Error": "RoundFailed", "Cause": inner})  # DescribeExecution, as .sync:2
    event = {
        "execution": EXECUTION,
        "error": {"Error": "States.TaskFailed", "Cause": child},
        "state": {"config": config, "progress": state},
    }
    result = record_failure(event, lambda_context)
    assert (result["error"], result["cause"]) == ("InvalidInferenceOutput", "transform output holds 3 pool records")
    assert result["reported_error"] == "States.TaskFailed"


def test_reserved_error_names_are_not_re_raised(lambda_context):
    result = record_failure(
        {"execution": EXECUTION, "error": {"Error": "States.Timeout", "Cause": ""}, "state": {}}, lambda_context
    )
    assert result["error"] == "Workflow.Timeout"


def test_a_late_merge_of_a_superseded_attempt_is_refused_and_touches_nothing_of_its_successor(started, lambda_context):
    """The execution that ran attempt 1 was stopped while its merge was in flight; a new execution took the
    run over (attempt 2) and merged the same batch. The late merge reads the checkpoint after the takeover,
    so If-Match alone would let it through: the attempt fences it, and its manifest lands beside the
    successor's, never over it."""
    from labeling_common.errors import WorkflowLocked

    workspace, config, state, batch, sent, truth = started
    workspace.put_lines("answers/a.jsonl", answer_lines(sent, truth))
    labeling = {"labeled_manifest_uri": workspace.uri("answers/a.jsonl")}
    successor = bootstrap({"config": config, "execution": {"name": "second", "arn": "arn:second"}}, lambda_context)
    assert successor["attempt"] == 2
    committed = human_merge(config, successor, batch, labeling, lambda_context)
    content = workspace.read_bytes(committed["working_manifest_uri"])
    checkpoint_before = workspace.read_bytes(config["output_uri"] + "working/checkpoint.json")

    with pytest.raises(WorkflowLocked, match="attempt 2"):
        human_merge(config, state, batch, labeling, lambda_context)

    assert workspace.read_bytes(config["output_uri"] + "working/checkpoint.json") == checkpoint_before
    assert workspace.read_bytes(committed["working_manifest_uri"]) == content
    assert committed["working_manifest_uri"].endswith("manifest-00001-a2.jsonl")


def test_a_late_export_of_a_superseded_attempt_writes_nothing(started, lambda_context):
    from labeling_common.errors import WorkflowLocked

    workspace, config, state, batch, sent, truth = started
    bootstrap({"config": config, "execution": {"name": "second", "arn": "arn:second"}}, lambda_context)
    with pytest.raises(WorkflowLocked, match="attempt 2"):
        export_final({"config": config, "progress": state, "execution": EXECUTION}, lambda_context)
    assert not [key for key in workspace.keys("runs/run-1/") if key.endswith(("final_output.manifest", "report.json"))]
    assert json.loads(workspace.read_bytes(config["output_uri"] + "working/lock.json"))["execution_arn"] == "arn:second"


def test_calibration_picks_are_labeled_blind_and_join_the_calibration_set(workspace, lambda_context):
    """A round that buys calibration labels lists random picks first in its selection, flagged. People get
    them like any other item (an auto-labeled pick without its auto-label); the flags stay in a file beside
    the batch. Once labeled, the picks' human labels replace their auto-labels and join a new version of
    the calibration set, which the next round's certificate counts."""
    rows = uci_rows(100, seed=2)
    records = manifest_records(rows, labeled_fraction=0.2)
    for record, row in zip(records[20:40], rows[20:40], strict=True):  # auto-labels the input brought
        record["category"] = truth_of([row])[int(row["id"])]
        record["category-metadata"] = {"human-annotated": "no", "type": "groundtruth/text-classification"}
    workspace.put_lines("input/input.manifest", records)
    config = make_config(workspace)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    first_labels = [{"al:record-id": i, "label": records[i]["category"]} for i in range(20)]
    validation_uri = workspace.put_lines("runs/run-1/working/validation-a1.jsonl", first_labels)
    selection_uri = workspace.put_lines(
        "runs/run-1/rounds/round-001-a1/selection.jsonl",
        [
            {"al:record-id": 25, "priority": None, "calibration": True},
            {"al:record-id": 60, "priority": None, "calibration": True},
            {"al:record-id": 70, "priority": 0.9, "calibration": False},
            {"al:record-id": 30, "priority": 0.8, "calibration": False},  # auto-labeled, not a pick: never sent
        ],
    )
    state = {
        **state,
        "next": "human_batch",
        "validation_uri": validation_uri,
        "counts": {**state["counts"], "validation": 20},
        "pending_batch": {"kind": "selection", "size": 4, "selection_uri": selection_uri},
    }

    batch = prepare_batch({"config": config, "progress": state}, lambda_context)

    sent = workspace.read_lines(batch["batch_manifest_uri"])
    assert [r["al:record-id"] for r in sent] == [25, 60, 70] and batch["record_count"] == 3
    assert all("category" not in r and "category-metadata" not in r and "calibration" not in r for r in sent)
    assert workspace.read_lines(batch["calibration_uri"]) == [{"al:record-id": 25}, {"al:record-id": 60}]
    answers = answer_lines(sent, truth_of(rows), job_name=batch["job_name"])
    workspace.put_lines(batch["answer_uri"][len("s3://labeling-bucket/") :], answers)
    labeling = {"callback_answer": {"JobName": batch["job_name"], "LabeledManifestS3Uri": batch["answer_uri"]}}

    new = human_merge(config, state, batch, labeling, lambda_context)

    assert new["counts"] == {"total": 100, "human": 23, "auto": 19, "unlabeled": 58, "validation": 22}
    assert new["validation_uri"].endswith("working/validation-00001-a1.jsonl")
    grown = workspace.read_lines(new["validation_uri"])
    assert [line["al:record-id"] for line in grown] == [*range(20), 25, 60]
    assert {line["al:record-id"]: line["label"] for line in grown}[25] == truth_of(rows)[int(rows[25]["id"])]
    assert workspace.read_lines(validation_uri)[-1]["al:record-id"] == 19  # the earlier version is kept
    merged = {r["al:record-id"]: r for r in workspace.read_lines(new["working_manifest_uri"])}
    assert merged[25]["category-metadata"]["human-annotated"] == "yes"
    history = workspace.read_json(config["output_uri"] + "working/checkpoint.json")["history"]
    assert history[-1]["calibration_items"] == 2 and history[-1]["labeled"] == 3
    # pick 25 was auto-labeled, 60 was not: the report's set in force loses one auto-label of 25's class
    auto_class = records[25]["category"]
    assert history[-1]["auto_relabeled"] == [int(c == auto_class) for c in range(config["num_classes"])]


def test_an_auto_label_is_never_replaced_by_a_human_label_unless_it_is_a_calibration_pick():
    from merge_labels.logic import Merge

    from labeling_common.errors import InvalidEvent

    auto = {"category": 1, "category-metadata": {"human-annotated": "no"}}
    records = [{"al:record-id": 0, **auto}, {"al:record-id": 1, **auto}]
    human = {"human-annotated": "yes"}
    with pytest.raises(InvalidEvent, match="refusing to relabel"):
        list(Merge("category", [(0, 2, human, 1)]).apply([dict(r) for r in records]))
    merge = Merge("category", [(1, 2, human, 1)], calibration={1})
    assert [r["category"] for r in merge.apply([dict(r) for r in records])] == [1, 2]
    assert merge.calibration_labels == [(1, 2)] and merge.relabeled == {1: 1}  # its auto-label said class 1
