import json

import pytest

from labeling_common import draws, layout
from labeling_common.errors import InvalidLabelConfig, InvalidLabeledBatch, InvalidManifest
from labeling_common.labels import LabelCategories
from labeling_common.manifest import (
    AUTO,
    HUMAN,
    UNLABELED,
    LineChecker,
    label_metadata,
    label_state,
    strip_internal,
    timestamp,
)
from tests.support import LABEL_CONFIG

CATEGORIES = LabelCategories.from_config(LABEL_CONFIG)


def test_label_config_class_index_is_position():
    assert CATEGORIES.names[2] == "Health & Medicine"
    assert CATEGORIES.index_of("Health & Medicine") == 2
    assert CATEGORIES.index_of("__label__3") == 3
    assert CATEGORIES.index_of(1) == 1
    assert CATEGORIES.index_of(4) is None
    assert CATEGORIES.index_of("__label__9") is None
    assert CATEGORIES.index_of(True) is None
    assert CATEGORIES.index_of("nope") is None


@pytest.mark.parametrize(
    "document,field",
    [
        ({"document-version": "2018-11-28", "labels": [{"label": "a"}]}, "$.labels"),
        ({"document-version": "2020-01-01", "labels": [{"label": "a"}, {"label": "b"}]}, "$.document-version"),
        ({"document-version": "2018-11-28", "labels": [{"label": "a"}, {"label": "a"}]}, "$.labels[1].label"),
        ({"document-version": "2018-11-28", "labels": [{"label": "a"}, {"name": "b"}]}, "$.labels[1].label"),
    ],
)
def test_bad_label_configs_name_the_field(document, field):
    with pytest.raises(InvalidLabelConfig) as error:
        LabelCategories.from_config(document)
    assert error.value.field == field


def test_label_state():
    assert label_state({"source": "x"}, "category") == UNLABELED
    assert label_state({"source": "x", "category": 0}, "category") == HUMAN
    assert (
        label_state({"source": "x", "category": 0, "category-metadata": {"human-annotated": "no"}}, "category") == AUTO
    )


def test_timestamp_is_ground_truth_format_in_utc():
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 11, 29, 5, 7, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    # the AWS sample used %m (month) where minutes belong; here 05:07 local is 03:07 UTC
    assert timestamp(moment) == "2026-11-29T03:07:09.123456"


def test_label_metadata_shape():
    meta = label_metadata("Business", confidence=0.912345, human=False, job_name="news-r001")
    assert meta["human-annotated"] == "no"
    assert meta["job-name"] == "labeling-job/news-r001"
    assert meta["confidence"] == 0.9123
    assert meta["type"] == "groundtruth/text-classification"


def test_strip_internal_keeps_user_fields_and_their_order():
    record = {"id": 5, "source": "x", "al:record-id": 3, "z": 1}
    assert list(strip_internal(record)) == ["id", "source", "z"]


INPUT = LineChecker("category", CATEGORIES, InvalidManifest, mode="input")


@pytest.mark.parametrize(
    "record,message",
    [
        ({"text": "no source"}, "needs exactly one of 'source' (the text) or 'source-ref'"),
        ({"source": "a", "source-ref": "s3://bucket/a.txt"}, "this one has both"),
        ({"source": 12}, "12 is not of type 'string'"),
        ({"source-ref": "http://x/y"}, "does not match"),
        ({"source": "a", "category": 4}, "4 is greater than the maximum of 3"),
        ({"source": "a", "category": "Business"}, "'Business' is not of type 'integer'"),
        ({"source": "a", "category-metadata": {"human-annotated": "yes"}}, "'category' is a dependency"),
        ({"source": "a", "category": 1, "category-metadata": {"human-annotated": "maybe"}}, "is not one of"),
        ({"source": "a", "al:record-id": 1}, "reserved"),
        (
            {"source": "a", "category": 1, "category-metadata": {"human-annotated": "yes", "class-name": "Business"}},
            "does not match label 1",
        ),
    ],
)
def test_bad_input_lines_are_rejected_with_line_number(record, message):
    with pytest.raises(InvalidManifest) as error:
        INPUT.check(record, 17, "input manifest")
    assert error.value.field == "line 17"
    assert message in str(error.value)


@pytest.mark.parametrize(
    "record",
    [
        {"source": "a", "anything": {"nested": [1]}},
        {"source-ref": "s3://bucket/a.txt"},
        {"source": "a", "category": 3},
        {
            "source": "a",
            "category": 0,
            "category-metadata": {
                "human-annotated": "yes",
                "class-name": "Business",
                "creation-date": "2020-04-13T16:40:51.123456",
            },
        },
    ],
)
def test_good_input_lines_are_accepted_as_they_are(record):
    original = json.loads(json.dumps(record))
    assert INPUT.check(record, 1, "m") is None  # accepted: no error raised
    assert record == original  # and left untouched (numbering and metadata are Bootstrap's job)


def test_answer_lines_need_record_id_label_and_human_metadata():
    answers = LineChecker("category", CATEGORIES, InvalidLabeledBatch, mode="answer")
    good = {
        "al:record-id": 4,
        "category": 1,
        "category-metadata": {"human-annotated": "yes", "class-name": "Entertainment"},
    }
    answers.check(good, 1, "answers")
    for bad in (
        {**good, "al:record-id": "4"},
        {k: v for k, v in good.items() if k != "category"},
        {**good, "category-metadata": {"human-annotated": "no"}},
    ):
        with pytest.raises(InvalidLabeledBatch):
            answers.check(bad, 2, "answers")


def test_layout_names_fit_sagemaker_limits():
    prefix = "p" * 29
    run = layout.run_id("s3://b/out/", "execution")
    assert len(layout.human_job_name(prefix, run, 9999)) <= 63
    assert len(layout.round_job_name(prefix, run, 999, 99)) <= 63
    assert layout.run_id("s3://b/out/", "execution") == run
    assert layout.run_id("s3://b/other/", "execution") != run


def test_seeded_hash_is_stable_and_seed_dependent():
    assert draws.seeded_hash(1, "x", 5) == draws.seeded_hash(1, "x", 5)
    assert draws.seeded_hash(1, "x", 5) != draws.seeded_hash(2, "x", 5)
