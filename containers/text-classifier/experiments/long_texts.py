#!/usr/bin/env python3
"""Long texts: what the container's training costs in time, memory and model size on documents of thousands of
characters, and a CSV of such documents for `make bench ARGS='--dataset …'`.

There is no public long-text dataset on this machine (no network), so the documents are built from headlines: by
default the bundled UCI News sample's 50,000, or those of any labeled CSV (`--dataset`; the full dataset's
422,937 repeat less across documents and make larger vocabularies, the harder case for memory). Each document
joins `--headlines` random headlines (40 make ~2,300 characters, a short news article), a share `--purity` of
them from the document's class and the rest from any category. They exercise what length changes — the sentence
embedding's 256-token truncation, TF-IDF vocabularies that grow with the text, the model files, transform
payloads — more than the statistics: 40 headlines of one category (purity 1) are far easier to classify than
one real article; a low purity makes a document's class a matter of counting.

The container's `train` runs as a child process on `--documents` lines, a quarter of them with `al:fold` (5
folds, as the workflow's cross-fitting), with its default hyperparameters; printed: its wall seconds, its peak
memory (the child's maximum resident set) and the size of the model directory it wrote.

    TEXT_CLASSIFIER_EMBEDDING_MODEL=build/embedding-model \\
      .venv/bin/python containers/text-classifier/experiments/long_texts.py --documents 4000 --headlines 40 \\
      [--csv build/long-texts.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(REPO)]

from local.sample import Dataset, positive_int, read_rows  # noqa: E402

FOLDS = 5


def documents(dataset: Dataset, count: int, headlines: int, seed: int, purity: float = 1.0) -> list[tuple[str, str]]:
    """(text, category) of `count` documents of `headlines` headlines each: round(purity × headlines) of the
    document's category, the others of categories drawn at random, in random order."""
    by_category: dict[str, list[str]] = {}
    for row in read_rows(dataset):
        by_category.setdefault(row[dataset.label_column], []).append(row[dataset.text_column])
    categories = sorted(by_category)
    rng = random.Random(seed)
    out = []
    own = round(purity * headlines)
    for _ in range(count):
        category = rng.choice(categories)
        picked = rng.sample(by_category[category], own)
        picked += [rng.choice(by_category[rng.choice(categories)]) for _ in range(headlines - own)]
        rng.shuffle(picked)
        out.append((" ".join(picked), category))
    return out


def train(docs: list[tuple[str, str]], directory: Path) -> dict:
    """The container's `train` on these documents in a child process: seconds, peak MB, model MB."""
    classes = {name: index for index, name in enumerate(sorted({category for _, category in docs}))}
    channel = directory / "input" / "data" / "train"
    channel.mkdir(parents=True)
    (directory / "input" / "config").mkdir(parents=True)
    (directory / "input" / "config" / "hyperparameters.json").write_text("{}")
    with open(channel / "train.jsonl", "w", encoding="utf-8") as f:
        for i, (text, category) in enumerate(docs):
            line = {"al:record-id": i, "source": text, "label": classes[category]}
            if i % 4 == 0:
                line["al:fold"] = (i // 4) % FOLDS
            f.write(json.dumps(line) + "\n")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(HERE.parent / "train")],
        env={**os.environ, "OPT_ML_DIR": str(directory)},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"train failed:\n{result.stderr[-3000:]}")
    model = directory / "model"
    return {
        "seconds": round(seconds, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "model_mb": round(sum(p.stat().st_size for p in model.iterdir()) / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=Path, help="CSV of labeled headlines (default: the bundled UCI News sample)")
    p.add_argument("--text-column", default="title")
    p.add_argument("--label-column", default="category")
    p.add_argument("--documents", type=positive_int, default=4000)
    p.add_argument("--headlines", type=positive_int, default=40, help="headlines per document")
    p.add_argument("--purity", type=float, default=1.0, help="share of a document's headlines from its class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", type=Path, help="also write the documents here (columns title, category), and do not train")
    args = p.parse_args(argv)
    if not 0.0 <= args.purity <= 1.0:
        p.error("--purity must be within [0, 1]")
    dataset = Dataset(args.dataset, args.text_column, args.label_column) if args.dataset else Dataset.bundled()
    docs = documents(dataset, args.documents, args.headlines, args.seed, args.purity)
    characters = sorted(len(text) for text, _ in docs)
    print(f"{len(docs):,} documents of {args.headlines} headlines: median {characters[len(docs) // 2]:,} characters")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["title", "category"])
            writer.writerows(docs)
        print(f"wrote {args.csv}")
        return
    with tempfile.TemporaryDirectory() as directory:
        measured = train(docs, Path(directory))
    print("| documents | headlines each | train seconds | peak MB | model MB |\n|---|---|---|---|---|")
    print(f"| {len(docs):,} | {args.headlines} | {' | '.join(f'{value:,}' for value in measured.values())} |")


if __name__ == "__main__":
    main()
