"""Bad input, table-driven: every case gets a named error that points at the field or line, and leaves the
run's working manifest (and checkpoint) exactly as it was."""

from __future__ import annotations

import json

import pytest
from bootstrap_manifest.handler import lambda_handler as bootstrap
from merge_labels.handler import lambda_handler as merge
from prepare_human_batch.handler import lambda_handler as prepare_batch
from validate_input.handler import lambda_handler as validate_input

from labeling_common.errors import WorkflowError
from tests.support import EXECUTION, answer_lines, make_config, manifest_records, request, truth_of, uci_rows

GOOD_LINE = {"source": "Fed holds rates steady", "news-id": 1}


def req(change):
    def apply(body):
        change(body)
        return body

    return apply


REQUEST_CASES = [
    ("no output path", req(lambda r: r.pop("OutputConfig")), "InvalidInput", "$.OutputConfig"),
    (
        "output path not s3",
        req(lambda r: r["OutputConfig"].update(S3OutputPath="/tmp/out/")),
        "InvalidInput",
        "$.OutputConfig.S3OutputPath",
    ),
    (
        "manifest URI not s3",
        req(lambda r: r["InputConfig"]["DataSource"]["S3DataSource"].update(ManifestS3Uri="x")),
        "InvalidInput",
        "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri",
    ),
    (
        "manifest missing",
        req(
            lambda r: r["InputConfig"]["DataSource"]["S3DataSource"].update(
                ManifestS3Uri="s3://labeling-bucket/input/nothing.manifest"
            )
        ),
        "InvalidInput",
        "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri",
    ),
    (
        "attribute reserved suffix",
        req(lambda r: r.update(LabelAttributeName="category-ref")),
        "InvalidInput",
        "$.LabelAttributeName",
    ),
    ("no label attribute", req(lambda r: r.pop("LabelAttributeName")), "InvalidInput", "$.LabelAttributeName"),
    (
        "attribute named like the text field",
        req(lambda r: r.update(LabelAttributeName="source")),
        "InvalidInput",
        "$.LabelAttributeName",
    ),
    (
        "prefix with spaces",
        req(lambda r: r.update(LabelingJobNamePrefix="my job")),
        "InvalidInput",
        "$.LabelingJobNamePrefix",
    ),
    ("unknown backend", req(lambda r: r.update(LabelingBackend="mturk")), "InvalidInput", "$.LabelingBackend"),
    (
        "ground truth without task config",
        req(lambda r: r.update(LabelingBackend="ground_truth")),
        "InvalidInput",
        "$.HumanTaskConfig",
    ),
    (
        "target accuracy 1.2",
        req(lambda r: r.update(ActiveLearningConfig={"TargetAccuracy": 1.2})),
        "InvalidInput",
        "$.ActiveLearningConfig.TargetAccuracy",
    ),
    (
        "bootstrap fraction 0",
        req(lambda r: r.update(ActiveLearningConfig={"BootstrapFraction": 0})),
        "InvalidInput",
        "$.ActiveLearningConfig.BootstrapFraction",
    ),
    (
        "unknown strategy",
        req(lambda r: r.update(ActiveLearningConfig={"QueryStrategy": "loudest"})),
        "InvalidInput",
        "$.ActiveLearningConfig.QueryStrategy",
    ),
    (
        "negative batch size",
        req(lambda r: r.update(ActiveLearningConfig={"HumanBatchSize": -5})),
        "InvalidInput",
        "$.ActiveLearningConfig.HumanBatchSize",
    ),
    (
        "foreign role",
        req(lambda r: r.update(RoleArn="arn:aws:iam::123456789012:role/Admin")),
        "InvalidInput",
        "$.RoleArn",
    ),
    ("typo at top level", req(lambda r: r.update(LabelAttribute="category")), "InvalidInput", "$"),
]

LABEL_CONFIG_CASES = [
    ("one label", {"document-version": "2018-11-28", "labels": [{"label": "only"}]}),
    ("duplicate labels", {"document-version": "2018-11-28", "labels": [{"label": "a"}, {"label": "a"}]}),
    ("wrong document version", {"document-version": "2024", "labels": [{"label": "a"}, {"label": "b"}]}),
]

MANIFEST_CASES = [  # (case, third line of the manifest, message)
    ("invalid JSON", b'{"source": "unterminated', "not valid JSON"),
    ("not an object", b'["source", "x"]', "must be a JSON object"),
    ("no source", b'{"text": "x"}', "needs exactly one of 'source' (the text) or 'source-ref'"),
    (
        "source and source-ref",
        b'{"source": "x", "source-ref": "s3://labeling-bucket/a.txt"}',
        "this one has both",
    ),
    ("NaN", b'{"source": "x", "score": NaN}', "NaN is not JSON"),
    ("number out of range", b'{"source": "x", "score": 1e999}', "the number 1e999 is out of range"),
    ("lone surrogate", b'{"source": "broken \\ud800 text"}', "lone surrogate escape"),
    ("label out of range", b'{"source": "x", "category": 4}', "4 is greater than the maximum of 3"),
    ("label as a name", b'{"source": "x", "category": "Business"}', "is not of type 'integer'"),
    ("metadata without label", b'{"source": "x", "category-metadata": {"human-annotated": "yes"}}', "dependency"),
    (
        "class-name contradicts the config",
        b'{"source": "x", "category": 0, "category-metadata": '
        b'{"human-annotated": "yes", "class-name": "Entertainment"}}',
        "does not match label 0",
    ),
    ("reserved record-id key", b'{"source": "x", "al:record-id": 5}', "reserved"),
]

