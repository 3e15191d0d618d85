"""Turn a CSV of labeled text into what the workflow needs: an input manifest (a share of it pre-labeled,
the rest unlabeled), the label category config, and the true labels kept apart for the simulated workforce
and for measuring accuracy (they never enter the input manifest).

The bundled dataset is examples/uci-news/news-50k.csv.gz (UCI News Aggregator, see its SOURCE.md); any
other CSV works with --text-column / --label-column.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

from labeling_common import schemas

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "examples" / "uci-news" / "news-50k.csv.gz"
BUNDLED_LABELS = REPO / "examples" / "uci-news" / "class_labels.json"
UCI_CODES = {"b": "Business", "e": "Entertainment", "m": "Health & Medicine", "t": "Science and Technology"}
KEY_FIELD = "item-id"
RESERVED = {"source", "source-ref", "al:record-id", KEY_FIELD}


@dataclass(frozen=True)
class Dataset:
    path: Path
    text_column: str
    label_column: str
    one_vs_rest: str | None = None  # a value of the label column: that class against all the others, binary
    class_share: float | None = None  # with one_vs_rest: that class's share of every sample (a rare class)

    @classmethod
    def bundled(cls) -> Dataset:
        return cls(BUNDLED, "title", "category")


@dataclass(frozen=True)
class Sample:
    manifest: list[dict]  # input manifest lines
    label_config: dict
    truth: dict[str, int]  # item key -> class index
    attribute: str
    people: dict[str, int] | None = None  # item key -> the label people give (truth unless label noise)

    @property
    def given(self) -> dict[str, int]:
        """The labels people give: what the pre-labels carry and the simulated workers answer."""
        return self.people if self.people is not None else self.truth

    def write(self, directory: Path) -> dict[str, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = {
            "manifest": directory / "input.manifest",
            "labels": directory / "class_labels.json",
            "answers": directory / "answers.jsonl",
        }
        with paths["manifest"].open("w", encoding="utf-8") as stream:
            for line in self.manifest:
                stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        paths["labels"].write_text(json.dumps(self.label_config, indent=2) + "\n", encoding="utf-8")
        with paths["answers"].open("w", encoding="utf-8") as stream:
            for key, label in self.given.items():
                stream.write(json.dumps({"key": key, "label": label}) + "\n")
        return paths


def positive_int(text: str) -> int:
    """argparse type for counts: a clear message instead of a traceback (or a deployment) for 0 or -5."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _open(path: Path):
    # utf-8-sig: spreadsheet programs write a byte-order mark, which would otherwise stick to the first column name
    return (
        gzip.open(path, "rt", encoding="utf-8-sig", newline="")
        if path.suffix == ".gz"
        else path.open(encoding="utf-8-sig", newline="")
    )


MAX_FIELD_CHARACTERS = 1 << 24  # a whole document in a field (the model reads what it needs of a long text)
DELIMITERS = ",\t;|"  # comma first; tab-separated files (.tsv) and spreadsheets' semicolons are common too


def read_rows(dataset: Dataset) -> list[dict]:
    """The usable rows: those with a text and a label, the label without the spaces around it (" b" and "b" are
    one class). The delimiter is the first of DELIMITERS whose header holds both columns, so no guess is made
    from the texts, whose commas and semicolons would mislead a sniffer."""
    columns = {dataset.text_column, dataset.label_column}
    rows: list[dict] = []
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARACTERS))  # the module's default is 128 KiB
    with _open(dataset.path) as stream:
        try:
            header = stream.readline()
            split = {delimiter: next(csv.reader([header], delimiter=delimiter), []) for delimiter in DELIMITERS}
            delimiter = next((d for d in DELIMITERS if columns <= set(split[d])), None)
            if delimiter is None:
                found = max(split.values(), key=len)
                raise SystemExit(f"{dataset.path}: no column(s) {sorted(columns - set(found))}; columns are {found}")
            for row in csv.DictReader(stream, fieldnames=split[delimiter], delimiter=delimiter):
                row[dataset.label_column] = (row[dataset.label_column] or "").strip()  # a fresh dict per row
                if (row[dataset.text_column] or "").strip() and row[dataset.label_column]:
                    rows.append(row)
        except UnicodeDecodeError as error:
            # the text layer decodes ahead of the rows, so no line number would be exact
            raise SystemExit(f"{dataset.path}: not UTF-8 text ({error.reason}); save it as UTF-8") from None
    return rows


def item_keys(rows: list[dict]) -> list[str] | None:
    """The items' keys, by which the simulated workers answer and accuracy is measured: the CSV's `id` column
    when every row has one of its own; else None, and items are keyed by their position among the rows (ids
    that repeat or are missing would make two items one), the `id` column kept as an ordinary field."""
    ids = [row.get("id") or "" for row in rows]
    return ids if all(ids) and len(set(ids)) == len(ids) else None


def class_names(dataset: Dataset, rows: list[dict]) -> list[str]:
    if dataset.path == BUNDLED:
        return [item["label"] for item in json.loads(BUNDLED_LABELS.read_text())["labels"]]
    return sorted({row[dataset.label_column] for row in rows})


