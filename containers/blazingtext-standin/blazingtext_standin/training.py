"""`train`: BlazingText supervised mode, run by fastText (the library BlazingText's text classifier extends).

Input as the workflow sends it to BlazingText: Pipe-mode channels `train` and (optionally) `validation`, each an
augmented manifest streamed as RecordIO, two records per item (the text, then the label). Output as BlazingText
writes it: /opt/ml/model/model.bin, a fastText model whose labels are `__label__<label>`.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import paths, recordio

LOG = logging.getLogger("blazingtext_standin.train")
LABEL_PREFIX = "__label__"


class AlgorithmError(ValueError):
    """What BlazingText would refuse: bad hyperparameters, a channel it cannot read, no data."""


@dataclass(frozen=True)
class Hyperparameters:
    """Supervised-mode hyperparameters, BlazingText's names and defaults."""

    epochs: int = 5
    learning_rate: float = 0.05
    min_count: int = 5
    vector_dim: int = 100
    word_ngrams: int = 2
    buckets: int = 2_000_000
    early_stopping: bool = False
    patience: int = 4
    min_epochs: int = 5

    @classmethod
    def parse(cls, raw: dict[str, str]) -> Hyperparameters:
        mode = raw.get("mode")
        if mode != "supervised":
            raise AlgorithmError(f"hyperparameter mode must be 'supervised' (the text classifier), got {mode!r}")
        known = {name for name in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known - {"mode"})
        if unknown:
            raise AlgorithmError(f"unknown hyperparameters for supervised mode: {', '.join(unknown)}")
        values: dict[str, object] = {}
        for name, text in raw.items():
            if name == "mode":
                continue
            kind = cls.__dataclass_fields__[name].type
            try:
                if kind == "bool":
                    if str(text) not in ("True", "False", "true", "false"):
                        raise ValueError
                    values[name] = str(text).lower() == "true"
                elif kind == "float":
                    values[name] = float(text)
                else:
                    values[name] = int(text)
            except ValueError:
                raise AlgorithmError(f"hyperparameter {name} must be a {kind}, got {text!r}") from None
        params = cls(**values)
        for name in ("epochs", "vector_dim", "word_ngrams", "buckets", "patience", "min_epochs"):
            if getattr(params, name) < 1:
                raise AlgorithmError(f"hyperparameter {name} must be a positive integer")
        if params.learning_rate <= 0 or params.min_count < 0:
            raise AlgorithmError("learning_rate must be positive and min_count non-negative")
        return params

    def fasttext_arguments(self, epochs: int) -> dict:
        """fastText's settings for a run of `epochs` epochs (one thread, a fixed seed).

        fastText decays the learning rate linearly to zero over a run; BlazingText's schedule spans `epochs`.
        A run stopped early (after e epochs of `epochs`) has then taken steps of learning_rate · (1 - e / 2
        epochs) on average: a run of e epochs starting at learning_rate · (2 - e / epochs) takes the same
        (e = epochs: exactly BlazingText's run)."""
        return {
            "lr": self.learning_rate * (2.0 - epochs / self.epochs),
            "dim": self.vector_dim,
            "epoch": epochs,
            "minCount": self.min_count,
            "wordNgrams": self.word_ngrams,
            "bucket": self.buckets,
            "loss": "softmax",
            "thread": 1,
            "seed": 0,
            "verbose": 0,
        }


def one_line(text: str) -> str:
    """fastText reads one example per line and splits on whitespace, as BlazingText does."""
    return " ".join(text.split())


def examples(channel_file: Path) -> Iterator[tuple[str, str]]:
    """(label, text) of each item a channel streams; a label is the JSON of the manifest's value (1 or "x")."""
    with open(channel_file, "rb") as stream:
        for text, label in recordio.attribute_tuples(stream, 2):
            label_text = label.decode("utf-8")
            try:
                value = json.loads(label_text)
            except ValueError:
                value = label_text  # a string label streams as its raw text
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, (int, str)) or isinstance(value, bool) or " " in str(value):
                raise AlgorithmError(f"{channel_file.name}: a label must be one integer or word, got {label_text!r}")
            yield str(value), one_line(text.decode("utf-8"))


