import pytest
from merge_labels.logic import Merge, check_sent

from labeling_common.errors import InvalidEvent, InvalidLabeledBatch
from labeling_common.label_store import LabelStore


def test_entries_come_back_in_record_id_order_with_duplicates_reported():
    with LabelStore() as store:
        for line, record_id in enumerate([40, 3, 17, 900_000], start=1):
            assert store.add(record_id, record_id % 4, {"human-annotated": "yes", "n": line}, line) is None
        assert store.add(17, 0, {}, 9) == 3  # already there, from line 3
        assert len(store) == 4
        assert [(rid, meta["n"]) for rid, _, meta, _ in store.in_order()] == [(3, 2), (17, 3), (40, 1), (900_000, 4)]


def test_answers_must_have_been_sent():
    with LabelStore() as store:
        store.add(5, 1, {}, 1)
        store.add(8, 1, {}, 2)
        check_sent(store, iter([1, 5, 8, 12]), "answers")
        with pytest.raises(InvalidLabeledBatch) as error:
            check_sent(store, iter([1, 5, 9]), "answers")
        assert error.value.field == "line 2" and "record id 8 was not sent" in str(error.value)


def test_merge_is_a_sorted_join():
    records = [{"al:record-id": i, "source": str(i)} for i in range(6)]
    merge = Merge("category", [(1, 2, {"human-annotated": "yes"}, 1), (4, 0, {"human-annotated": "no"}, 2)])
    out = list(merge.apply(records))
    merge.check_complete()
    assert [r.get("category") for r in out] == [None, 2, None, None, 0, None]
    assert merge.tally.counts(0) == {"total": 6, "human": 1, "auto": 1, "unlabeled": 4, "validation": 0}


def test_a_label_for_a_missing_record_is_refused():
    merge = Merge("category", [(7, 1, {}, 1)])
    list(merge.apply([{"al:record-id": i} for i in range(3)]))
    with pytest.raises(InvalidEvent):
        merge.check_complete()


def test_a_rounds_auto_labels_replace_every_earlier_auto_label_and_keep_human_labels():
    human, auto = {"human-annotated": "yes"}, {"human-annotated": "no"}
    records = [
        {"al:record-id": 0, "category": 1, "category-metadata": human},  # a person's label stays
        {"al:record-id": 1, "category": 2, "category-metadata": auto},  # no longer certified: unlabeled again
        {"al:record-id": 2, "category": 0, "category-metadata": auto},  # certified again, possibly another class
        {"al:record-id": 3},  # newly certified
        {"al:record-id": 4},
    ]
    merge = Merge("category", [(2, 3, auto, 1), (3, 1, auto, 2)], replace_auto=True)
    out = list(merge.apply(records))
    merge.check_complete()
    assert [r.get("category") for r in out] == [1, None, 3, 1, None]
    assert "category-metadata" not in out[1]
    assert merge.tally.counts(0) == {"total": 5, "human": 1, "auto": 2, "unlabeled": 2, "validation": 0}


def test_a_human_batch_never_touches_auto_labels():
    auto = {"human-annotated": "no"}
    records = [{"al:record-id": 0, "category": 2, "category-metadata": auto}, {"al:record-id": 1}]
    out = list(Merge("category", [(1, 0, {"human-annotated": "yes"}, 1)]).apply(records))
    assert [r.get("category") for r in out] == [2, 0]
