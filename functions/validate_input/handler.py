"""ValidateInput Lambda: fail fast, with the field path, before anything is written."""

from __future__ import annotations

import json
import os

from botocore.exceptions import ClientError

from labeling_common import s3io
from labeling_common.errors import InvalidInput, WorkflowError
from labeling_common.labels import LabelCategories
from labeling_common.observability import entrypoint, logger

from .logic import normalize

MANIFEST_FIELD = "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri"
LABELS_FIELD = "$.LabelCategoryConfigS3Uri"


def _readable(uri: str, field: str) -> None:
    try:
        if not s3io.exists(uri):
            raise InvalidInput(f"{uri} does not exist", field=field)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        raise InvalidInput(
            f"cannot read {uri} ({code}); the workflow can read only its own bucket", field=field
        ) from None


def _label_categories(uri: str) -> LabelCategories:
    _readable(uri, LABELS_FIELD)
    try:
        document = s3io.read_json(uri)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{uri} is not valid JSON ({error})", field=LABELS_FIELD) from None
    try:
        return LabelCategories.from_config(document)
    except WorkflowError as error:
        raise InvalidInput(f"{uri}: {error}", field=LABELS_FIELD) from None


@entrypoint("validate_input")
def lambda_handler(event: dict, context: object) -> dict:
    defaults = json.loads(os.environ.get("WORKFLOW_DEFAULTS", "{}"))
    config = normalize(
        event["request"], defaults, os.environ["SAGEMAKER_ROLE_ARN"], os.environ.get("JOB_NAME_PREFIX", "")
    )
    _readable(config["input_manifest_uri"], MANIFEST_FIELD)
    config["num_classes"] = len(_label_categories(config["label_config_uri"]))
    logger.info("request accepted", backend=config["labeling_backend"], strategy=config["query_strategy"])
    return config
