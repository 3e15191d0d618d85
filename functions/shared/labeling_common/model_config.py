"""Deploy-time model configuration (MODEL_CONFIG environment variable) and the training/transform lines
built from working records. See schemas/model-config.schema.json for every setting."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from . import schemas
from .draws import seeded_hash
from .errors import InvalidEvent, InvalidManifest
from .manifest import RECORD_ID_KEY

FOLD_KEY = "al:fold"
TextFetcher = Callable[[str], str]


def load() -> dict:
    config = json.loads(os.environ["MODEL_CONFIG"])
    schemas.check(config, "model-config.schema.json", InvalidEvent, root="MODEL_CONFIG")
    return config


def fold_of(seed: int, record_id: int, folds: int) -> int:
    return seeded_hash(seed, "fold", record_id) % folds


def text_of(record: dict, fetch: TextFetcher) -> str:
    """The item's text: inline `source`, or the object `source-ref` points at (a missing or unreadable object
    is named with the record it belongs to)."""
    if "source" in record:
        return record["source"]
    try:
        return fetch(record["source-ref"])
    except InvalidManifest as error:
        raise InvalidManifest(str(error), field=f"record {record[RECORD_ID_KEY]} (source-ref)") from None


def model_line(record: dict, fetch: TextFetcher, **extra: object) -> dict:
    """What the model sees of a record: its id and text (user fields stay out of training and transform)."""
    return {RECORD_ID_KEY: record[RECORD_ID_KEY], "source": text_of(record, fetch), **extra}


def tags(run_id: str, round_number: int) -> list[dict]:
    return [
        {"Key": "active-labeling:run-id", "Value": run_id},
        {"Key": "active-labeling:round", "Value": str(round_number)},
    ]
