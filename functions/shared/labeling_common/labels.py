"""Label category config: class index = position in the config's `labels` list, everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import schemas
from .errors import InvalidLabelConfig

BLAZINGTEXT_PREFIX = "__label__"


@dataclass(frozen=True)
class LabelCategories:
    names: tuple[str, ...]

    @classmethod
    def from_config(cls, document: Any) -> LabelCategories:
        schemas.check(document, "label-category-config.schema.json", InvalidLabelConfig)
        names = tuple(item["label"] for item in document["labels"])
        seen: set[str] = set()
        for position, name in enumerate(names):
            if name in seen:
                raise InvalidLabelConfig(f"label {name!r} appears twice", field=f"$.labels[{position}].label")
            seen.add(name)
        return cls(names)

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self, value: Any) -> int | None:
        """Class index for a model or human answer: an index, a class name, or BlazingText's '__label__<index>'."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value if 0 <= value < len(self.names) else None
        if isinstance(value, str):
            if value.startswith(BLAZINGTEXT_PREFIX):
                suffix = value[len(BLAZINGTEXT_PREFIX) :]
                return self.index_of(int(suffix)) if suffix.isdigit() else None
            try:
                return self.names.index(value)
            except ValueError:
                return None
        return None

    def index_of_answer(self, value: Any) -> int | None:
        """Class index for a person's answer, where a CSV cell is always text: a class name always wins; a
        JSON integer is an index; a text of digits is an index only when no class is named by digits
        (with classes named "1".."4", "1" is the class named "1", never index 1)."""
        if isinstance(value, str):
            text = value.strip()
            if text in self.names:
                return self.names.index(text)
            if text.isascii() and text.isdigit() and not any(name.strip().isdigit() for name in self.names):
                return self.index_of(int(text))
            return None
        return self.index_of(value)
