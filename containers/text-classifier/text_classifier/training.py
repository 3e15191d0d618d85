"""`train`: SageMaker training entry point.

Reads $OPT_ML_DIR/input/config/hyperparameters.json and the File-mode JSON Lines channels `train` (required)
and `validation` (optional), trains the full model and, when training lines carry `al:fold`, one fold model
per fold, writes $OPT_ML_DIR/model/ and prints metric lines (`train:accuracy=0.93`). On any error it
writes a one-paragraph reason to $OPT_ML_DIR/output/failure and exits non-zero.
"""

from __future__ import annotations

import gzip
import json
import logging
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, paths
from .contract import FOLD_KEY, LABEL_KEY, MAX_FOLDS, SOURCE_KEY, Example, is_int, valid_fold
from .params import MAX_CLASSES, HyperparameterError, Params, parse

if TYPE_CHECKING:
    from .model import Bundle

# The model module (numpy, scipy, scikit-learn) is imported once the input has been read and checked, so
# that bad input fails in a fraction of a second.

LOG = logging.getLogger("text_classifier.train")
FAILURE_LIMIT = 1000  # SageMaker keeps the first 1024 characters of the failure file as FailureReason


class TrainingError(Exception):
    """An error in the job's input (hyperparameters, channels, lines): reported as is."""


# In script mode (the SageMaker framework images) hyperparameters.json also holds the toolkit's own settings.
TOOLKIT_PREFIX = "sagemaker_"


def read_hyperparameters(path: Path, *, script_mode: bool = False) -> Params:
    if not path.exists():
        LOG.info("no %s: default hyperparameters", path)
        return parse({})
    try:
        raw = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise TrainingError(f"{path} is not valid JSON: {exc}") from None
    if script_mode and isinstance(raw, dict):
        raw = {key: value for key, value in raw.items() if not str(key).startswith(TOOLKIT_PREFIX)}
    try:
        return parse(raw)
    except HyperparameterError as exc:
        raise TrainingError(f"invalid hyperparameters: {exc}") from None


def channel_files(directory: Path) -> list[Path]:
    """Every regular file under the channel directory, recursively, sorted; hidden files are skipped."""
    files = [
        p
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    ]
    return sorted(files)


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # utf-8-sig: a byte-order mark is tolerated


def parse_example(line: str, where: str, *, allow_fold: bool) -> Example:
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise TrainingError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(record, dict):
        raise TrainingError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.get(SOURCE_KEY)
    if not isinstance(text, str):
        what = "missing" if SOURCE_KEY not in record else f"of type {type(text).__name__}, not a string"
        raise TrainingError(f'{where}: "{SOURCE_KEY}" is {what}')
    label = record.get(LABEL_KEY)
    if not is_int(label) or label < 0:
        what = "missing" if LABEL_KEY not in record else repr(label)
        raise TrainingError(f'{where}: "{LABEL_KEY}" must be a class index (an integer >= 0), got {what}')
    fold = None
    if FOLD_KEY in record:
        fold = record[FOLD_KEY]
        if not valid_fold(fold):
            raise TrainingError(f'{where}: "{FOLD_KEY}" must be an integer from 0 to {MAX_FOLDS - 1}, got {fold!r}')
        if not allow_fold:
            fold = None  # a fold only means something on training lines
    return Example(text=text, label=label, fold=fold)


def read_channel(name: str, *, required: bool) -> list[Example] | None:
    directory = paths.channel_dir(name)
    if not directory.is_dir():
        if required:
            raise TrainingError(
                f"no '{name}' channel: {directory} does not exist. This container reads File-mode JSON Lines "
                f"channels (S3Prefix, InputMode File) named 'train' and optionally 'validation'"
            )
        return None
    files = channel_files(directory)
    if required and not files:
        raise TrainingError(f"the '{name}' channel ({directory}) has no files")
    examples = []
    for path in files:
        rel = path.relative_to(directory)
        try:
            with _open_text(path) as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    examples.append(parse_example(line, f"{name}/{rel} line {number}", allow_fold=name == "train"))
        except UnicodeDecodeError as exc:
            raise TrainingError(f"{name}/{rel} is not UTF-8 text: {exc}") from None
        except (OSError, EOFError) as exc:
            raise TrainingError(f"cannot read {name}/{rel}: {exc}") from None
    LOG.info("channel %s: %d lines from %d files", name, len(examples), len(files))
    return examples


