"""JSON Schema (Draft 2020-12) registry, loaded from local files only.

In a Lambda zip the schemas sit in this package's `schemas/` directory (copied there by the zip builder);
in the repository they are read from the top-level `schemas/` directory. `$ref`s are resolved through a
`referencing.Registry`, never over the network. Validation errors become the named workflow error the
caller asks for, with the JSON path of the most relevant failure.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .errors import WorkflowError

BASE_URI = "https://schemas.active-labeling.dev/v1/"
_PACKAGED = Path(__file__).with_name("schemas")
_REPOSITORY = Path(__file__).resolve().parents[3] / "schemas"


def schema_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _REPOSITORY


@functools.cache
def registry() -> Registry:
    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@functools.cache
def validator(ref: str) -> Draft202012Validator:
    """A validator for `ref`: a schema file name, optionally with a fragment ('x.schema.json#/$defs/y')."""
    return Draft202012Validator({"$ref": BASE_URI + ref}, registry=registry())


def validator_for(schema: dict) -> Draft202012Validator:
    """A validator for a schema built in code (e.g. for a dynamic label attribute name)."""
    return Draft202012Validator(schema, registry=registry())


def describe(error: ValidationError, root: str = "$") -> tuple[str, str]:
    """(field path, message) for a validation error, e.g. ('$.OutputConfig.S3OutputPath', "... does not match")."""
    parts = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        # point at the missing property itself, not at its parent
        parts += [name for name in error.validator_value if name not in error.instance][:1]
    path = root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return path, error.message


def find_error(instance: Any, against: str | Draft202012Validator, root: str = "$") -> tuple[str, str] | None:
    """(field path, message) of the most relevant schema violation, or None when `instance` is valid."""
    checker = validator(against) if isinstance(against, str) else against
    error = best_match(checker.iter_errors(instance))
    return None if error is None else describe(error, root)


def check(
    instance: Any, against: str | Draft202012Validator, error_cls: type[WorkflowError], *, root: str = "$"
) -> None:
    """Raise `error_cls` naming the field of the most relevant schema violation, if any."""
    found = find_error(instance, against, root)
    if found is not None:
        field, message = found
        raise error_cls(message, field=field)
