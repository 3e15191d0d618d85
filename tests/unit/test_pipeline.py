"""SelectAndAutoLabel's pipeline on its own (no S3): coverage checks, threshold, auto-labels, selection."""

import random

import pytest
from select_and_auto_label.pipeline import RoundSelection

from labeling_common.errors import InvalidInferenceOutput
from labeling_common.labels import LabelCategories
from tests.support import prediction

CATEGORIES = LabelCategories.from_config(
    {"document-version": "2018-11-28", "labels": [{"label": name} for name in ("a", "b", "c", "d")]}
)
CONFIG = {
    "query_strategy": "margin",
    "label_attribute": "category",
    "auto_label_method": "calibrated",
    "target_accuracy": 0.95,
    "confidence_level": 0.95,
    "margin_threshold": 0.5,
    "seed": 0,
    "human_batch_size": 20,
    "max_human_labels": 0,
}


def items(n, validation_every=4, seed=0):
    """n predictions of class 0; right 99.5% of the time where the top probability exceeds 0.7, 70% below
    (validation labels say so)."""
    rng = random.Random(seed)
    predictions, validation = [], {}
    for record_id in range(n):
        top = 0.4 + 0.6 * rng.random()
        predictions.append(prediction(record_id, [top, (1 - top) * 0.6, (1 - top) * 0.3, (1 - top) * 0.1]))
        if record_id % validation_every == 0:
            validation[record_id] = 0 if rng.random() < (0.995 if top > 0.7 else 0.7) else 1
    return predictions, validation


def start(validation, previous=()):
    event = {"config": CONFIG, "progress": {"counts": {"human": 0}}, "training": {"round": 1, "job_name": "r1"}}
    return RoundSelection.start(event, CATEGORIES, validation, previous)


def test_a_round_auto_labels_above_its_threshold_and_selects_the_least_certain_of_the_rest():
    predictions, validation = items(4000)
    selection = start(validation)
    expected = {"pool_count": 3000, "validation_count": 1000}
    threshold = selection.check_output(predictions, 4000, expected)
    assert threshold.value is not None and threshold.lower_bound >= 0.95
    written = []
    selection.split_pool(predictions, written.append)
    assert written and all(line["category-metadata"]["human-annotated"] == "no" for line in written)
    assert {line["al:record-id"] for line in written}.isdisjoint(validation)
    chosen = selection.selection(lambda wanted: pytest.fail("margin reads no texts"))
    assert len(chosen) == 20 and {rid for rid, _ in chosen}.isdisjoint({line["al:record-id"] for line in written})
    margins = {p.record_id: p.margin for p in predictions}
    assert max(margins[rid] for rid, _ in chosen) <= min(margins[line["al:record-id"]] for line in written)
    record = selection.summary(len(chosen), selection.calibration())
    assert record["auto_labeled"] == len(written) and record["pool"] == 3000


@pytest.mark.parametrize("mutate,message", [(lambda p: p + p[:1], "appears twice"), (lambda p: p[1:], "expected")])
def test_transform_output_that_misses_or_repeats_records_is_refused(mutate, message):
    predictions, validation = items(100)
    with pytest.raises(InvalidInferenceOutput, match=message):
        start(validation).check_output(mutate(predictions), 100, {"pool_count": 75, "validation_count": 25})
