"""Hyperparameters: defaults, parsing and validation.

SageMaker passes every hyperparameter as a string (`{"nb_alpha": "0.1"}`); plain JSON numbers and booleans
are accepted too, for hand-written local files. Unknown names are an error (a typo must not silently train
the default model), except names that SageMaker tooling injects on its own: those starting with `_`
(e.g. `_tuning_objective_metric` from hyperparameter tuning) or `sagemaker_`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CLASSIFIERS = ("complement_nb", "logistic_regression")
SENTENCE_EMBEDDINGS = ("all-minilm-l6-v2", "none")
MAX_CLASSES = 10_000
IGNORED_PREFIXES = ("_", "sagemaker_")


class HyperparameterError(ValueError):
    """A hyperparameter is unknown or has an invalid value."""


@dataclass(frozen=True)
class Params:
    num_classes: int | None = None
    """Number of classes; default: the largest label in the train channel + 1."""
    random_state: int = 0
    """Seed of every random choice (the default classifier is deterministic anyway)."""
    classifier: str = "complement_nb"
    """`complement_nb` (default, best measured) or `logistic_regression` (the baseline)."""
    nb_alpha: float = 0.1
    """Additive smoothing of complement naive Bayes."""
    C: float = 10.0
    """Inverse regularisation strength of logistic regression."""
    word_ngram_max: int = 2
    """Word n-grams 1..word_ngram_max (0: no word features)."""
    char_ngram_min: int = 2
    """Smallest character n-gram (within word boundaries)."""
    char_ngram_max: int = 5
    """Largest character n-gram (0: no character features)."""
    lowercase: bool = True
    """Lowercase the text before extracting features."""
    sentence_embedding: str = "all-minilm-l6-v2"
    """`all-minilm-l6-v2` (default): a second expert, logistic regression on the text's all-MiniLM-L6-v2
    sentence embedding, multiplied with the TF-IDF classifier's probabilities (a product of experts); `none`:
    the TF-IDF classifier alone (no torch needed)."""
    embedding_C: float = 4.0
    """Inverse regularisation strength of the logistic regression on sentence embeddings."""
    neighbours: int = 10
    """With a sentence embedding, a third expert: the labels of the text's `neighbours` nearest training texts
    in the embedding space (cosine), a vote smoothed by half a count for each class the training lines hold;
    0: no such expert."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"expected an integer, got {value!r}") from None
            if number.is_integer():
                return int(number)
    raise ValueError(f"expected an integer, got {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
    raise ValueError(f"expected true or false, got {value!r}")


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")

    return parse


def _in_range(parse: Callable[[Any], Any], low: float, high: float, *, low_open: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        number = parse(value)
        if number < low or (low_open and number == low) or number > high:
            bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
            raise ValueError(f"must be {bound} and at most {high:g}, got {number!r}")
        return number

    return check


PARSERS: dict[str, Callable[[Any], Any]] = {
    "num_classes": _in_range(_int, 2, MAX_CLASSES),
    "random_state": _in_range(_int, 0, 2**32 - 1),
    "classifier": _choice(*CLASSIFIERS),
    "nb_alpha": _in_range(_float, 0.0, 1000.0, low_open=True),
    "C": _in_range(_float, 0.0, 1e6, low_open=True),
    "word_ngram_max": _in_range(_int, 0, 4),
    "char_ngram_min": _in_range(_int, 1, 10),
    "char_ngram_max": _in_range(_int, 0, 10),
    "lowercase": _bool,
    "sentence_embedding": _choice(*SENTENCE_EMBEDDINGS),
    "embedding_C": _in_range(_float, 0.0, 1e6, low_open=True),
    "neighbours": _in_range(_int, 0, 1000),
}
assert set(PARSERS) == {f.name for f in dataclasses.fields(Params)}


def parse(raw: Mapping[str, Any] | None) -> Params:
    """Validated Params from the hyperparameters dict; every error names the hyperparameter."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise HyperparameterError(f"hyperparameters must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(k for k in raw if k not in PARSERS and not str(k).startswith(IGNORED_PREFIXES))
    if unknown:
        raise HyperparameterError(
            f"unknown hyperparameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(PARSERS))}"
        )
    values: dict[str, Any] = {}
    for name, parser in PARSERS.items():
        if name in raw:
            try:
                values[name] = parser(raw[name])
            except ValueError as exc:
                raise HyperparameterError(f"hyperparameter {name!r}: {exc}") from None
    params = Params(**values)
    if params.word_ngram_max == 0 and params.char_ngram_max == 0:
        raise HyperparameterError("word_ngram_max and char_ngram_max are both 0: the model would have no features")
    if params.char_ngram_max and params.char_ngram_max < params.char_ngram_min:
        raise HyperparameterError(
            f"char_ngram_max ({params.char_ngram_max}) is smaller than char_ngram_min ({params.char_ngram_min})"
        )
    return params
