"""Every execution-input setting comes from one place, the request schema: its defaults, enums and types
reach ValidateInput, `labeler request` and local mode unchanged."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from validate_input.logic import BUILTIN_DEFAULTS, check_defaults, normalize

from labeler import cli
from labeler import request as labeler_request
from labeling_common import schemas, settings
from labeling_common.errors import InvalidInput

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
REQUEST = {
    "manifest": "s3://bucket-1/in/input.manifest",
    "label_config": "s3://bucket-1/in/class_labels.json",
    "output": "s3://bucket-1/runs/run-1/",
    "attribute": "category",
    "prefix": "news",
}


def test_every_setting_has_a_default_that_its_own_schema_accepts():
    defaults = settings.defaults()
    assert set(defaults) == set(settings.active_learning()) | {"LabelingBackend", "LabelingTimeoutSeconds"}
    assert schemas.find_error(defaults, f"{settings.REQUEST_SCHEMA}#/$defs/workflowDefaults") is None
    active = {name: defaults[name] for name in settings.active_learning()}
    assert schemas.find_error(active, f"{settings.REQUEST_SCHEMA}#/$defs/activeLearningConfig") is None
    assert defaults == BUILTIN_DEFAULTS  # ValidateInput's built-in defaults are the schema's


def test_config_keys_follow_the_names():
    assert settings.config_key("TargetAccuracy") == "target_accuracy"
    assert settings.config_key("MaxHumanLabels") == "max_human_labels"
    assert settings.from_options({"human_batch_size": 7, "seed": None}) == {"HumanBatchSize": 7}
    with pytest.raises(KeyError, match="not active-learning settings: batch"):
        settings.from_options({"batch": 7})


def test_validate_input_fills_every_setting_from_the_schema_defaults():
    request = labeler_request.build(**REQUEST)
    config = normalize(request, {}, ROLE)
    for name, default in settings.defaults().items():
        assert config[settings.config_key(name)] == default, name
    with pytest.raises(InvalidInput) as error:
        check_defaults({"LabelingBackend": "mechanical_turk"})
    assert error.value.field == "WORKFLOW_DEFAULTS.LabelingBackend"


def test_labeler_request_takes_every_setting_by_its_config_key_and_checks_it():
    assert set(labeler_request.SETTINGS) == {settings.config_key(name) for name in settings.active_learning()}
    body = labeler_request.build(**REQUEST, target_accuracy=0.9, query_strategy="entropy", margin_threshold=None)
    assert body["ActiveLearningConfig"] == {"TargetAccuracy": 0.9, "QueryStrategy": "entropy"}
    with pytest.raises(labeler_request.RequestError, match=r"ActiveLearningConfig.TargetAccuracy"):
        labeler_request.build(**REQUEST, target_accuracy=1.5)
    with pytest.raises(labeler_request.RequestError, match="not active-learning settings: batch_size"):
        labeler_request.build(**REQUEST, batch_size=5)


def test_the_request_command_offers_every_setting_with_its_schema_type_and_choices(capsys):
    argv = ["request", "--manifest", REQUEST["manifest"], "--labels", REQUEST["label_config"]]
    argv += ["--output", REQUEST["output"], "--human-batch-size", "40", "--margin-threshold", "0.3"]
    argv += ["--query-strategy", "least_confidence", "--human-cost-per-label", "0.01"]
    assert cli.main(argv) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["ActiveLearningConfig"] == {
        "HumanBatchSize": 40,  # an integer, as the schema says
        "MarginThreshold": 0.3,
        "QueryStrategy": "least_confidence",
        "HumanCostPerLabel": 0.01,
    }
    with pytest.raises(SystemExit):  # argparse: not one of the schema's enum
        cli.main(argv[:-4] + ["--query-strategy", "smallest"])
    with pytest.raises(SystemExit) as help_exit:  # every description shows, "95%" and all
        cli.main(["request", "--help"])
    assert help_exit.value.code == 0
    assert "--max-class-miss-rate" in capsys.readouterr().out


def test_local_mode_builds_its_requests_through_labeler_request():
    from local import runner

    sample = SimpleNamespace(attribute="category")
    body = runner.request(
        sample, runner.RunOptions(name="x", human_batch_size=40), "bucket-1", "in/", "s3://bucket-1/runs/x/"
    )
    assert body["ActiveLearningConfig"]["HumanBatchSize"] == 40
    assert body["ActiveLearningConfig"]["TargetAccuracy"] == settings.defaults()["TargetAccuracy"]
    with pytest.raises(labeler_request.RequestError, match="TargetAccuracy"):
        runner.request(
            sample, runner.RunOptions(name="x", target_accuracy=2.0), "bucket-1", "in/", "s3://bucket-1/runs/x/"
        )