def one_vs_rest(to_name: dict[str, str], value: str, path: Path) -> tuple[list[str], dict[str, str]]:
    """Class names and the label column's values mapped to them when one class stands against the rest
    (a binary, usually imbalanced set from any labeled CSV: the class first, "not <class>" second)."""
    if value not in to_name:
        raise SystemExit(
            f"{path}: --one-vs-rest {value!r} is not a value of the label column; values are {sorted(to_name)}"
        )
    positive = to_name[value]
    rest = f"not {positive}"
    return [positive, rest], {code: positive if code == value else rest for code in to_name}


def noisy_labels(truth: dict[str, int], num_classes: int, noise: float, seed: int) -> dict[str, int]:
    """The labels people give when a fraction `noise` of them is wrong: each item's label is, with
    probability `noise`, a class drawn uniformly among the other classes (seeded, one draw per item, so the
    pre-label and every later answer for an item agree, as a mislabeled item would)."""
    rng = random.Random(f"label-noise-{seed}")
    given = {}
    for key, label in truth.items():
        wrong = rng.random() < noise and num_classes > 1
        given[key] = rng.choice([c for c in range(num_classes) if c != label]) if wrong else label
    return given


def _choose(rows: list[dict], size: int, seed: int, dataset: Dataset, to_name: dict, positive: str) -> list[int]:
    """`size` random row indices; with `dataset.class_share`, exactly that share of them (rounded) from the
    one-vs-rest class, the rest from the others, in random order."""
    rng = random.Random(seed)
    if dataset.class_share is None:
        return rng.sample(range(len(rows)), size)
    inside = [i for i, row in enumerate(rows) if to_name[row[dataset.label_column]] == positive]
    outside = [i for i, row in enumerate(rows) if to_name[row[dataset.label_column]] != positive]
    wanted = round(size * dataset.class_share)
    if wanted > len(inside) or size - wanted > len(outside):
        raise SystemExit(
            f"{dataset.path}: {size:,} items with {wanted:,} of {positive!r} need {wanted:,} and {size - wanted:,} "
            f"rows; there are {len(inside):,} and {len(outside):,}"
        )
    chosen = rng.sample(inside, wanted) + rng.sample(outside, size - wanted)
    rng.shuffle(chosen)
    return chosen


def make_sample(
    dataset: Dataset,
    size: int,
    *,
    seed: int,
    prelabeled_fraction: float,
    attribute: str = "category",
    label_noise: float = 0.0,
) -> Sample:
    """`size` random rows; the first `prelabeled_fraction` of them (in random order) carry their label, as
    the AWS sample's 20% pre-labeled seed did. With `label_noise`, that fraction of the labels people give
    (pre-labels and workers' answers alike) is a random wrong class; the true labels stay apart."""
    if size < 2:
        raise SystemExit(f"the sample needs at least 2 items; asked for {size}")
    rows = read_rows(dataset)
    if size > len(rows):
        raise SystemExit(f"{dataset.path} has {len(rows)} usable rows; asked for {size}")
    names = class_names(dataset, rows)
    to_name = UCI_CODES if dataset.path == BUNDLED else {name: name for name in names}
    if dataset.one_vs_rest is not None:
        names, to_name = one_vs_rest(to_name, dataset.one_vs_rest, dataset.path)
    present = sorted({to_name[row[dataset.label_column]] for row in rows})
    if len(present) < 2:
        raise SystemExit(
            f"{dataset.path}: the rows of {dataset.label_column!r} hold one class ({present[0]!r}); "
            "labeling needs 2 or more"
        )
    label_config = {"document-version": "2018-11-28", "labels": [{"label": name} for name in names]}
    found = schemas.find_error(label_config, "label-category-config.schema.json")
    if found is not None:  # refused here, not by ValidateInput after a deployment
        field, message = found
        raise SystemExit(
            f"{dataset.path}: the classes of {dataset.label_column!r} make no label config: {field}: {message}"
        )
    chosen = _choose(rows, size, seed, dataset, to_name, names[0])
    labeled = round(size * prelabeled_fraction)
    keys = item_keys(rows)
    kept_apart = {dataset.text_column, dataset.label_column, *RESERVED} | ({"id"} if keys is not None else set())
    manifest, truth = [], {}
    for row_index in chosen:
        row = rows[row_index]
        key = keys[row_index] if keys is not None else str(row_index)
        label = names.index(to_name[row[dataset.label_column]])
        truth[key] = label
        line = {"source": row[dataset.text_column], KEY_FIELD: key}
        line.update({column: value for column, value in row.items() if column not in kept_apart})
        manifest.append(line)
    people = noisy_labels(truth, len(names), label_noise, seed) if label_noise else None
    for line in manifest[:labeled]:
        label = (people or truth)[line[KEY_FIELD]]
        line[attribute] = label
        line[f"{attribute}-metadata"] = {
            "class-name": names[label],
            "confidence": 1.0,
            "human-annotated": "yes",
            "type": "groundtruth/text-classification",
        }
    return Sample(manifest, label_config, truth, attribute, people)
