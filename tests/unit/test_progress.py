"""The loop's decision rules."""

import pytest

from labeling_common import progress
from labeling_common.progress import MAX_BATCH_ITEMS, decide, new_counts

CONFIG = {
    "bootstrap_fraction": 0.2,
    "target_accuracy": 0.95,
    "confidence_level": 0.95,
    "max_rounds": 5,
    "max_human_labels": 0,
}


def test_everything_labeled_exports():
    assert decide(CONFIG, new_counts(100, human=40, auto=60), rounds_done=2) == ("export", "all_labeled", None)


def test_tops_up_human_share_to_the_bootstrap_fraction_with_a_random_batch():
    assert decide(CONFIG, new_counts(1000, human=50), rounds_done=0) == (
        "human_batch",
        None,
        {"kind": "bootstrap", "size": 150, "selection_uri": None},
    )


def test_bootstrap_fraction_rounds_up_so_small_sets_still_get_labels():
    # The AWS sample computed int(total / 5) - human, which is 0 for 12 items with 2 labels.
    assert decide(CONFIG, new_counts(12, human=2), rounds_done=0)[2]["size"] == 1


@pytest.mark.parametrize(
    "total,target,size",
    [(5_000, 0.95, 1000), (10_000, 0.95, 1370), (1_000_000, 0.95, 1370), (1_000_000, 0.98, 3560)],
)
def test_the_bootstrap_buys_no_more_random_labels_than_the_threshold_search_can_use(total, target, size):
    """20% of 10,000 items would be 2,000 random labels, of a million 200,000: the bootstrap stops where the
    search's chains all start within the surer half of the record (1,370 at 95%); more random labels come as
    calibration batches, when they pay."""
    config = {**CONFIG, "target_accuracy": target}
    assert decide(config, new_counts(total), rounds_done=0)[2] == {
        "kind": "bootstrap",
        "size": size,
        "selection_uri": None,
    }
    assert decide(config, new_counts(total, human=size), rounds_done=0) == ("round", None, None)


def test_runs_a_round_once_the_bootstrap_share_is_reached():
    assert decide(CONFIG, new_counts(1000, human=200), rounds_done=0) == ("round", None, None)


def test_round_selection_goes_to_humans():
    next_step, reason, batch = decide(
        CONFIG,
        new_counts(1000, human=200, auto=500),
        rounds_done=1,
        selection={"uri": "s3://b/sel.jsonl", "size": 50},
        after_round=True,
    )
    assert (next_step, reason) == ("human_batch", None)
    assert batch == {"kind": "selection", "size": 50, "selection_uri": "s3://b/sel.jsonl"}


def test_max_rounds_stops_with_unlabeled_items_left():
    assert decide(CONFIG, new_counts(1000, human=300, auto=500), rounds_done=5) == ("export", "max_rounds", None)


def test_human_budget_trims_then_stops():
    config = {**CONFIG, "max_human_labels": 230}
    selection = {"uri": "s3://b/sel.jsonl", "size": 50}
    _, _, batch = decide(
        config, new_counts(1000, human=200, auto=100), rounds_done=1, selection=selection, after_round=True
    )
    assert batch["size"] == 30
    assert decide(
        config, new_counts(1000, human=230, auto=100), rounds_done=1, selection=selection, after_round=True
    ) == ("export", "max_human_labels", None)


def test_a_round_after_the_last_human_batch_is_still_run_then_the_budget_stops_the_loop():
    config = {**CONFIG, "max_human_labels": 230}
    counts = new_counts(1000, human=230, auto=100)
    assert decide(config, counts, rounds_done=1)[0] == "round"
    assert decide(config, counts, rounds_done=2, after_round=True) == ("export", "max_human_labels", None)


def test_budget_smaller_than_the_bootstrap_target():
    config = {**CONFIG, "max_human_labels": 100}
    assert decide(config, new_counts(1000, human=100), rounds_done=0) == ("round", None, None)
    assert decide(config, new_counts(1000, human=40), rounds_done=0)[2]["size"] == 60


def test_a_human_batch_that_labeled_nothing_stops_the_loop():
    assert decide(CONFIG, new_counts(1000, human=100), rounds_done=0, stalled=True) == ("export", "no_progress", None)


def test_batches_never_exceed_the_ground_truth_job_limit():
    selection = {"uri": "s3://b/sel.jsonl", "size": 150_000}
    batch = decide(CONFIG, new_counts(2_000_000, human=1370), rounds_done=1, selection=selection)[2]
    assert batch["size"] == MAX_BATCH_ITEMS


@pytest.mark.parametrize("rounds_done", [0, 3])
def test_build_names_the_next_round_execution(rounds_done):
    state = progress.build(
        {**CONFIG},
        run_id="0123abcd",
        attempt=2,
        step=4,
        working_manifest_uri="s3://b/m.jsonl",
        counts=new_counts(1000, human=200),
        rounds_done=rounds_done,
        validation_uri=None,
    )
    assert (
        state["round_execution_name"] == f"0123abcd-a2-round-{rounds_done + 1:03d}"
    )  # a resumed run never reuses a name
    assert state["next"] == "round"
