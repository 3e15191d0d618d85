import json

import pytest
from validate_input.handler import lambda_handler
from validate_input.logic import BUILTIN_DEFAULTS

from labeling_common.errors import InvalidEvent, InvalidInput
from tests.support import EXECUTION, request


@pytest.fixture
def staged(workspace):
    workspace.put_lines("input/input.manifest", [{"source": "a"}])
    return workspace


def run(event, context):
    return lambda_handler(event, context)


def test_sample_request_becomes_a_config_with_defaults(staged, lambda_context, monkeypatch):
    monkeypatch.setenv("WORKFLOW_DEFAULTS", json.dumps({"HumanBatchSize": 250, "QueryStrategy": "entropy"}))
    body = request(staged, ActiveLearningConfig={"QueryStrategy": "random", "Seed": 3})
    body["OutputConfig"]["S3OutputPath"] = staged.uri("runs/run-1")  # no trailing slash: added
    config = run({"request": body, "execution": EXECUTION}, lambda_context)
    assert config["output_uri"] == staged.uri("runs/run-1/")
    assert config["num_classes"] == 4
    assert config["human_batch_size"] == 250  # deploy-time default
    assert config["query_strategy"] == "random"  # request wins
    assert config["seed"] == 3
    assert config["target_accuracy"] == BUILTIN_DEFAULTS["TargetAccuracy"]  # built-in default
    assert config["labeling_backend"] == "callback"
    assert config["data_attributes"]["ContentClassifiers"][0] == "FreeOfPersonallyIdentifiableInformation"


def test_the_aws_sample_request_with_ground_truth_config_is_accepted(staged, lambda_context):
    body = request(
        staged,
        LabelingBackend="ground_truth",
        RoleArn="arn:aws:iam::123456789012:role/active-labeling-sagemaker",
        HumanTaskConfig={
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:ACS-TextMultiClass"
            },
            "PreHumanTaskLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:PRE-TextMultiClass",
            "MaxConcurrentTaskCount": 200,
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskAvailabilityLifetimeInSeconds": 21600,
            "TaskTimeLimitInSeconds": 300,
            "TaskDescription": "Classify news title",
            "TaskTitle": "Classify news title",
            "TaskKeywords": ["text"],
            "UiConfig": {"UiTemplateS3Uri": staged.uri("config/instructions.template")},
            "WorkteamArn": "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default",
            "PublicWorkforceTaskPrice": {"AmountInUsd": {"Dollars": 0, "Cents": 1, "TenthFractionsOfACent": 2}},
        },
    )
    assert run({"request": body, "execution": EXECUTION}, lambda_context)["labeling_backend"] == "ground_truth"


@pytest.mark.parametrize(
    "change,field",
    [
        (lambda r: r.pop("LabelAttributeName"), "$.LabelAttributeName"),
        (lambda r: r.update(LabelAttributeName="category-metadata"), "$.LabelAttributeName"),
        (lambda r: r["OutputConfig"].update(S3OutputPath="https://bucket/out/"), "$.OutputConfig.S3OutputPath"),
        (
            lambda r: r["InputConfig"]["DataSource"]["S3DataSource"].update(ManifestS3Uri="/tmp/x"),
            "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri",
        ),
        (lambda r: r.update(LabelingBackend="mturk"), "$.LabelingBackend"),
        (lambda r: r.update(LabelingBackend="ground_truth"), "$.HumanTaskConfig"),
        (lambda r: r.update(ActiveLearningConfig={"TargetAccuracy": 1.5}), "$.ActiveLearningConfig.TargetAccuracy"),
        (lambda r: r.update(ActiveLearningConfig={"QueryStratgy": "margin"}), "$.ActiveLearningConfig"),
        (lambda r: r.update(ActiveLearningConfig={"MaxClassMissRate": 0}), "$.ActiveLearningConfig.MaxClassMissRate"),
        (  # the AWS sample's fixed rule certifies nothing, so a per-class limit would be a claim nothing backs
            lambda r: r.update(ActiveLearningConfig={"AutoLabelMethod": "margin_threshold", "MaxClassMissRate": 0.1}),
            "$.ActiveLearningConfig.MaxClassMissRate",
        ),
        (lambda r: r.update(Unexpected=1), "$"),
        (lambda r: r.update(LabelingJobNamePrefix="bad_prefix!"), "$.LabelingJobNamePrefix"),
        (lambda r: r.update(RoleArn="arn:aws:iam::123456789012:role/Admin"), "$.RoleArn"),
        (
            lambda r: r["OutputConfig"].update(S3OutputPath="s3://labeling-bucket/input/"),
            "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri",
        ),
    ],
)
def test_bad_requests_fail_fast_with_the_field(staged, lambda_context, change, field):
    body = request(staged)
    change(body)
    with pytest.raises(InvalidInput) as error:
        run({"request": body, "execution": EXECUTION}, lambda_context)
    assert error.value.field == field
    assert staged.keys("runs/") == []


def test_missing_manifest_and_bad_label_config_are_named(workspace, lambda_context):
    with pytest.raises(InvalidInput) as error:
        run({"request": request(workspace), "execution": EXECUTION}, lambda_context)
    assert error.value.field == "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri"
    assert "does not exist" in str(error.value)

    workspace.put_lines("input/input.manifest", [{"source": "a"}])
    workspace.put_json(
        "config/class_labels.json", {"document-version": "2018-11-28", "labels": [{"label": "only one"}]}
    )
    with pytest.raises(InvalidInput) as error:
        run({"request": request(workspace), "execution": EXECUTION}, lambda_context)
    assert error.value.field == "$.LabelCategoryConfigS3Uri"


def test_a_bucket_the_workflow_cannot_read_is_an_input_error(staged, lambda_context):
    body = request(staged)
    body["LabelCategoryConfigS3Uri"] = "s3://someone-elses-bucket/labels.json"
    with pytest.raises(InvalidInput) as error:
        run({"request": body, "execution": EXECUTION}, lambda_context)
    assert error.value.field == "$.LabelCategoryConfigS3Uri"


def test_bad_deploy_time_defaults_are_reported_as_such(staged, lambda_context, monkeypatch):
    monkeypatch.setenv("WORKFLOW_DEFAULTS", json.dumps({"BootstrapFraction": 0}))
    with pytest.raises(InvalidInput) as error:
        run({"request": request(staged), "execution": EXECUTION}, lambda_context)
    assert error.value.field == "WORKFLOW_DEFAULTS.BootstrapFraction"


def test_an_event_that_breaks_the_contract_is_an_invalid_event(staged, lambda_context):
    with pytest.raises(InvalidEvent):
        run({"request": request(staged)}, lambda_context)


def test_job_names_carry_the_deployment_prefix_so_iam_can_scope_them(staged, lambda_context, monkeypatch):
    monkeypatch.setenv("JOB_NAME_PREFIX", "al")
    config = run({"request": request(staged), "execution": EXECUTION}, lambda_context)
    assert config["job_name_prefix"] == "al-news"
