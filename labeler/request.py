"""The execution input of the ActiveLearningLoop state machine, built from a few options and validated
against schemas/labeling-job-request.schema.json before it is written — the replacement for the JSON the AWS
sample's notebook printed for users to paste into the console."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from labeling_common import schemas, settings

# Ground Truth's built-in text-classification Lambdas live in one AWS account per region.
GROUND_TRUTH_ACCOUNTS = {
    "us-east-1": "432418664414",
    "us-east-2": "266458841044",
    "us-west-2": "081040173940",
    "ca-central-1": "918755190332",
    "eu-west-1": "568282634449",
    "eu-west-2": "487402164563",
    "eu-central-1": "203001061592",
    "ap-northeast-1": "477331159723",
    "ap-northeast-2": "845288260483",
    "ap-south-1": "565803892007",
    "ap-southeast-1": "377565633583",
    "ap-southeast-2": "454466003867",
}

# option name (config key) -> the setting's schema, for every ActiveLearningConfig setting
SETTINGS = {settings.config_key(name): schema for name, schema in settings.active_learning().items()}


def option_value(option: str) -> Callable[[str], Any]:
    """The argparse type of an option: its schema's type and, for a number, its range, so that a value
    ValidateInput would refuse is refused where it is typed, before anything is written or deployed. (An enum
    is left to argparse's `choices`, which lists the allowed values.)"""
    convert = {"integer": int, "number": float}.get(SETTINGS[option].get("type"), str)  # else an enum of strings
    checker = schemas.validator_for({key: value for key, value in SETTINGS[option].items() if key != "enum"})

    def parse(text: str) -> Any:
        value = convert(text)  # a ValueError reads "invalid float value: 'x'" in argparse's message
        found = schemas.find_error(value, checker)
        if found is not None:
            raise argparse.ArgumentTypeError(found[1])
        return value

    parse.__name__ = convert.__name__
    return parse


def add_setting_options(
    parser: argparse.ArgumentParser, options: Iterable[str] | None = None, *, with_defaults: bool = False
) -> None:
    """One command-line option per ActiveLearningConfig setting (`target_accuracy` -> `--target-accuracy`),
    typed, range-checked and described by the request schema. `labeler request` takes every setting, left out
    meaning the deployment's default; local mode (`make run`, `make bench`) takes the `options` it varies, each
    defaulting to the schema's own default, as a deployment does."""
    for option in SETTINGS if options is None else options:
        schema = SETTINGS[option]
        # argparse %-formats help: a description's "95%" would break --help
        described = schema.get("description", "").replace("%", "%%")
        default = (
            f"default {schema['default']}"
            if with_defaults
            else f"deployment default if left out; built-in {schema['default']}"
        )
        parser.add_argument(
            "--" + option.replace("_", "-"),
            type=option_value(option),
            choices=schema.get("enum"),
            default=schema["default"] if with_defaults else None,
            help=f"{described} ({default})",
        )


class RequestError(ValueError):
    pass


def human_task_config(region: str, workteam_arn: str, ui_template_uri: str, title: str, workers: int) -> dict:
    account = GROUND_TRUTH_ACCOUNTS.get(region)
    if account is None:
        raise RequestError(
            f"no Ground Truth text-classification Lambdas known for {region}; "
            f"pass a full HumanTaskConfig instead (regions known: {', '.join(GROUND_TRUTH_ACCOUNTS)})"
        )
    return {
        "WorkteamArn": workteam_arn,
        "UiConfig": {"UiTemplateS3Uri": ui_template_uri},
        "PreHumanTaskLambdaArn": f"arn:aws:lambda:{region}:{account}:function:PRE-TextMultiClass",
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": f"arn:aws:lambda:{region}:{account}:function:ACS-TextMultiClass"
        },
        "TaskTitle": title,
        "TaskDescription": title,
        "NumberOfHumanWorkersPerDataObject": workers,
        "TaskTimeLimitInSeconds": 300,
        "TaskAvailabilityLifetimeInSeconds": 21600,
        "MaxConcurrentTaskCount": 1000,
    }


def build(
    *,
    manifest: str,
    label_config: str,
    output: str,
    attribute: str,
    prefix: str,
    backend: str | None = None,
    human_task: dict | None = None,
    **options: Any,
) -> dict:
    """A validated execution input; options are ActiveLearningConfig settings by config key (None: the
    deployment's default applies)."""
    request: dict = {
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest}}},
        "OutputConfig": {"S3OutputPath": output},
        "LabelAttributeName": attribute,
        "LabelCategoryConfigS3Uri": label_config,
        "LabelingJobNamePrefix": prefix,
    }
    if backend:
        request["LabelingBackend"] = backend
    if human_task:
        request["HumanTaskConfig"] = human_task
    try:
        active_learning = settings.from_options(options)
    except KeyError as error:
        raise RequestError(error.args[0]) from None
    if active_learning:
        request["ActiveLearningConfig"] = active_learning
    found = schemas.find_error(request, "labeling-job-request.schema.json")
    if found is not None:
        raise RequestError(f"{found[0]}: {found[1]}")
    return request
