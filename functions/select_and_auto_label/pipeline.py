"""SelectAndAutoLabel's algorithm as a pure pipeline: no S3, no boto3. The handler reads the inputs, feeds
the transform output through it twice and writes what it returns.

1. `check_output` (pass 1): every line valid, every input record exactly once, pool and validation counts as
   PrepareInference wrote them; the validation items' predictions are kept (a small set). Then the round's
   fresh certificate, from every validation item (`logic.choose_threshold`).
2. `weigh` (only when a certificate is already in force): the fresh one replaces it only if it covers at
   least as many pool items, so a round whose model or validation record is worse never shrinks the set;
   otherwise `keep` marks the items in force, which then stay as they are.
3. `split_pool`: an auto-label for each pool item at or above the threshold, handed to a writer as it comes;
   every other pool item not kept is offered to the query strategy's bounded heap.
4. `selection`, `calibration` and `summary`: the next human batch (with the strategy's final choice, which
   may read texts), the round's calibration record (its audit trail) and the round's record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from labeling_common import progress
from labeling_common.errors import InvalidInferenceOutput
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY, label_metadata, metadata_key

from .logic import (
    NO_THRESHOLD,
    Prediction,
    Threshold,
    TopK,
    calibration_record,
    choose_threshold,
    passes,
    replaces,
    summary,
)
from .strategies import strategy


@dataclass
class RoundSelection:
    config: dict
    round_number: int
    job_name: str  # the round's training job: the auto-labels' metadata names it
    categories: LabelCategories
    validation: dict[int, int]  # validation record id -> its human label
    certificate_round: int | None  # the round whose certificate covers the current auto-labels, if any
    auto_in_force: int  # the current auto-labels (the certified set, or labels the input brought)
    batch_size: int  # the next human batch, within the human-label budget
    created: datetime
    validation_predictions: dict[int, Prediction] = field(default_factory=dict)
    pool_count: int = 0
    auto_per_class: list[int] = field(default_factory=list)
    threshold: Threshold | None = None
    kept: bytearray | None = None  # by record id: 1 for an auto-label that stays (the round adopts nothing)
    declined: dict | None = None  # a fresh certificate that covered fewer items than the one in force

    @classmethod
    def start(cls, event: dict, categories: LabelCategories, validation: dict):
        """The round's selection for a SelectAndAutoLabel event, with what the handler read from S3."""
        config, state, training = event["config"], event["progress"], event["training"]
        return cls(
            config,
            round_number=training["round"],
            job_name=training["job_name"],
            categories=categories,
            validation=validation,
            certificate_round=state["certificate_round"],
            auto_in_force=state["counts"]["auto"],
            batch_size=int(min(config["human_batch_size"], progress.human_budget_left(config, state["counts"]))),
            created=datetime.now(UTC),
        )

    def __post_init__(self) -> None:
        self.query = strategy(self.config["query_strategy"])
        self.candidates = TopK(self.batch_size * self.query.candidates_per_slot)
        self.auto_per_class = [0] * len(self.categories)

    # --- pass 1 -----------------------------------------------------------------------------------------

    def check_output(self, predictions: Iterable[Prediction], total: int, expected: dict) -> Threshold:
        """Coverage and counts of the transform output; returns the round's fresh threshold."""
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
        scored = [(p.score, p.predicted == self.validation[rid]) for rid, p in self.validation_predictions.items()]
        self.threshold = choose_threshold(self.config, scored)
        return self.threshold

    # --- the certificate in force -----------------------------------------------------------------------

    @property
    def needs_weighing(self) -> bool:
        """A fresh certificate competes with the one in force (`weigh` needs a pass over the pool)."""
        return self.threshold.value is not None and self.certificate_round is not None and self.auto_in_force > 0

    def weigh(self, predictions: Iterable[Prediction]) -> None:
        """Keep the certificate in force unless the fresh one covers at least as many pool items."""
        method = self.config["auto_label_method"]
        covered = sum(
            1 for p in predictions if p.record_id not in self.validation and passes(p.score, self.threshold, method)
        )
        if not replaces(covered, self.auto_in_force):
            fresh = self.threshold
            self.declined = {"threshold": fresh.value, "lower_bound": fresh.lower_bound, "pool_items": covered}
            self.threshold = NO_THRESHOLD

    @property
    def adopts(self) -> bool:
        """This round's auto-labels replace every earlier one."""
        return self.threshold.value is not None

    @property
    def keeps(self) -> bool:
        """Auto-labels are in force and this round adopts nothing: `keep` needs their record ids."""
        return not self.adopts and self.auto_in_force > 0

    def keep(self, auto_record_ids: Iterable[int], total: int) -> None:
        """The round adopts nothing: the current auto-labels stay, neither labeled again nor offered to people."""
        self.kept = bytearray(total)
        for record_id in auto_record_ids:
            self.kept[record_id] = 1

    # --- pass 2 -----------------------------------------------------------------------------------------

    def split_pool(self, predictions: Iterable[Prediction], write_auto_label: Callable[[dict], None]) -> None:
        attribute = self.config["label_attribute"]
        meta_key = metadata_key(attribute)
        for prediction in predictions:
            if prediction.record_id in self.validation or (self.kept and self.kept[prediction.record_id]):
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
        return list(calibration_record(self.validation_predictions, self.validation, self.threshold, method))

    @property
    def certificate_after(self) -> int | None:
        """The round whose certificate covers the auto-labels once this round is merged."""
        return self.round_number if self.adopts else self.certificate_round

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
            certificate_round=self.certificate_after,
            declined=self.declined,
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
            "certificate_round": self.certificate_after,
        }
