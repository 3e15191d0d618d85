"""The JSON Lines record contract shared by `train` and `serve` (stdlib only, so that bad input fails fast,
before the numerical libraries are imported)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SOURCE_KEY = "source"
LABEL_KEY = "label"
FOLD_KEY = "al:fold"
MAX_FOLDS = 100


@dataclass
class Example:
    """A training line: text, class index and, for cross-fitting, its fold."""

    text: str
    label: int
    fold: int | None = None


class RecordError(ValueError):
    """A bad input record; `line` is 1-based."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_fold(value: Any) -> bool:
    return is_int(value) and 0 <= value < MAX_FOLDS


def check_record(record: Any, line: int) -> tuple[str, int | None]:
    """(source, fold) of a prediction record, or RecordError naming the line. Other keys are ignored."""
    if not isinstance(record, dict):
        raise RecordError(line, f"expected a JSON object, got {type(record).__name__}")
    if SOURCE_KEY not in record:
        raise RecordError(line, f'missing "{SOURCE_KEY}"')
    text = record[SOURCE_KEY]
    if not isinstance(text, str):
        raise RecordError(line, f'"{SOURCE_KEY}" must be a string, got {type(text).__name__}')
    fold = record.get(FOLD_KEY)
    if FOLD_KEY in record and not valid_fold(fold):
        raise RecordError(line, f'"{FOLD_KEY}" must be an integer from 0 to {MAX_FOLDS - 1}, got {fold!r}')
    return text, fold


def parse_lines(lines: Iterable[str | bytes | dict]) -> list[Any]:
    """JSON values of input lines (dicts pass through). Blank lines are errors: an output line must match
    every input line, so none may be skipped."""
    records = []
    for i, line in enumerate(lines, start=1):
        if isinstance(line, dict):
            records.append(line)
            continue
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RecordError(i, f"not UTF-8: {exc}") from None
        if not isinstance(line, str):
            raise RecordError(i, f"expected a JSON Lines string, got {type(line).__name__}")
        text = line.strip()
        if i == 1:
            text = text.lstrip("\ufeff")
        if not text:
            raise RecordError(i, "empty line")
        try:
            records.append(json.loads(text))
        except ValueError as exc:
            raise RecordError(i, f"invalid JSON: {exc}") from None
    return records