def resolve_num_classes(params: Params, train: list[Example], validation: list[Example] | None) -> int:
    seen = max(e.label for e in train) + 1
    if params.num_classes is None:
        if seen > MAX_CLASSES:
            raise TrainingError(f"the train channel has label {seen - 1}: more than {MAX_CLASSES} classes")
        return seen
    if seen > params.num_classes:
        raise TrainingError(
            f"the train channel has label {seen - 1} but num_classes is {params.num_classes} "
            f"(labels are class indices 0..num_classes-1)"
        )
    bad = [e.label for e in validation or [] if e.label >= params.num_classes]
    if bad:
        raise TrainingError(
            f"the validation channel has label {max(bad)} but num_classes is {params.num_classes} "
            f"(labels are class indices 0..num_classes-1)"
        )
    return params.num_classes


def accuracy(bundle: Bundle, examples: list[Example], *, out_of_fold: bool = False) -> float:
    texts = [e.text for e in examples]
    folds = [e.fold for e in examples] if out_of_fold else None
    predicted = bundle.predict_proba(texts, folds).argmax(axis=1)
    return sum(int(p) == e.label for p, e in zip(predicted, examples, strict=True)) / len(examples)


def run(*, script_mode: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    params = read_hyperparameters(paths.hyperparameters_file(), script_mode=script_mode)
    LOG.info("hyperparameters: %s", json.dumps(params.to_json(), sort_keys=True))
    train = read_channel("train", required=True)
    validation = read_channel("validation", required=False)
    if not train:
        raise TrainingError("the 'train' channel has no lines")
    num_classes = resolve_num_classes(params, train, validation)
    counts = Counter(e.label for e in train)
    LOG.info("classes: %d; train lines per class: %s", num_classes, dict(sorted(counts.items())))
    n_folded = sum(e.fold is not None for e in train)
    if n_folded == len(train) and len({e.fold for e in train}) == 1:
        LOG.warning(
            'every training line has "%s" %s: fold model %s has nothing to learn from and predicts uniform '
            "probabilities (the workflow then certifies none of the items it scores)",
            FOLD_KEY,
            train[0].fold,
            train[0].fold,
        )
    from .embedding import remember_in_process
    from .model import save, train_bundle

    remember_in_process()  # the metrics below predict the training lines again
    bundle = train_bundle(train, params, num_classes)
    fit_seconds = time.perf_counter() - started
    LOG.info("trained the full model and %d fold models in %.2f s", len(bundle.folds), fit_seconds)

    metrics: dict[str, float] = {"train:accuracy": accuracy(bundle, train)}
    if n_folded:
        metrics["cross_fit:accuracy"] = accuracy(bundle, [e for e in train if e.fold is not None], out_of_fold=True)
    if validation:
        unseen = sum(e.label >= num_classes for e in validation)
        if unseen:
            LOG.warning(
                "%d validation lines have a class the train channel does not (counted as errors); "
                "set the num_classes hyperparameter",
                unseen,
            )
        metrics["validation:accuracy"] = accuracy(bundle, validation)
    for name, value in metrics.items():
        print(f"{name}={value:.6f}", flush=True)

    save(
        bundle,
        paths.model_dir(),
        extra={
            "container_version": __version__,
            "train_lines": len(train),
            "cross_fit_lines": n_folded,
            "validation_lines": len(validation or []),
            "train_lines_per_class": {str(k): v for k, v in sorted(counts.items())},
            "metrics": metrics,
        },
    )
    LOG.info("model written to %s (%.2f s in all)", paths.model_dir(), time.perf_counter() - started)
    return metrics


def _write_failure(message: str) -> None:
    message = " ".join(message.split())
    if len(message) > FAILURE_LIMIT:
        message = message[: FAILURE_LIMIT - 3] + "..."
    try:
        paths.output_dir().mkdir(parents=True, exist_ok=True)
        paths.failure_file().write_text(message + "\n", encoding="utf-8")
    except OSError as exc:
        LOG.error("cannot write the failure file %s: %s", paths.failure_file(), exc)


def main(*, script_mode: bool = False, after: Callable[[], None] | None = None) -> int:
    """Arguments are ignored: SageMaker runs the image with the single argument `train` (in script mode, the
    toolkit passes the hyperparameters as arguments too; they are read from the same file). `after` runs once
    the model is written; its errors fail the job like training's."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        run(script_mode=script_mode)
        if after is not None:
            after()
    except TrainingError as exc:
        LOG.error("training failed: %s", exc)
        _write_failure(f"Invalid training input: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - whatever happened must reach the failure file
        LOG.error("training failed:\n%s", traceback.format_exc())
        _write_failure(f"Unexpected error while training: {type(exc).__name__}: {exc}")
        return 2
    return 0