def write_fasttext_file(items: list[tuple[str, str]], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for label, text in items:
            out.write(f"{LABEL_PREFIX}{label} {text}\n")


def accuracy(model, items: list[tuple[str, str]]) -> float:  # noqa: ANN001 - a fasttext model
    labels, _ = model.predict([text for _, text in items], k=1)
    right = sum(predicted[0] == f"{LABEL_PREFIX}{label}" for predicted, (label, _) in zip(labels, items, strict=True))
    return right / len(items)


NAN_RETRIES = 5


class Diverged(RuntimeError):
    """fastText stopped every attempt at a run with "Encountered NaN"."""


def train_supervised(train_file: Path, arguments: dict):  # noqa: ANN201 - a fasttext model
    """fastText's Python build (fasttext-numpy2 0.10.4) now and then stops a run with "Encountered NaN" on
    small inputs, and two runs with one thread and one seed do not always end with the same weights: it is not
    reproducible, as BlazingText (Hogwild updates) is not. Whether a run stops depends on the process, not only
    on the arguments (the same run stops in one process and not in another), so a run that stopped on NaN is
    started again; Diverged if every attempt stopped."""
    import fasttext

    for attempt in range(1, NAN_RETRIES + 1):
        try:
            return fasttext.train_supervised(input=str(train_file), **arguments)
        except RuntimeError as error:
            if "NaN" not in str(error):
                raise
            LOG.warning("fastText: %s (attempt %d of %d)", error, attempt, NAN_RETRIES)
    raise Diverged(f"fastText stopped on NaN in all {NAN_RETRIES} attempts")


def fit(params: Hyperparameters, train_file: Path, validation: list[tuple[str, str]]):  # noqa: ANN201
    """The model BlazingText would keep. Without early stopping: `epochs` epochs. With it: fastText cannot pause
    a run to evaluate it, so each epoch count e = 1, 2, … is trained afresh (with the step sizes BlazingText's
    schedule would have taken by then, see `fasttext_arguments`) and scored on the validation channel;
    training stops once `patience` epochs after `min_epochs` bring no better validation accuracy, and the best
    model is kept. An epoch count fastText cannot train (Diverged) counts as one that brought nothing better:
    BlazingText's own run would have had that epoch, so stopping the job for it would be the stand-in's failure."""
    if not params.early_stopping:
        return train_supervised(train_file, params.fasttext_arguments(params.epochs))
    if not validation:
        raise AlgorithmError("early_stopping needs a validation channel")
    best, best_accuracy, since_best = None, -1.0, 0
    for epochs in range(1, params.epochs + 1):
        try:
            model = train_supervised(train_file, params.fasttext_arguments(epochs))
        except Diverged as error:
            model, score = None, None
            LOG.warning("epochs=%d skipped: %s", epochs, error)
        else:
            score = accuracy(model, validation)
            LOG.info("epochs=%d validation accuracy=%.4f", epochs, score)
        if score is not None and score > best_accuracy:
            best, best_accuracy, since_best = model, score, 0
        else:
            since_best += 1
            if epochs >= params.min_epochs and since_best >= params.patience:
                break
    if best is None:
        raise Diverged(f"fastText stopped on NaN at every epoch count up to {epochs}")
    print(f"#validation_accuracy: {best_accuracy:.4f}", flush=True)
    return best


def run() -> None:
    raw = json.loads(paths.hyperparameters_file().read_text(encoding="utf-8"))
    params = Hyperparameters.parse({str(k): str(v) for k, v in raw.items()})
    channels = json.loads(paths.input_data_config_file().read_text(encoding="utf-8"))
    if "train" not in channels:
        raise AlgorithmError("the train channel is required")
    for name, config in channels.items():
        if name not in ("train", "validation"):
            raise AlgorithmError(f"unknown channel {name!r}: supervised mode reads train and validation")
        if config.get("TrainingInputMode") != "Pipe" or config.get("RecordWrapperType") != "RecordIO":
            raise AlgorithmError(f"channel {name}: this stand-in reads augmented manifests in Pipe mode (RecordIO)")
    train = list(examples(paths.pipe(paths.data_dir(), "train")))
    if not train:
        raise AlgorithmError("the train channel is empty")
    validation = list(examples(paths.pipe(paths.data_dir(), "validation"))) if "validation" in channels else []
    with tempfile.TemporaryDirectory() as scratch:
        train_file = Path(scratch) / "train.txt"
        write_fasttext_file(train, train_file)
        model = fit(params, train_file, validation)
    paths.model_dir().mkdir(parents=True, exist_ok=True)
    model.save_model(str(paths.model_dir() / "model.bin"))
    LOG.info("trained on %d items (%d validation), %d labels", len(train), len(validation), len(model.labels))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run()
    # RuntimeError: what fastText raises (e.g. a file it cannot read), and Diverged
    except (AlgorithmError, recordio.RecordIOError, OSError, ValueError, RuntimeError) as error:
        message = f"{type(error).__name__}: {error}"
        LOG.error(message)
        paths.output_dir().mkdir(parents=True, exist_ok=True)
        paths.failure_file().write_text(message, encoding="utf-8")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
