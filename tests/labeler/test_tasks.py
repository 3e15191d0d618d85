"""The labeling tool library and CLI against moto S3 (Step Functions calls are stubbed: the task-token
round trip itself is tested end to end in local mode)."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from labeler import cli, tasks


def answers_for(task_setup, text, fmt="csv"):
    workspace, task, batch = task_setup
    rows = tasks.read_answer_rows(text, fmt)
    return tasks.build_answers(task, tasks.categories(workspace.s3, task), batch, rows)


def test_csv_answers_by_name_or_index_become_ground_truth_lines(task_setup):
    answers = answers_for(task_setup, "al:record-id,source,label\n3,x,Business\n8,y,2\n15,z,\n")
    assert [(a["al:record-id"], a["category"]) for a in answers] == [(3, 0), (8, 2)]  # empty label: left out
    meta = answers[1]["category-metadata"]
    assert meta["class-name"] == "Health & Medicine" and meta["human-annotated"] == "yes"
    assert meta["job-name"] == "labeling-job/news-0a1b2c3d-h0001"


@pytest.mark.parametrize(
    "text,message",
    [
        ("id,label\n3,Business\n", "must name the columns"),
        ("al:record-id,label\n99,Business\n", "line 2: record 99 is not in this task's batch"),
        ("al:record-id,label\n3,Business\n3,Business\n", "line 3: record 3 is answered twice"),
        ("al:record-id,label\n3,Sports\n", "line 2: label 'Sports' is not one of"),
        ("al:record-id,label\nthree,Business\n", "must be an integer"),
        ("al:record-id,label,confidence\n3,Business,7\n", "confidence must be a number within 0..1, got '7'"),
        ("al:record-id,label,confidence\n3,Business,nan\n", "confidence must be a number within 0..1, got 'nan'"),
        ("al:record-id,label,confidence\n3,Business,inf\n", "confidence must be a number within 0..1"),
        ("al:record-id,label\n3.9,Business\n", "line 2: al:record-id must be an integer, got '3.9'"),
        ("al:record-id,label\n3.0,Business\n", "must be an integer, got '3.0'"),
        ("al:record-id,label\n8,-1\n", "label '-1' is not one of"),
    ],
)
def test_bad_answers_are_refused_with_the_row(task_setup, text, message):
    with pytest.raises(tasks.TaskError, match=message):
        answers_for(task_setup, text)


@pytest.mark.parametrize(
    "line,message",
    [
        ('{"al:record-id": 3.9, "label": "Business"}', "must be an integer, got 3.9"),
        ('{"al:record-id": true, "label": "Business"}', "must be an integer, got True"),
        ('{"al:record-id": 3, "label": true}', "label True is not one of"),
        ('{"al:record-id": 3, "label": "Business", "confidence": NaN}', "confidence must be a number within 0..1"),
    ],
)
def test_bad_json_answers_are_refused_not_coerced(task_setup, line, message):
    with pytest.raises(tasks.TaskError, match=message):
        answers_for(task_setup, line, "jsonl")


def test_class_names_made_of_digits_are_names_never_indexes(task_setup):
    from labeling_common.labels import LabelCategories

    workspace, task, batch = task_setup
    cats = LabelCategories(("1", "2", "3", "4"))
    rows = tasks.read_answer_rows("al:record-id,label\n3,1\n8,4\n15, 2 \n", "csv")
    answers = tasks.build_answers(task, cats, batch, rows)
    assert [a["category"] for a in answers] == [0, 3, 1]  # "1" is the class named "1" (index 0); "4" is valid
    assert [a["category-metadata"]["class-name"] for a in answers] == ["1", "4", "2"]
    # a JSON integer is an index; a digit text is an index only when no class is named by digits
    assert tasks.build_answers(task, cats, batch, [(1, {"al:record-id": 3, "label": 1})])[0]["category"] == 1
    assert LabelCategories(("b", "e")).index_of_answer("1") == 1
    assert LabelCategories(("b", "e")).index_of_answer("2") is None


def test_exported_csv_cannot_run_as_a_spreadsheet_formula(task_setup):
    records = [
        {"al:record-id": 1, "source": '=HYPERLINK("http://x","click")'},
        {"al:record-id": 2, "source": "@SUM(A1)"},
        {"al:record-id": 3, "source": "-2+3"},
        {"al:record-id": 4, "source": "plain headline"},
    ]
    rows = list(__import__("csv").DictReader(tasks.export_csv(records).splitlines()))
    assert [r["source"] for r in rows] == ['\'=HYPERLINK("http://x","click")', "'@SUM(A1)", "'-2+3", "plain headline"]
    # the answers still match by record id
    assert [int(r["al:record-id"]) for r in rows] == [1, 2, 3, 4]


def test_an_empty_answer_set_is_refused_and_nothing_is_sent(task_setup):
    workspace, task, _ = task_setup
    answers = answers_for(task_setup, "al:record-id,label\n3,\n8,\n")
    assert answers == []
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn), pytest.raises(tasks.TaskError, match="no answers .* the task stays open"):
        tasks.submit(workspace.s3, sfn, task, answers)  # the stub has no response: any call would fail
    assert not [key for key in workspace.keys("runs/") if key.endswith("answers.manifest")]


def test_a_location_without_a_slash_is_that_folder_not_every_name_that_starts_alike(task_setup):
    workspace, task, _ = task_setup
    other = dict(task.document, JobName="news-0a1b2c3d-h0002")
    workspace.put_json("runs/run-10/batches/news-0a1b2c3d-h0002/task.json", other)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    found = tasks.find_tasks(workspace.s3, sfn, workspace.uri("runs/run-1"), include_answered=True)
    assert [t.job_name for t in found] == [task.job_name]


def test_json_lines_answers_including_ground_truth_lines(task_setup):
    text = '{"al:record-id": 3, "label": "Entertainment"}\n' + json.dumps(
        {
            "al:record-id": 8,
            "category": 1,
            "category-metadata": {"human-annotated": "yes", "class-name": "Entertainment"},
        }
    )
    assert [a["category"] for a in answers_for(task_setup, text, "jsonl")] == [1, 1]


def test_submit_uploads_then_sends_the_token(task_setup):
    workspace, task, _ = task_setup
    answers = answers_for(task_setup, "al:record-id,label\n3,Business\n")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    expected_output = json.dumps({"JobName": task.job_name, "LabeledManifestS3Uri": task.document["AnswerS3Uri"]})
    with Stubber(sfn) as stub:
        stub.add_response("send_task_heartbeat", {}, {"taskToken": "token-123"})  # is the task still waiting?
        stub.add_response("send_task_success", {}, {"taskToken": "token-123", "output": expected_output})
        tasks.submit(workspace.s3, sfn, task, answers)
        stub.assert_no_pending_responses()
    assert workspace.read_lines(task.document["AnswerS3Uri"]) == answers


def test_of_two_people_submitting_one_batch_exactly_one_gets_through(task_setup):
    workspace, task, _ = task_setup
    first = answers_for(task_setup, "al:record-id,label\n3,Business\n8,Business\n")
    second = answers_for(task_setup, "al:record-id,label\n3,Entertainment\n")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    output = json.dumps({"JobName": task.job_name, "LabeledManifestS3Uri": task.document["AnswerS3Uri"]})
    with Stubber(sfn) as stub:
        stub.add_response("send_task_heartbeat", {}, {"taskToken": "token-123"})
        stub.add_response("send_task_success", {}, {"taskToken": "token-123", "output": output})
        # the second submitter checked the task while it was still waiting (a race), then uploads
        stub.add_response("send_task_heartbeat", {}, {"taskToken": "token-123"})
        tasks.submit(workspace.s3, sfn, task, first)
        with pytest.raises(tasks.TaskError, match="answered by someone else a moment ago: .* nothing changed"):
            tasks.submit(workspace.s3, sfn, task, second)
        stub.assert_no_pending_responses()  # one SendTaskSuccess, for the answers that were stored
    assert workspace.read_lines(task.document["AnswerS3Uri"]) == first


def test_a_submit_whose_upload_worked_but_completion_failed_can_be_repeated(task_setup):
    workspace, task, _ = task_setup
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    output = json.dumps({"JobName": task.job_name, "LabeledManifestS3Uri": task.document["AnswerS3Uri"]})
    with Stubber(sfn) as stub:
        stub.add_response("send_task_heartbeat", {}, {"taskToken": "token-123"})
        stub.add_client_error("send_task_success", "ServiceUnavailable", http_status_code=503)
        stub.add_response("send_task_heartbeat", {}, {"taskToken": "token-123"})
        stub.add_response("send_task_success", {}, {"taskToken": "token-123", "output": output})
        with pytest.raises(tasks.TaskError, match="the answers are in .* no longer waits"):
            tasks.submit(workspace.s3, sfn, task, answers_for(task_setup, "al:record-id,label\n3,Business\n"))
        # the same answers again (new timestamps): the stored file is kept and the task completed
        tasks.submit(workspace.s3, sfn, task, answers_for(task_setup, "al:record-id,label\n3,Business\n"))
        stub.assert_no_pending_responses()


def test_pending_tasks_are_found_and_answered_ones_are_not(task_setup):
    workspace, task, _ = task_setup
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response(
            "describe_execution",
            {
                "status": "RUNNING",
                "executionArn": task.document["ExecutionArn"],
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:loop",
                "startDate": "2026-11-29T04:00:00Z",
            },
        )
        assert [t.uri for t in tasks.find_tasks(workspace.s3, sfn, workspace.uri("runs/"))] == [task.uri]
    workspace.put_bytes(task.document["AnswerS3Uri"][len("s3://labeling-bucket/") :], b"")
    with Stubber(sfn) as stub:  # answered and completed: the token takes no more heartbeats
        stub.add_client_error("send_task_heartbeat", "InvalidToken", http_status_code=400)
        assert tasks.find_tasks(workspace.s3, sfn, "s3://labeling-bucket") == []


def test_a_task_whose_answers_were_uploaded_but_never_merged_stays_listed(task_setup):
    """The upload worked, SendTaskSuccess did not: the execution still waits, so the task must stay on the
    page (and in `labeler tasks`) for the answers to be submitted again."""
    workspace, task, _ = task_setup
    workspace.put_bytes(task.document["AnswerS3Uri"][len("s3://labeling-bucket/") :], b"")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response("send_task_heartbeat", {}, {"taskToken": "token-123"})  # still waiting
        assert [t.job_name for t in tasks.find_tasks(workspace.s3, sfn, workspace.uri("runs/"))] == [task.job_name]


def test_cli_export_and_dry_run(task_setup, tmp_path, capsys):
    workspace, task, _ = task_setup
    out = tmp_path / "batch.csv"
    assert cli.main(["export", task.uri, "--out", str(out)]) == 0
    assert out.read_text().splitlines() == [
        "al:record-id,source,label",
        "3,headline 3,",
        "8,headline 8,",
        "15,headline 15,",
    ]
    out.write_text(out.read_text().replace("3,headline 3,", "3,headline 3,Business"))
    assert cli.main(["submit", task.uri, str(out), "--dry-run"]) == 0
    assert "1 answers are valid" in capsys.readouterr().out
    out.write_text("al:record-id,label\n42,Business\n")
    assert cli.main(["submit", task.uri, str(out)]) == 2
    assert "record 42 is not in this task's batch" in capsys.readouterr().err
    assert "answers.manifest" not in " ".join(workspace.keys("runs/"))  # nothing was uploaded


def test_request_generator_writes_a_valid_request(tmp_path):
    out = tmp_path / "request.json"
    code = cli.main(
        [
            "request",
            "--manifest",
            "s3://my-bucket/in/input.manifest",
            "--labels",
            "s3://my-bucket/in/class_labels.json",
            "--output",
            "s3://my-bucket/runs/one/",
            "--prefix",
            "news",
            "--backend",
            "ground_truth",
            "--region",
            "eu-west-1",
            "--workteam-arn",
            "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/team",
            "--ui-template",
            "s3://my-bucket/ui.liquid",
            "--target-accuracy",
            "0.97",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    body = json.loads(out.read_text())
    assert body["ActiveLearningConfig"] == {"TargetAccuracy": 0.97}
    assert body["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith("568282634449:function:PRE-TextMultiClass")
    from labeling_common import schemas

    assert schemas.find_error(body, "labeling-job-request.schema.json") is None


def test_request_generator_refuses_what_the_workflow_would(capsys):
    assert (
        cli.main(
            [
                "request",
                "--manifest",
                "s3://my-bucket/m",
                "--labels",
                "s3://my-bucket/l",
                "--output",
                "/local/out",
                "--prefix",
                "news",
            ]
        )
        == 2
    )
    assert "$.OutputConfig.S3OutputPath" in capsys.readouterr().err


def test_answers_to_a_task_nobody_waits_for_are_not_uploaded(task_setup):
    workspace, task, _ = task_setup
    answers = answers_for(task_setup, "al:record-id,label\n3,Business\n")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_client_error("send_task_heartbeat", service_error_code="TaskTimedOut", http_status_code=400)
        with pytest.raises(tasks.TaskError, match="TaskTimedOut"):
            tasks.submit(workspace.s3, sfn, task, answers)
    assert "answers.manifest" not in " ".join(workspace.keys("runs/"))


def test_texts_with_unicode_line_separators_stay_one_item(task_setup):
    """JSON allows U+2028, U+0085 and form feeds unescaped in strings; str.splitlines() would cut there."""
    workspace, task, _ = task_setup
    texts = ["first\u2028second", "next\u0085line", "page\x0cbreak"]
    body = "".join(
        json.dumps({"source": text, "al:record-id": i}, ensure_ascii=False) + "\n"
        for i, text in zip((3, 8, 15), texts, strict=True)
    )
    workspace.put_bytes("runs/run-1/batches/news-0a1b2c3d-h0001/input.manifest", body.encode())
    records = tasks.batch_records(workspace.s3, task)
    assert [r["source"] for r in records] == texts
    exported = tasks.export_csv(records)
    assert all(text in exported for text in texts)
    answers = '{"al:record-id": 3, "label": "Business", "note": "a\u2028b"}\r\n{"al:record-id": 8, "label": 1}\n'
    assert [a["category"] for a in answers_for(task_setup, answers, "jsonl")] == [0, 1]
