"""Manifest records in Ground Truth format: record ids, label state, label metadata, line validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import schemas
from .errors import WorkflowError
from .labels import LabelCategories

RECORD_ID_KEY = "al:record-id"
"""Namespaced key holding the working manifest's record id (not `id`, which users may own)."""

INTERNAL_KEYS = (RECORD_ID_KEY,)
LABEL_TYPE = "groundtruth/text-classification"
HUMAN, AUTO, UNLABELED = "human", "auto", "unlabeled"


def metadata_key(attribute: str) -> str:
    return f"{attribute}-metadata"


def label_state(record: dict, attribute: str) -> str:
    """A record is labeled when it carries the label attribute; auto-labeled when its metadata says so."""
    if attribute not in record:
        return UNLABELED
    metadata = record.get(metadata_key(attribute))
    if isinstance(metadata, dict) and metadata.get("human-annotated") == "no":
        return AUTO
    return HUMAN


def timestamp(moment: datetime | None = None) -> str:
    """Ground Truth's creation-date format, in UTC (the AWS sample wrote the month where minutes belong)."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def label_metadata(
    class_name: str, *, confidence: float, human: bool, job_name: str, created: datetime | None = None
) -> dict:
    return {
        "class-name": class_name,
        "confidence": round(float(confidence), 4),
        "type": LABEL_TYPE,
        "job-name": f"labeling-job/{job_name}",
        "human-annotated": "yes" if human else "no",
        "creation-date": timestamp(created),
    }


def strip_internal(record: dict) -> dict:
    return {key: value for key, value in record.items() if key not in INTERNAL_KEYS}


class LineChecker:
    """Validates manifest lines for one label attribute and label config.

    mode "input": a user's manifest line (source or source-ref; label and metadata optional; no internal keys).
    mode "answer": a labeled line coming back from humans (record id, label and human metadata required).
    """

    def __init__(self, attribute: str, categories: LabelCategories, error_cls: type[WorkflowError], mode: str):
        self.attribute = attribute
        self.categories = categories
        self.error_cls = error_cls
        self.mode = mode
        meta = metadata_key(attribute)
        base = "manifest-line.schema.json" if mode == "input" else "labeled-batch.schema.json#/$defs/answerLine"
        schema: dict[str, Any] = {
            "allOf": [{"$ref": schemas.BASE_URI + base}],
            "properties": {
                attribute: {
                    "$ref": schemas.BASE_URI + "manifest-line.schema.json#/$defs/label",
                    "maximum": len(categories) - 1,
                },
                meta: {"$ref": schemas.BASE_URI + "manifest-line.schema.json#/$defs/labelMetadata"},
            },
            "dependentRequired": {meta: [attribute]},
        }
        if mode == "answer":
            schema["required"] = [attribute, meta]
            schema["properties"][meta] = {
                "allOf": [{"$ref": schemas.BASE_URI + "manifest-line.schema.json#/$defs/labelMetadata"}],
                "properties": {"human-annotated": {"const": "yes"}},
            }
        self._validator = schemas.validator_for(schema)

    def check(self, record: dict, line_no: int, where: str) -> None:
        if self.mode == "input":
            for key in INTERNAL_KEYS:
                if key in record:
                    raise self.error_cls(
                        f"{where}: the key {key!r} is reserved for the workflow's record id", field=f"line {line_no}"
                    )
            if ("source" in record) == ("source-ref" in record):  # the schema's oneOf says this less plainly
                has = "both" if "source" in record else "neither"
                raise self.error_cls(
                    f"{where}: a line needs exactly one of 'source' (the text) or 'source-ref' (the s3:// URI of "
                    f"the text); this one has {has}",
                    field=f"line {line_no}",
                )
        found = schemas.find_error(record, self._validator)
        if found is not None:
            path, message = found
            raise self.error_cls(f"{where}: {path}: {message}", field=f"line {line_no}")
        label = record.get(self.attribute)
        class_name = record.get(metadata_key(self.attribute), {}).get("class-name")
        if label is not None and class_name is not None and class_name != self.categories.names[label]:
            raise self.error_cls(
                f"{where}: class-name {class_name!r} does not match label {label} "
                f"({self.categories.names[label]!r} in the label config; class index = position in the config)",
                field=f"line {line_no}",
            )


class Tally:
    """Counts records by label state while a manifest streams past."""

    def __init__(self, attribute: str):
        self.attribute = attribute
        self.by_state = {HUMAN: 0, AUTO: 0, UNLABELED: 0}

    def add(self, record: dict) -> str:
        state = label_state(record, self.attribute)
        self.by_state[state] += 1
        return state

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    def counts(self, validation: int) -> dict:
        return {
            "total": self.total,
            "human": self.by_state[HUMAN],
            "auto": self.by_state[AUTO],
            "unlabeled": self.by_state[UNLABELED],
            "validation": validation,
        }
