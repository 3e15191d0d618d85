"""A simulated Ground Truth workforce (pure Python, no AWS): answers text-classification tasks.

Used by the embedded AWS for `sagemaker:createLabelingJob.sync` (labeling.py) and meant to be reused
by the local driver to answer callback labeling tasks the same way.

Model: the true labels live in an answers file (JSON Lines `{"key": <item key>, "label": <class index>}`),
kept OUT of the input manifest. Each item is shown to `workers_per_item` simulated workers; each answers
the true class with probability `worker_accuracy`, otherwise a class drawn uniformly among the other
classes. The label is the majority vote; a tie goes to the tied class that was voted for first.
`confidence` is the share of workers who voted for that label, rounded to 2 decimals (1.0 with one
worker - a documented choice; real Ground Truth reports its own annotation-consolidation score).
Determinism: each item's workers draw from random.Random(f"{seed}:{key}"), so an item gets the same
answers whatever the order, batch or job it comes in - the same seed reproduces a whole run.
Items whose key has no answer are not labeled (Ground Truth would count them as failed).
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Ground Truth's creation-date format in label metadata (UTC, no zone suffix).
GT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
TEXT_CLASSIFICATION_TYPE = "groundtruth/text-classification"


def key_of(value: Any) -> str:
    """Item keys are compared as strings: 12 in the manifest matches "12" in the answers file."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


@dataclass(frozen=True)
class WorkforceConfig:
    answers_file: str
    key_field: str
    worker_accuracy: float = 1.0
    workers_per_item: int = 1
    seed: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkforceConfig:
        missing = [k for k in ("answers_file", "key_field") if not data.get(k)]
        if missing:
            raise ValueError(f"workforce config needs {missing}")
        cfg = cls(
            answers_file=str(data["answers_file"]),
            key_field=str(data["key_field"]),
            worker_accuracy=float(data.get("worker_accuracy", 1.0)),
            workers_per_item=int(data.get("workers_per_item", 1)),
            seed=int(data.get("seed", 0)),
        )
        if not 0.0 <= cfg.worker_accuracy <= 1.0:
            raise ValueError("workforce worker_accuracy must be within 0..1")
        if cfg.workers_per_item < 1:
            raise ValueError("workforce workers_per_item must be >= 1")
        return cfg


def load_answers(path: str | os.PathLike) -> dict[str, int]:
    answers: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            try:
                answers[key_of(row["key"])] = int(row["label"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f'{path}:{n}: expected {{"key": ..., "label": <int>}}: {exc}') from exc
    return answers


_answers_cache: dict[str, tuple[tuple[int, int, int], dict[str, int]]] = {}
_answers_lock = threading.Lock()


def cached_answers(path: str | os.PathLike) -> dict[str, int]:
    """load_answers, cached until the file changes."""
    p = str(Path(path).resolve())
    st = os.stat(p)
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    with _answers_lock:
        hit = _answers_cache.get(p)
        if hit and hit[0] == stamp:
            return hit[1]
    answers = load_answers(p)
    with _answers_lock:
        _answers_cache[p] = (stamp, answers)
    return answers


@dataclass
class Vote:
    label: int
    confidence: float
    votes: list[int] = field(default_factory=list)


class SimulatedWorkforce:
    def __init__(
        self,
        answers: Mapping[str, int],
        *,
        key_field: str | None = None,
        worker_accuracy: float = 1.0,
        workers_per_item: int = 1,
        seed: int = 0,
    ):
        self.answers = {key_of(k): int(v) for k, v in answers.items()}
        self.key_field = key_field
        self.worker_accuracy = float(worker_accuracy)
        self.workers_per_item = int(workers_per_item)
        self.seed = int(seed)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | WorkforceConfig) -> SimulatedWorkforce:
        cfg = config if isinstance(config, WorkforceConfig) else WorkforceConfig.from_dict(config)
        return cls(
            cached_answers(cfg.answers_file),
            key_field=cfg.key_field,
            worker_accuracy=cfg.worker_accuracy,
            workers_per_item=cfg.workers_per_item,
            seed=cfg.seed,
        )

    def answer(self, key: Any, num_classes: int) -> Vote | None:
        """The consolidated answer for one item, or None when the answers file has no label for it."""
        k = key_of(key)
        truth = self.answers.get(k)
        if truth is None:
            return None
        if not 0 <= truth < num_classes:
            raise ValueError(f"answer for {k!r} is class {truth}, outside the {num_classes} label categories")
        rng = random.Random(f"{self.seed}:{k}")
        others = [c for c in range(num_classes) if c != truth]
        votes = []
        for _ in range(self.workers_per_item):
            correct = rng.random() < self.worker_accuracy
            votes.append(truth if correct or not others else rng.choice(others))
        counts: dict[int, int] = {}
        for v in votes:  # dict keeps first-vote order: the tie-break
            counts[v] = counts.get(v, 0) + 1
        best = max(counts.values())
        label = next(c for c, n in counts.items() if n == best)
        return Vote(label=label, confidence=round(best / len(votes), 2), votes=votes)

    def label_item(self, item: Mapping[str, Any], num_classes: int) -> Vote | None:
        if self.key_field is None:
            raise ValueError("this workforce has no key_field")
        if self.key_field not in item:
            return None
        return self.answer(item[self.key_field], num_classes)


def label_metadata(class_name: str, confidence: float, job_name: str, created: datetime | None = None) -> dict:
    """The `<attribute>-metadata` object Ground Truth writes for a text-classification label."""
    created = created or datetime.now(UTC)
    if created.tzinfo is None:  # naive = already UTC
        created = created.replace(tzinfo=UTC)
    return {
        "class-name": class_name,
        "confidence": confidence,
        "type": TEXT_CLASSIFICATION_TYPE,
        "job-name": f"labeling-job/{job_name}",
        "human-annotated": "yes",
        "creation-date": created.astimezone(UTC).strftime(GT_DATE_FORMAT),
    }


def label_categories(document: Mapping[str, Any]) -> list[str]:
    """Class names from a label category config {"document-version": ..., "labels": [{"label": ...}]}."""
    labels = [entry["label"] for entry in document.get("labels", [])]
    if not labels:
        raise ValueError("the label category config has no labels")
    return labels


@dataclass
class LabelingResult:
    output_lines: list[str]
    labeled: int
    failed: int  # items with no answer (or no key field): left out of the output


def label_manifest(
    lines: Iterable[str],
    workforce: SimulatedWorkforce,
    class_names: list[str],
    attribute: str,
    job_name: str,
    created: datetime | None = None,
) -> LabelingResult:
    """Label input-manifest lines like a Ground Truth text-classification job's output manifest.

    Each labeled line keeps all its keys in order and gains `<attribute>: <class index>` and
    `<attribute>-metadata: {...}`. Lines without an answer are left out and counted in `failed`.
    """
    out: list[str] = []
    labeled = failed = 0
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        vote = workforce.label_item(item, len(class_names))
        if vote is None:
            failed += 1
            continue
        item[attribute] = vote.label
        item[f"{attribute}-metadata"] = label_metadata(class_names[vote.label], vote.confidence, job_name, created)
        out.append(json.dumps(item, ensure_ascii=False))
        labeled += 1
    return LabelingResult(out, labeled, failed)
