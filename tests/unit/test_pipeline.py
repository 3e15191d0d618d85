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


def start(validation, *, round_number=1, certificate_round=None, auto=0):
    event = {
        "config": CONFIG,
        "progress": {"counts": {"human": 0, "auto": auto}, "certificate_round": certificate_round},
        "training": {"round": round_number, "job_name": f"r{round_number}"},
    }
    return RoundSelection.start(event, CATEGORIES, validation)


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
    assert record["certificate_round"] == 1 and not selection.needs_weighing  # nothing was in force


def certified(predictions, validation):
    """The pool items a round's fresh certificate covers."""
    threshold = start(validation).check_output(predictions, 4000, {"pool_count": 3000, "validation_count": 1000})
    return [p.record_id for p in predictions if p.record_id not in validation and p.margin >= threshold.value]


@pytest.mark.parametrize("in_force_more", [True, False])
def test_a_fresh_certificate_replaces_the_one_in_force_only_if_it_covers_at_least_as_many_items(in_force_more):
    """Re-certification never shrinks the auto-labeled set: a round whose certificate covers fewer pool items
    than the one in force keeps the current auto-labels, which then are neither re-labeled nor sent to people."""
    predictions, validation = items(4000)
    fresh = certified(predictions, validation)
    in_force = sorted(set(range(4000)) - set(validation))[: len(fresh) + (1 if in_force_more else 0)]
    selection = start(validation, round_number=3, certificate_round=2, auto=len(in_force))
    selection.check_output(predictions, 4000, {"pool_count": 3000, "validation_count": 1000})
    assert selection.needs_weighing
    selection.weigh(iter(predictions))
    written = []
    if in_force_more:
        assert not selection.adopts and selection.keeps and selection.certificate_after == 2
        selection.keep(iter(in_force), 4000)
    else:
        assert selection.adopts and not selection.keeps and selection.certificate_after == 3
    selection.split_pool(predictions, written.append)
    chosen = {rid for rid, _ in selection.selection(lambda wanted: {})}
    record = selection.summary(len(chosen), selection.calibration())
    if in_force_more:
        assert written == [] and chosen.isdisjoint(in_force) and record["threshold"] is None
        assert record["calibration"]["lower_bound"] is None and record["certificate_round"] == 2
        assert record["declined_certificate"]["pool_items"] == len(fresh) < len(in_force)
        assert not any(line["certified"] for line in selection.calibration())
    else:
        assert sorted(line["al:record-id"] for line in written) == fresh and record["certificate_round"] == 3
        assert record["declined_certificate"] is None


def test_a_round_that_certifies_nothing_keeps_the_auto_labels_in_force():
    predictions, validation = items(400)  # 100 validation items: too few to certify 95%
    selection = start(validation, round_number=2, certificate_round=1, auto=50)
    assert selection.check_output(predictions, 400, {"pool_count": 300, "validation_count": 100}).value is None
    assert not selection.needs_weighing and selection.keeps and selection.certificate_after == 1
    kept = [rid for rid in range(400) if rid not in validation][:50]
    selection.keep(iter(kept), 400)
    written = []
    selection.split_pool(predictions, written.append)
    assert written == [] and {rid for rid, _ in selection.selection(lambda wanted: {})}.isdisjoint(kept)


def test_auto_labels_the_input_brought_yield_to_any_fresh_certificate():
    """Labels the input marked as machine-made carry no certificate of this run: the first certificate
    replaces them whatever it covers (no counting pass)."""
    predictions, validation = items(4000)
    selection = start(validation, certificate_round=None, auto=3000)
    selection.check_output(predictions, 4000, {"pool_count": 3000, "validation_count": 1000})
    assert not selection.needs_weighing and selection.adopts and selection.certificate_after == 1


@pytest.mark.parametrize("mutate,message", [(lambda p: p + p[:1], "appears twice"), (lambda p: p[1:], "expected")])
def test_transform_output_that_misses_or_repeats_records_is_refused(mutate, message):
    predictions, validation = items(100)
    with pytest.raises(InvalidInferenceOutput, match=message):
        start(validation).check_output(mutate(predictions), 100, {"pool_count": 75, "validation_count": 25})