ANSWER_CASES = [  # (case, mutation of the answer lines, message)
    ("label for a record not sent", lambda lines: lines[0].update({"al:record-id": 99_999}), "was not sent"),
    ("same record answered twice", lambda lines: lines.append(dict(lines[1])), "answered twice"),
    ("label outside the config", lambda lines: lines[2].update(category=9), "greater than the maximum"),
    (
        "auto-labeled by a human?",
        lambda lines: lines[0]["category-metadata"].update({"human-annotated": "no"}),
        "'yes' was expected",
    ),
    ("answer without metadata", lambda lines: lines[0].pop("category-metadata"), "required property"),
    ("record id as a string", lambda lines: lines[0].update({"al:record-id": "12"}), "is not of type 'integer'"),
]

CALLBACK_CASES = [  # (case, SendTaskSuccess output, field)
    (
        "answer for another job",
        {"JobName": "someone-else", "LabeledManifestS3Uri": "s3://labeling-bucket/a"},
        "$.labeling.callback_answer.JobName",
    ),
    ("no labeled manifest", {"JobName": "x"}, "$.labeling.callback_answer.LabeledManifestS3Uri"),
    (
        "labeled manifest not in s3",
        {"JobName": "x", "LabeledManifestS3Uri": "https://host/a"},
        "$.labeling.callback_answer.LabeledManifestS3Uri",
    ),
]


def test_the_matrix_has_at_least_25_cases():
    cases = REQUEST_CASES + LABEL_CONFIG_CASES + MANIFEST_CASES + ANSWER_CASES + CALLBACK_CASES
    assert len(cases) >= 25


def expect(error, name, field=None, message=None):
    assert isinstance(error, WorkflowError) and type(error).__name__ == name
    if field is not None:
        assert error.field == field, str(error)
    if message is not None:
        assert message in str(error)


@pytest.mark.parametrize("case,change,name,field", REQUEST_CASES, ids=[c[0] for c in REQUEST_CASES])
def test_bad_requests(workspace, lambda_context, case, change, name, field):
    workspace.put_lines("input/input.manifest", [GOOD_LINE])
    with pytest.raises(WorkflowError) as error:
        validate_input({"request": change(request(workspace)), "execution": EXECUTION}, lambda_context)
    expect(error.value, name, field)
    assert workspace.keys("runs/") == []


@pytest.mark.parametrize("case,document", LABEL_CONFIG_CASES, ids=[c[0] for c in LABEL_CONFIG_CASES])
def test_bad_label_configs(workspace, lambda_context, case, document):
    workspace.put_lines("input/input.manifest", [GOOD_LINE])
    workspace.put_json("config/class_labels.json", document)
    with pytest.raises(WorkflowError) as error:
        validate_input({"request": request(workspace), "execution": EXECUTION}, lambda_context)
    expect(error.value, "InvalidInput", "$.LabelCategoryConfigS3Uri")


@pytest.mark.parametrize("case,line,message", MANIFEST_CASES, ids=[c[0] for c in MANIFEST_CASES])
def test_bad_manifest_lines(workspace, lambda_context, case, line, message):
    body = b"\n".join([json.dumps(GOOD_LINE).encode(), json.dumps(GOOD_LINE).encode(), line]) + b"\n"
    workspace.put_bytes("input/input.manifest", body)
    with pytest.raises(WorkflowError) as error:
        bootstrap({"config": make_config(workspace), "execution": EXECUTION}, lambda_context)
    expect(error.value, "InvalidManifest", "line 3", message)
    assert workspace.keys("runs/") == ["runs/run-1/working/lock.json"]  # no working manifest, no checkpoint


@pytest.fixture
def waiting_for_answers(workspace, lambda_context):
    rows = uci_rows(80, seed=4)
    workspace.put_lines("input/input.manifest", manifest_records(rows))
    config = make_config(workspace)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    batch = prepare_batch({"config": config, "progress": state}, lambda_context)
    before = {key: workspace.read_bytes(workspace.uri(key)) for key in workspace.keys("runs/run-1/working/")}
    return workspace, config, state, batch, truth_of(rows), before


def merge_event(config, state, batch, answer):
    """MergeHumanLabels' event for a callback answer, as the loop state machine builds it."""
    return {
        "config": config,
        "progress": state,
        "source": "human",
        "batch": batch,
        "labeling": {"callback_answer": answer},
    }


def unchanged(workspace, before):
    return {key: workspace.read_bytes(workspace.uri(key)) for key in workspace.keys("runs/run-1/working/")} == before


@pytest.mark.parametrize("case,mutate,message", ANSWER_CASES, ids=[c[0] for c in ANSWER_CASES])
def test_bad_labeled_batches(waiting_for_answers, lambda_context, case, mutate, message):
    workspace, config, state, batch, truth, before = waiting_for_answers
    lines = answer_lines(workspace.read_lines(batch["batch_manifest_uri"]), truth, job_name=batch["job_name"])
    mutate(lines)
    workspace.put_lines(batch["answer_uri"][len("s3://labeling-bucket/") :], lines)
    answer = {"JobName": batch["job_name"], "LabeledManifestS3Uri": batch["answer_uri"]}
    with pytest.raises(WorkflowError) as error:
        merge(merge_event(config, state, batch, answer), lambda_context)
    expect(error.value, "InvalidLabeledBatch", message=message)
    assert error.value.field.startswith("line ")
    assert unchanged(workspace, before)


@pytest.mark.parametrize("case,answer,field", CALLBACK_CASES, ids=[c[0] for c in CALLBACK_CASES])
def test_bad_callback_answers(waiting_for_answers, lambda_context, case, answer, field):
    workspace, config, state, batch, _, before = waiting_for_answers
    with pytest.raises(WorkflowError) as error:
        merge(merge_event(config, state, batch, answer), lambda_context)
    expect(error.value, "InvalidLabeledBatch", field)
    assert unchanged(workspace, before)
