"""Labeling backends: the registry is the schema's list, and each backend's answers are found and read."""

import pytest

from labeling_common import backends, settings
from labeling_common.errors import InvalidLabeledBatch

BATCH = {
    "job_name": "news-1a2b3c4d-h0001",
    "answer_uri": "s3://bucket-1/run/batches/news-1a2b3c4d-h0001/answers.manifest",
    "output_uri": "s3://bucket-1/run/batches/news-1a2b3c4d-h0001/ground-truth/",
}


def test_the_registry_holds_exactly_the_backends_the_request_schema_offers():
    assert list(backends.BACKENDS) == settings.choices("LabelingBackend")
    with pytest.raises(ValueError, match="unknown labeling backend 'mturk'"):
        backends.backend("mturk")


def test_where_each_backend_delivers_a_batchs_answers():
    assert backends.backend("callback").answers_uri(BATCH) == BATCH["answer_uri"]
    assert backends.backend("ground_truth").answers_uri(BATCH) == (
        f"{BATCH['output_uri']}news-1a2b3c4d-h0001/manifests/output/output.manifest"
    )
    assert backends.backend("ground_truth").required_request_fields == ("HumanTaskConfig",)


def test_the_labeled_manifest_is_read_from_each_backends_result():
    answer = {"JobName": BATCH["job_name"], "LabeledManifestS3Uri": BATCH["answer_uri"]}
    assert backends.labeled_manifest_uri({"callback_answer": answer}, BATCH) == BATCH["answer_uri"]
    adopted = {"labeled_manifest_uri": "s3://bucket-1/run/earlier.manifest"}  # Ground Truth, or resumed answers
    assert backends.labeled_manifest_uri(adopted, BATCH) == "s3://bucket-1/run/earlier.manifest"
    with pytest.raises(InvalidLabeledBatch) as error:
        backends.labeled_manifest_uri({"callback_answer": {**answer, "JobName": "news-other-h0002"}}, BATCH)
    assert error.value.field == "$.labeling.callback_answer.JobName"
    with pytest.raises(InvalidLabeledBatch, match="no labeling result"):
        backends.labeled_manifest_uri({"something": 1}, BATCH)
