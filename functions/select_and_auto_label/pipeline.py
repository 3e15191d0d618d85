"""SelectAndAutoLabel's algorithm as a pure pipeline: no S3, no boto3. The handler reads the inputs, feeds
the transform output through it twice and writes what it returns.

1. `check_output` (pass 1): every line valid, every input record exactly once, pool and validation counts as
   PrepareInference wrote them; the validation items' predictions are kept (a small set), and every pool
   item's score (8 bytes an item: the certificate is about the pool's own items, so its test counts them).
   Then the round's fresh certificate, from every validation item and those counts (`logic.choose_threshold`).
2. `weigh` (only when a certificate is already in force): the fresh one replaces it only if it covers at
   least as many pool items, so a round whose model or validation record is worse never shrinks the set;
   otherwise `keep` marks the items in force, which then stay as they are.
3. `split_pool`: an auto-label for each pool item at or above the threshold, handed to a writer as it comes;
   every other pool item not kept is offered to the query strategy's bounded heap. Every pool item is also
   a candidate for a random calibration batch.
4. `selection`, `calibration` and `summary`: the next human batch (random calibration picks first when they
   pay, `logic.calibration_pays`; then the strategy's picks, with its final choice, which may read texts),
   the round's calibration record (its audit trail) and the round's record.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from labeling_common import progress
from labeling_common.certification import long_record_items
from labeling_common.draws import seeded_hash
from labeling_common.errors import InvalidInferenceOutput
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY, label_metadata, metadata_key

from .logic import (
    NO_THRESHOLD,
    Prediction,
    Threshold,
    TopK,
    calibration_pays,
    calibration_record,
    choose_threshold,
    passes,
    projected_record,
    record_has_stalled,
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
    pool_scores: array = field(default_factory=lambda: array("d"))  # every pool item's score, in stream order
    auto_per_class: list[int] = field(default_factory=list)
    threshold: Threshold | None = None
    kept: bytearray | None = None  # by record id: 1 for an auto-label that stays (the round adopts nothing)
    declined: dict | None = None  # a fresh certificate that covered fewer items than the one in force
    projected: Threshold | None = None  # the certificate a record longer by a human batch is expected to give
    projected_covered: int = 0  # pool items at or above the projected threshold
    random_picks: TopK | None = None  # a random calibration batch, drawn from the whole pool

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
                self.pool_scores.append(prediction.score)
        found = (self.pool_count, len(self.validation_predictions))
        if found != (expected["pool_count"], expected["validation_count"]):
            raise InvalidInferenceOutput(
                f"transform output holds {found[0]} pool and {found[1]} validation records, "
                f"expected {expected['pool_count']} and {expected['validation_count']}"
            )
        scored = [
            (p.score, p.predicted == self.validation[rid], self.validation[rid])
            for rid, p in self.validation_predictions.items()
        ]
        self.threshold = choose_threshold(self.config, scored, self.pool_scores)
        room = self.calibration_room
        if room > 0:
            self.projected = choose_threshold(self.config, projected_record(scored, room), self.pool_scores)
            self.projected_covered = self.covered(self.projected)
            self.random_picks = TopK(room)
        return self.threshold

    @property
    def pool_count(self) -> int:
        return len(self.pool_scores)

    def covered(self, threshold: Threshold) -> int:
        """Pool items a threshold would auto-label."""
        method = self.config["auto_label_method"]
        return sum(1 for score in self.pool_scores if passes(score, threshold, method))

    @property
    def calibration_room(self) -> int:
        """How many random calibration labels the next human batch could hold: a whole batch, within the cap
        on calibration items; none for the AWS sample's fixed rule, which certifies nothing."""
        if self.config["auto_label_method"] != "calibrated":
            return 0
        return max(0, min(self.batch_size, progress.MAX_VALIDATION_ITEMS - len(self.validation)))

    # --- the certificate in force -----------------------------------------------------------------------

    @property
    def needs_weighing(self) -> bool:
        """A fresh certificate competes with the one in force (`weigh`, on the pool scores of pass 1)."""
        return self.threshold.value is not None and self.certificate_round is not None and self.auto_in_force > 0

    def weigh(self) -> None:
        """Keep the certificate in force unless the fresh one covers at least as many pool items."""
        covered = self.covered(self.threshold)
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
        draw = f"calibration-{self.round_number}"
        for prediction in predictions:
            record_id = prediction.record_id
            if record_id in self.validation:
                continue
            if self.random_picks is not None:  # every pool item, auto-labeled or not: the picks stand for the pool
                self.random_picks.offer(-seeded_hash(self.config["seed"], draw, record_id), record_id)
            if self.kept and self.kept[prediction.record_id]:
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

    @property
    def in_force_after(self) -> int:
        """Auto-labels in force once this round is merged."""
        return sum(self.auto_per_class) if self.adopts else self.auto_in_force

    @property
    def stalled_rounds(self) -> int:
        """Rounds in a row, this one included, that left the auto-labels in force as they were: since the
        certificate in force was adopted, or since the run began when none of its rounds certified."""
        return 0 if self.adopts else self.round_number - (self.certificate_round or 0)

    @property
    def fresh_covered(self) -> int:
        """Pool items this round's own certificate covers (a declined one's count; 0 when it certified none)."""
        return sum(self.auto_per_class) if self.adopts else (self.declined or {}).get("pool_items", 0)

    @property
    def buys_calibration(self) -> bool:
        """The next human batch is a random calibration batch: when the record, not the model, is what holds
        the certificate back — more of it is expected to certify more than its labels cost, or it has gone
        bad for the later models (`logic.record_has_stalled`)."""
        if self.random_picks is None:
            return False
        stalled = record_has_stalled(self.stalled_rounds, self.fresh_covered, self.in_force_after)
        config = self.config
        short = len(self.validation) < long_record_items(config["target_accuracy"], config["confidence_level"])
        return calibration_pays(
            self.in_force_after, self.projected_covered, self.random_picks.k, self.pool_count, stalled, short
        )

    def selection(self, texts_of: Callable[[set[int]], dict[int, str]]) -> Iterator[dict]:
        """The next human batch, in the order it is to be labeled: lines of the round's selection file
        (record id, the strategy's priority, and whether the item joins the calibration set), one at a time,
        since a batch may hold 100,000 items."""
        picks = [record_id for record_id, _ in self.random_picks.best_first()] if self.buys_calibration else []
        chosen: Iterable[tuple[int, float]] = self.candidates.best_first()
        if self.query.choose is not None and len(picks) < self.batch_size:
            candidates = list(chosen)
            chosen = self.query.choose(candidates, texts_of({rid for rid, _ in candidates}), self.batch_size)
        for record_id in picks:
            yield {RECORD_ID_KEY: record_id, "priority": None, "calibration": True}
        taken, room = set(picks), self.batch_size - len(picks)
        for record_id, value in chosen:
            if room <= 0:
                break
            if record_id not in taken:
                room -= 1
                yield {RECORD_ID_KEY: record_id, "priority": value, "calibration": False}

    def calibration(self) -> list[dict]:
        method = self.config["auto_label_method"]
        return list(calibration_record(self.validation_predictions, self.validation, self.threshold, method))

    @property
    def certificate_after(self) -> int | None:
        """The round whose certificate covers the auto-labels once this round is merged."""
        return self.round_number if self.adopts else self.certificate_round

    def calibration_batch(self) -> dict | None:
        """Why the next human batch is, or is not, a random calibration batch (None: not considered)."""
        if self.random_picks is None:
            return None
        return {
            "items": self.random_picks.k,
            "projected_threshold": self.projected.value,
            "projected_pool_items": self.projected_covered,
            "pool_items_in_force": self.in_force_after,
            "stalled_rounds": self.stalled_rounds,
            "bought": self.buys_calibration,
        }

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
            calibration_batch=self.calibration_batch(),
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
