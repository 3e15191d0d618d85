"""SelectAndAutoLabel's pipeline on its own (no S3): coverage checks, threshold, auto-labels, selection."""

import random

import pytest
from select_and_auto_label.pipeline import RoundSelection

from labeling_common.certification import long_record_items
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
    "max_class_miss_rate": 1.0,
    "seed": 0,
    "human_batch_size": 20,
    "max_human_labels": 0,
}


def items(n, validation_every=4, seed=1):
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


def start(validation, *, round_number=1, certificate_round=None, auto=0, config=CONFIG):
    event = {
        "config": config,
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
    chosen = list(selection.selection(lambda wanted: pytest.fail("margin reads no texts")))
    chosen_ids, written_ids = [line["al:record-id"] for line in chosen], [line["al:record-id"] for line in written]
    assert len(chosen) == 20 and set(chosen_ids).isdisjoint(written_ids)
    assert not any(line["calibration"] for line in chosen)  # the record certifies with room: none bought
    margins = {p.record_id: p.margin for p in predictions}
    assert max(margins[rid] for rid in chosen_ids) <= min(margins[rid] for rid in written_ids)
    record = selection.summary(len(chosen), selection.calibration())
    assert record["auto_labeled"] == len(written) and record["pool"] == 3000
    assert record["certificate_round"] == 1 and not selection.needs_weighing  # nothing was in force


def test_a_per_class_limit_reaches_the_search_and_the_summary_counts_each_class_s_lost_items():
    """Every item is predicted class a; the validation items people gave b are the ones a certificate loses.
    With at most 10% of a class allowed lost, the threshold rises until few enough of b's are above it."""
    predictions, validation = items(4000)
    expected = {"pool_count": 3000, "validation_count": 1000}
    plain = start(validation).check_output(predictions, 4000, expected)
    selection = start(validation, config={**CONFIG, "max_class_miss_rate": 0.1})
    limited = selection.check_output(predictions, 4000, expected)
    assert plain.value is not None and limited.value is not None and limited.value > plain.value
    lines = selection.calibration()
    assert {line["label"] for line in lines} == {0, 1}
    per_class = {entry["class"]: entry for entry in selection.summary(0, lines)["per_class"]}
    b_lines = [line for line in lines if line["label"] == 1]
    assert per_class["b"]["validation_labeled"] == len(b_lines)
    lost = sum(line["certified"] for line in b_lines)  # predicted a, certified: lost to class a
    assert per_class["b"]["validation_missed"] == lost and 0 < lost <= 0.1 * len(b_lines)
    assert per_class["a"]["validation_missed"] == 0 and per_class["c"]["validation_labeled"] == 0


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
    selection.weigh()
    written = []
    if in_force_more:
        assert not selection.adopts and selection.keeps and selection.certificate_after == 2
        selection.keep(iter(in_force), 4000)
    else:
        assert selection.adopts and not selection.keeps and selection.certificate_after == 3
    selection.split_pool(predictions, written.append)
    chosen = {line["al:record-id"] for line in selection.selection(lambda wanted: {})}
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
    chosen = selection.selection(lambda wanted: {})
    # the strategy never offers kept items to people; a random calibration batch may hold some (see below)
    assert written == [] and {line["al:record-id"] for line in chosen if not line["calibration"]}.isdisjoint(kept)


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


def noisy_round(flip_share, batch_size, *, in_force_every=None, certificate_round=None, round_number=2, size=4000):
    """A round over `size` items, a quarter of them validation items, whose calibration record carries injected
    wrong labels: `flip_share` of the 600 most confident validation items say class 1 where the model (right
    99.5% of the time there) says 0. `in_force_every`: every so many pool items are auto-labels in force (kept,
    as a round that adopts nothing keeps them)."""
    predictions, validation = items(size)
    kept = [rid for rid in range(size) if rid not in validation][::in_force_every] if in_force_every else []
    auto = len(kept)
    margins = {p.record_id: p.margin for p in predictions}
    rng = random.Random(1)
    for record_id in sorted(validation, key=lambda rid: -margins[rid])[:600]:
        if rng.random() < flip_share:
            validation[record_id] = 1
    event = {
        "config": {**CONFIG, "human_batch_size": batch_size},
        "progress": {"counts": {"human": 0, "auto": auto}, "certificate_round": certificate_round},
        "training": {"round": round_number, "job_name": f"r{round_number}"},
    }
    selection = RoundSelection.start(event, CATEGORIES, validation)
    counts = {"pool_count": size - len(validation), "validation_count": len(validation)}
    selection.check_output(predictions, size, counts)
    if kept:
        selection.keep(iter(kept), size)
    return selection, predictions, validation


def test_a_record_that_wrong_labels_block_buys_a_random_calibration_batch():
    """1.5% wrong labels among the surest validation items leave 1,000 of them certifying nothing, though the
    model is right: a record longer by a batch of 500 is expected to certify 1,541 pool items, far more than
    the labels cost (nothing is auto-labeled, so every random label lands on an item people label anyway).
    The next batch is then 500 items drawn at random from the whole pool, flagged to join the calibration set."""
    selection, predictions, validation = noisy_round(0.015, 500)
    assert selection.projected_covered == 1541
    assert selection.threshold.value is None and selection.projected.value is not None
    written = []
    selection.split_pool(predictions, written.append)
    assert written == [] and selection.buys_calibration
    chosen = list(selection.selection(lambda wanted: {}))
    assert len(chosen) == 500 and all(line["calibration"] and line["priority"] is None for line in chosen)
    picked = [line["al:record-id"] for line in chosen]
    assert set(picked).isdisjoint(validation) and len(set(picked)) == 500
    margins = sorted(p.margin for p in predictions if p.record_id not in validation)
    median = margins[len(margins) // 2]
    above = sum({p.record_id: p.margin for p in predictions}[rid] >= median for rid in picked)
    assert 200 < above < 300  # random across the pool, not the uncertain end the strategy would pick
    record = selection.summary(len(chosen), selection.calibration())
    assert record["calibration_batch"] == {
        "items": 500,
        "projected_threshold": selection.projected.value,
        "projected_pool_items": selection.projected_covered,
        "pool_items_in_force": 0,
        "stalled_rounds": 2,  # rounds 1 and 2 certified nothing
        "bought": True,
    }


def test_random_calibration_labels_are_not_bought_where_they_cost_more_than_they_add():
    """A clean record certifies with room: a longer one would add a few pool items, far fewer than the
    auto-labeled items a random batch would take from the set (each pick lands on one with probability
    in force / pool). The same holds for a batch too small to move a blocked record while a set covering half
    the pool is in force, or a search with nothing to project (the AWS sample's fixed rule)."""
    selection, predictions, _ = noisy_round(0.0, 500)
    selection.split_pool(predictions, lambda line: None)
    assert not selection.buys_calibration
    assert not any(line["calibration"] for line in selection.selection(lambda wanted: {}))
    blocked, predictions, _ = noisy_round(0.02, 20, in_force_every=2, certificate_round=1)
    blocked.split_pool(predictions, lambda line: None)
    assert blocked.projected.value is None and not blocked.buys_calibration
    predictions, validation = items(4000)
    fixed = RoundSelection.start(
        {
            "config": {**CONFIG, "auto_label_method": "margin_threshold", "human_batch_size": 500},
            "progress": {"counts": {"human": 0, "auto": 0}, "certificate_round": None},
            "training": {"round": 1, "job_name": "r1"},
        },
        CATEGORIES,
        validation,
    )
    fixed.check_output(predictions, 4000, {"pool_count": 3000, "validation_count": 1000})
    assert fixed.calibration_room == 0 and fixed.calibration_batch() is None


def test_while_nothing_is_in_force_random_calibration_labels_are_free_and_always_bought():
    """With nothing auto-labeled, people label every item anyway: a random batch costs no extra label, and
    fresh draws dilute an unlucky record's excess of wrong labels, which a projection at the record's own
    rates cannot see (a batch of 20 is projected to certify nothing here)."""
    selection, predictions, _ = noisy_round(0.02, 20)
    selection.split_pool(predictions, lambda line: None)
    assert selection.projected.value is None and selection.buys_calibration
    assert [line["calibration"] for line in selection.selection(lambda wanted: {})] == [True] * 20


def test_while_a_small_certificate_is_in_force_random_calibration_labels_are_bought():
    """Round 1 certified 300 of the 3,000 pool items from a record that 2% wrong labels now block: a batch of
    20 is projected to certify nothing, yet fresh draws dilute an unlucky record, and with a tenth of the pool
    auto-labeled a random label costs a tenth of one: the batch is bought without waiting for a stall."""
    selection, predictions, _ = noisy_round(0.02, 20, in_force_every=10, certificate_round=1)
    selection.split_pool(predictions, lambda line: pytest.fail("the round adopts nothing"))
    assert selection.projected.value is None and selection.stalled_rounds == 1
    assert selection.buys_calibration
    assert [line["calibration"] for line in selection.selection(lambda wanted: {})] == [True] * 20


@pytest.mark.parametrize("size,bought", [(4000, True), (11_716, True), (11_720, False)])
def test_a_small_certificate_is_bought_for_only_while_the_record_is_short(size, bought):
    """A certificate in force over a tenth of the pool, a record a fifth of whose 600 surest items are wrong,
    a batch of 20 projected to certify nothing. A short record buys (fresh draws dilute its excess); from the
    record on which every chain of the search starts (`certification.long_record_items`: 2,930 items) the
    small certificate is what the model and the labels allow, and the batch is weighed by price alone (one
    run with 2% wrong labels bought five in a row for a certificate that stayed under half the pool, its
    record growing from 2,000 to 4,500 items: 56.3% -> 65.8% human)."""
    selection, predictions, validation = noisy_round(0.2, 20, in_force_every=10, certificate_round=1, size=size)
    assert (len(validation) < long_record_items(0.95, 0.95)) is bought
    selection.split_pool(predictions, lambda line: pytest.fail("the round adopts nothing"))
    assert selection.projected.value is None and selection.stalled_rounds == 1
    assert 2 * selection.in_force_after < selection.pool_count
    assert selection.buys_calibration is bought
    assert [line["calibration"] for line in selection.selection(lambda wanted: {})] == [bought] * 20


@pytest.mark.parametrize("round_number,bought", [(2, False), (3, False), (4, True), (5, False), (7, True)])
def test_a_certificate_that_stands_round_after_round_buys_a_batch_every_third_stalled_round(round_number, bought):
    """Round 1 certified half the pool (1,500 items); later rounds certify nothing on the same record, and a
    batch of 20 is projected to certify nothing either. One stalled round is often a coin flip at the edge of
    the bound; three in a row say the record has gone bad for the later models: a batch is bought then, and
    again after every third stalled round, whatever one round's projection says."""
    selection, predictions, _ = noisy_round(0.02, 20, in_force_every=2, certificate_round=1, round_number=round_number)
    selection.split_pool(predictions, lambda line: pytest.fail("the round adopts nothing"))
    assert selection.projected.value is None and selection.stalled_rounds == round_number - 1
    assert selection.buys_calibration is bought
    assert [line["calibration"] for line in selection.selection(lambda wanted: {})] == [bought] * 20
    assert selection.calibration_batch()["stalled_rounds"] == round_number - 1


def test_a_certificate_nearly_as_large_as_the_set_in_force_is_a_plateau_not_a_stalled_record():
    """Rounds 2-4 re-certify about as many pool items as round 1 did, a few fewer each time: the record is
    sound and the models have stopped growing the set, so the third such round buys nothing (the price rule
    decides there: a clean record's projection does not pay)."""
    predictions, validation = items(4000)
    in_force = [rid for rid in range(4000) if rid not in validation]
    selection = start(validation, round_number=4, certificate_round=1, auto=len(in_force))
    selection.check_output(predictions, 4000, {"pool_count": 3000, "validation_count": 1000})
    selection.weigh()
    selection.keep(iter(in_force), 4000)
    selection.split_pool(predictions, lambda line: pytest.fail("the round adopts nothing"))
    assert selection.stalled_rounds == 3 and 2 * selection.declined["pool_items"] >= len(in_force)
    assert selection.fresh_covered == selection.declined["pool_items"] and not selection.buys_calibration


def test_a_round_that_adopts_its_certificate_has_not_stalled():
    """Round 4 re-certifies a clean record after two stalled rounds: the count starts again, and a clean
    record's projection does not pay for a batch."""
    predictions, validation = items(4000)
    selection = start(validation, round_number=4, certificate_round=1, auto=50)
    selection.check_output(predictions, 4000, {"pool_count": 3000, "validation_count": 1000})
    selection.weigh()
    selection.split_pool(predictions, lambda line: None)
    assert selection.adopts and selection.stalled_rounds == 0 and not selection.buys_calibration


def test_a_calibration_batch_may_take_kept_auto_labels_the_strategy_never_offers():
    """When the round keeps the set in force, its items are not offered to the strategy, but the calibration
    picks stand for the whole pool, kept items included (people label them without seeing the auto-label)."""
    selection, predictions, _ = noisy_round(0.02, 500, in_force_every=10, certificate_round=1)
    kept = {rid for rid in range(4000) if selection.kept[rid]}
    assert len(kept) == 300
    selection.split_pool(predictions, lambda line: pytest.fail("the round adopts nothing"))
    assert selection.buys_calibration  # 1,313 expected against 300 in force, at a price of 500 * 300 / 3000
    picked = {line["al:record-id"] for line in selection.selection(lambda wanted: {})}
    assert 30 <= len(picked & set(kept)) <= 70  # about a tenth of the picks, as kept items are of the pool
