"""SelectAndAutoLabel's algorithm as a pure pipeline: no S3, no boto3. The handler reads the inputs, feeds
the transform output through it twice and writes what it returns.

1. `check_output` (pass 1): every line valid, every input record exactly once, pool and validation counts as
   PrepareInference wrote them; the validation items' predictions are kept (a small set).
2. The threshold, from the cumulative calibration record (`logic.choose_threshold`).
3. `split_pool` (pass 2): an auto-label for each pool item at or above the threshold, handed to a writer as
   it comes; every other pool item is offered to the query strategy's bounded heap.
4. `selection`, `calibration` and `summary`: the next human batch (with the strategy's final choice, which
   may read texts), each validation item's line for the next round, and the round's record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from labeling_common import progress
from labeling_common.errors import InvalidInferenceOutput
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY, label_metadata, metadata_key

from .logic import Prediction, Threshold, TopK, calibration_state, choose_threshold, passes, summary
from .strategies import strategy


@dataclass
class RoundSelection:
    config: dict
    round_number: int
    job_name: str  # the round's training job: the auto-labels' metadata names it
    categories: LabelCategories
    validation: dict[int, int]  # validation record id -> its human label
    previous: dict[int, dict]  # the last committed round's calibration record, by record id
    batch_size: int  # the next human batch, within the human-label budget
    created: datetime
    validation_predictions: dict[int, Prediction] = field(default_factory=dict)
    pool_count: int = 0
    auto_per_class: list[int] = field(default_factory=list)
    threshold: Threshold | None = None
    remaining_before_round: int = 0  # validation items no earlier round virtually auto-labeled

    @classmethod
    def start(cls, event: dict, categories: LabelCategories, validation: dict, previous: Iterable[dict]):
        """The round's selection for a SelectAndAutoLabel event, with what the handler read from S3."""
        config, state, training = event["config"], event["progress"], event["training"]
        return cls(
            config,
            round_number=training["round"],
            job_name=training["job_name"],
            categories=categories,
            validation=validation,
            previous={line[RECORD_ID_KEY]: line for line in previous},
            batch_size=int(min(config["human_batch_size"], progress.human_budget_left(config, state["counts"]))),
            created=datetime.now(UTC),
        )

    def __post_init__(self) -> None:
        self.query = strategy(self.config["query_strategy"])
        self.candidates = TopK(self.batch_size * self.query.candidates_per_slot)
        self.auto_per_class = [0] * len(self.categories)

    # --- pass 1 -----------------------------------------------------------------------------------------

    def check_output(self, predictions: Iterable[Prediction], total: int, expected: dict) -> Threshold:
        """Coverage and counts of the transform output; returns the round's threshold."""
        seen = bytearray(total)
        for prediction in predictions:
            record_id = prediction.record_id
            if record_id >= total or seen[record_id]:
                raise InvalidInferenceOutput(
                    f"record id {record_id} is unknown or appears twice in the transform output"
                )
            seen[record_id] = 1
            if record_id in self.validation:
                self.validation_predictions[record_id] = prediction
            else:
                self.pool_count += 1
        found = (self.pool_count, len(self.validation_predictions))
        if found != (expected["pool_count"], expected["validation_count"]):
            raise InvalidInferenceOutput(
                f"transform output holds {found[0]} pool and {found[1]} validation records, "
                f"expected {expected['pool_count']} and {expected['validation_count']}"
            )
        prior = [line for line in self.previous.values() if line["auto_round"] is not None]
        scored = [
            (p.score, p.predicted == self.validation[rid])
            for rid, p in self.validation_predictions.items()
            if self.previous.get(rid, {}).get("auto_round") is None
        ]
        self.remaining_before_round = len(scored)
        self.threshold = choose_threshold(self.config, scored, len(prior), sum(line["correct"] for line in prior))
        return self.threshold

    # --- pass 2 -----------------------------------------------------------------------------------------

    def split_pool(self, predictions: Iterable[Prediction], write_auto_label: Callable[[dict], None]) -> None:
        attribute = self.config["label_attribute"]
        meta_key = metadata_key(attribute)
        for prediction in predictions:
            if prediction.record_id in self.validation:
                continue
            if passes(prediction.score, self.threshold, self.config["auto_label_method"]):
                metadata = label_metadata(
                    self.categories.names[prediction.predicted],
                    confidence=prediction.confidence,
                    human=False,
                    job_name=self.job_name,
                    created=self.created,
                )
                write_auto_label(
                    {RECORD_ID_KEY: prediction.record_id, attribute: prediction.predicted, meta_key: metadata}
                )
                self.auto_per_class[prediction.predicted] += 1
            else:
                value = self.query.priority(prediction, self.config["seed"], self.round_number)
                self.candidates.offer(value, prediction.record_id)

    # --- results ----------------------------------------------------------------------------------------

    def selection(self, texts_of: Callable[[set[int]], dict[int, str]]) -> list[tuple[int, float]]:
        """The next human batch, best first: (record id, priority)."""
        chosen = self.candidates.best_first()
        if self.query.choose is not None:
            chosen = self.query.choose(chosen, texts_of({rid for rid, _ in chosen}), self.batch_size)
        return chosen

    def calibration(self) -> list[dict]:
        method = self.config["auto_label_method"]
        return list(
            calibration_state(
                self.validation_predictions, self.validation, self.previous, self.threshold, method, self.round_number
            )
        )

    def summary(self, selected: int, calibration: list[dict]) -> dict:
        return summary(
            self.config,
            round_number=self.round_number,
            job_name=self.job_name,
            threshold=self.threshold,
            pool=self.pool_count,
            auto_per_class=self.auto_per_class,
            selected=selected,
            validation_items=len(self.validation_predictions),
            remaining=self.remaining_before_round,
            calibration=calibration,
            class_names=self.categories.names,
        )

    def result(self, record: dict, uris: dict[str, str]) -> dict:
        """The round's result for MergeAutoLabels and the checkpoint (workflow-state.schema.json#/$defs/roundResult)."""
        return {
            "round": self.round_number,
            "auto_labels_uri": uris["auto-labels"],
            "auto_labeled": record["auto_labeled"],
            "selection_uri": uris["selection"],
            "selected": record["selected"],
            "summary_uri": uris["summary"],
            "calibration_uri": uris["calibration"],
            "threshold": self.threshold.value,
            "accuracy_lower_bound": self.threshold.lower_bound,
        }
