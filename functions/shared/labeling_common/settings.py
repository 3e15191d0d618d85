"""The execution-input settings, read from their one source: `labeling-job-request.schema.json`.

`$defs/activeLearningSettings` names every `ActiveLearningConfig` setting with its type, range or enum and
default; `$defs/workflowDefaults` adds what only a deployment sets (the labeling backend, the time allowed for
a human batch). ValidateInput, `labeler request` and local mode take names, defaults and enums from here, so a
new setting is one schema property (plus, for a deploy-time default, one Terraform variable, which
terraform/tests/root.tftest.hcl checks against the schema).

Config keys are the settings' names in snake case (`TargetAccuracy` -> `target_accuracy`), by rule rather than
by a table to keep in step.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from .schemas import schema_dir

REQUEST_SCHEMA = "labeling-job-request.schema.json"


@functools.cache
def _defs() -> dict:
    return json.loads((schema_dir() / REQUEST_SCHEMA).read_text(encoding="utf-8"))["$defs"]


@functools.cache
def active_learning() -> dict[str, dict]:
    """ActiveLearningConfig setting name -> its schema (in schema order)."""
    return dict(_defs()["activeLearningSettings"]["properties"])


@functools.cache
def deployment_only() -> dict[str, dict]:
    """Settings only a deployment's WORKFLOW_DEFAULTS carries (LabelingBackend, LabelingTimeoutSeconds)."""
    props = _defs()["workflowDefaults"]["properties"]
    return {name: _defs()["labelingBackend"] if "$ref" in schema else schema for name, schema in props.items()}


@functools.cache
def every_setting() -> dict[str, dict]:
    """Every setting a deployment may set: the ActiveLearningConfig ones and the deployment-only ones."""
    return {**active_learning(), **deployment_only()}


def defaults() -> dict[str, Any]:
    """Built-in default of every setting a deployment may set (the schema's `default`s)."""
    return {name: schema["default"] for name, schema in every_setting().items()}


def choices(name: str) -> list[str]:
    """The allowed values of an enumerated setting (e.g. QueryStrategy)."""
    return list(every_setting()[name]["enum"])


def config_key(name: str) -> str:
    """The config (and option) key of a setting: `TargetAccuracy` -> `target_accuracy`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def from_options(options: dict[str, Any]) -> dict[str, Any]:
    """An ActiveLearningConfig from options named by config key (None = not given); unknown keys are errors."""
    names = {config_key(name): name for name in active_learning()}
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise KeyError(f"not active-learning settings: {', '.join(unknown)} (known: {', '.join(names)})")
    return {names[key]: value for key, value in options.items() if value is not None}
