"""The AL round's functions in the order the round state machine runs them, with a stand-in transform."""

import json

import pytest
from bootstrap_manifest.handler import lambda_handler as bootstrap
from create_validation_set.handler import lambda_handler as create_validation_set
from merge_labels.handler import lambda_handler as merge
from prepare_inference.handler import lambda_handler as prepare_inference
from prepare_training.handler import lambda_handler as prepare_training
from select_and_auto_label.handler import lambda_handler as select_and_auto_label

from labeling_common.errors import InvalidEvent, InvalidInferenceOutput
from tests.support import (
    CATEGORY_INDEX,
    EXECUTION,
    MODEL_CONFIG,
    fake_transform,
    make_config,
    manifest_records,
    uci_rows,
)


@pytest.fixture
def round_start(workspace, lambda_context):
    rows = uci_rows(2000, seed=3)
    workspace.put_lines("input/input.manifest", manifest_records(rows, labeled_fraction=0.3))
    config = make_config(workspace, human_batch_size=40)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    assert state["next"] == "round"
    truth = {i: CATEGORY_INDEX[row["category"]] for i, row in enumerate(rows)}
    return workspace, config, state, truth


def test_holdout_validation_set_is_stratified_random_once_per_run(round_start, lambda_context, monkeypatch):
    workspace, config, state, truth = round_start
    monkeypatch.setenv("MODEL_CONFIG", json.dumps({**MODEL_CONFIG, "calibration_mode": "holdout"}))
    new = create_validation_set({"config": config, "progress": state}, lambda_context)
    items = workspace.read_lines(new["validation_uri"])
    assert new["counts"]["validation"] == len(items) == 200  # 10% of 2,000; at most half of the 600 human labels
    assert all(item["al:record-id"] < 600 and item["label"] == truth[item["al:record-id"]] for item in items)
    human = [truth[i] for i in range(600)]
    for label in range(4):  # class shares within one item of the human labels' shares
        assert abs(sum(i["label"] == label for i in items) - 200 * human.count(label) / 600) <= 1
    assert [i["al:record-id"] for i in items] != list(range(200))
    assert create_validation_set({"config": config, "progress": new}, lambda_context) == new


def test_cross_fit_calibrates_on_every_random_human_label(round_start, lambda_context):
    workspace, config, state, truth = round_start
    new = create_validation_set({"config": config, "progress": state}, lambda_context)
    items = workspace.read_lines(new["validation_uri"])
    assert [item["al:record-id"] for item in items] == list(range(600))


@pytest.mark.parametrize("calibration_mode", ["cross_fit", "holdout"])
def test_training_channels_and_request(round_start, lambda_context, monkeypatch, calibration_mode):
    workspace, config, state, _ = round_start
    monkeypatch.setenv("MODEL_CONFIG", json.dumps({**MODEL_CONFIG, "calibration_mode": calibration_mode}))
    state = create_validation_set({"config": config, "progress": state}, lambda_context)
    training = prepare_training({"config": config, "progress": state}, lambda_context)
    request = training["request"]
    assert training["round"] == 1 and request["TrainingJobName"] == f"news-{state['run_id']}-r001-a1"
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    train = workspace.read_lines(channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] + "train.jsonl")
    assert set(train[0]) <= {"al:record-id", "source", "label", "al:fold"}
    if calibration_mode == "cross_fit":
        assert set(channels) == {"train"} and len(train) == 600
        assert {line["al:fold"] for line in train if "al:fold" in line} == {0, 1, 2, 3, 4}
        assert all("al:fold" in line for line in train)  # every human label is also a calibration item
    else:
        assert set(channels) == {"train", "validation"} and len(train) == 400
    assert request["AlgorithmSpecification"] == {
        "TrainingImage": MODEL_CONFIG["training_image"],
        "TrainingInputMode": "File",
    }
    assert request["RoleArn"] == MODEL_CONFIG["sagemaker_role_arn"]
    assert request["OutputDataConfig"]["S3OutputPath"].endswith("rounds/round-001-a1/model/")
    assert training["model"]["name"] == request["TrainingJobName"]


def test_blazingtext_channels_are_augmented_manifests_in_pipe_mode(round_start, lambda_context, monkeypatch):
    workspace, config, state, _ = round_start
    monkeypatch.setenv(
        "MODEL_CONFIG",
        json.dumps(
            {
                **MODEL_CONFIG,
                "channel_format": "augmented_manifest",
                "calibration_mode": "holdout",
                "hyperparameters": {"mode": "supervised"},
            }
        ),
    )
    state = create_validation_set({"config": config, "progress": state}, lambda_context)
    request = prepare_training({"config": config, "progress": state}, lambda_context)["request"]
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "Pipe"
    train = request["InputDataConfig"][0]
    assert train["DataSource"]["S3DataSource"]["S3DataType"] == "AugmentedManifestFile"
    assert train["DataSource"]["S3DataSource"]["AttributeNames"] == ["source", "label"]
    assert train["RecordWrapperType"] == "RecordIO"


def test_script_mode_reads_its_source_archive_from_a_code_channel(round_start, lambda_context, monkeypatch):
    """A framework image with network isolation cannot fetch its code: it arrives as a File-mode channel."""
    workspace, config, state, _ = round_start
    archive = "s3://labeling-bucket/code/text-classifier/abc123/sourcedir.tar.gz"
    monkeypatch.setenv("MODEL_CONFIG", json.dumps({**MODEL_CONFIG, "source_archive": archive}))
    state = create_validation_set({"config": config, "progress": state}, lambda_context)
    request = prepare_training({"config": config, "progress": state}, lambda_context)["request"]
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    assert set(channels) == {"train", "code"} and request["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert channels["code"]["DataSource"]["S3DataSource"] == {
        "S3DataType": "S3Prefix",
        "S3Uri": archive,
        "S3DataDistributionType": "FullyReplicated",
    }
    assert channels["code"]["InputMode"] == "File"


def test_a_bad_model_config_is_an_invalid_event(round_start, lambda_context, monkeypatch):
    workspace, config, state, _ = round_start
    monkeypatch.setenv("MODEL_CONFIG", json.dumps({**MODEL_CONFIG, "channel_format": "augmented_manifest"}))
    with pytest.raises(InvalidEvent) as error:  # BlazingText cannot cross-fit
        prepare_training({"config": config, "progress": state}, lambda_context)
    assert error.value.field == "MODEL_CONFIG.calibration_mode"


def run_round(workspace, config, state, truth, context, **transform):
    state = create_validation_set({"config": config, "progress": state}, context)
    training = prepare_training({"config": config, "progress": state}, context)
    inference = prepare_inference({"config": config, "progress": state, "training": training}, context)
    fake_transform(workspace, inference, truth, **transform)
    result = select_and_auto_label(
        {"config": config, "progress": state, "training": training, "inference": inference}, context
    )
    merged = merge({"config": config, "progress": state, "source": "auto", "round_result": result}, context)
    return state, training, inference, result, merged


def test_a_whole_round_auto_labels_above_a_calibrated_threshold_and_selects_the_least_certain(
    round_start, lambda_context
):
    workspace, config, state, truth = round_start
    state, training, inference, result, merged = run_round(workspace, config, state, truth, lambda_context)

    assert inference["pool_count"] == 1400 and inference["validation_count"] == 600
    transform_input = workspace.read_lines(
        inference["request"]["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] + "records.jsonl"
    )
    assert all(set(line) <= {"al:record-id", "source", "al:fold"} for line in transform_input)
    summary = workspace.read_json(result["summary_uri"])
    assert result["threshold"] is not None and result["accuracy_lower_bound"] >= 0.95
    assert summary["calibration"]["lower_bound"] == result["accuracy_lower_bound"]
    auto = workspace.read_lines(result["auto_labels_uri"])
    assert len(auto) == result["auto_labeled"] > 700
    accuracy = sum(line["category"] == truth[line["al:record-id"]] for line in auto) / len(auto)
    assert accuracy >= 0.95
    assert auto[0]["category-metadata"]["human-annotated"] == "no"
    assert auto[0]["category-metadata"]["job-name"] == f"labeling-job/{training['job_name']}"

    selection = workspace.read_lines(result["selection_uri"])
    assert len(selection) == result["selected"] == 40
    priorities = [line["priority"] for line in selection]
    assert priorities == sorted(priorities, reverse=True)  # most uncertain first
    auto_ids = {line["al:record-id"] for line in auto}
    assert not auto_ids & {line["al:record-id"] for line in selection}

    assert merged["counts"]["auto"] == result["auto_labeled"] and merged["round"] == 1
    assert merged["next"] == "human_batch" and merged["pending_batch"]["kind"] == "selection"
    assert merged["pending_batch"]["selection_uri"] == result["selection_uri"]


def test_the_aws_sample_rule_is_available_for_comparison(round_start, lambda_context):
    workspace, config, state, truth = round_start
    config = {**config, "auto_label_method": "margin_threshold", "margin_threshold": 0.5, "query_strategy": "random"}
    *_, result, _ = run_round(workspace, config, state, truth, lambda_context, accuracy=0.8)
    assert result["threshold"] == 0.5
    summary = workspace.read_json(result["summary_uri"])
    assert summary["calibration"]["lower_bound"] < 0.95  # it auto-labels anyway: that is the sample's weakness
    auto = workspace.read_lines(result["auto_labels_uri"])
    assert sum(line["category"] == truth[line["al:record-id"]] for line in auto) / len(auto) < 0.95


def test_a_model_whose_confidence_means_nothing_auto_labels_nothing(round_start, lambda_context):
    workspace, config, state, truth = round_start
    *_, result, merged = run_round(workspace, config, state, truth, lambda_context, accuracy=0.7, informative=False)
    assert result["auto_labeled"] == 0 and result["threshold"] is None and result["selected"] == 40
    assert merged["next"] == "human_batch"


def test_transform_output_that_misses_or_repeats_records_is_refused(round_start, lambda_context):
    workspace, config, state, truth = round_start
    state = create_validation_set({"config": config, "progress": state}, lambda_context)
    training = prepare_training({"config": config, "progress": state}, lambda_context)
    inference = prepare_inference({"config": config, "progress": state, "training": training}, lambda_context)
    fake_transform(workspace, inference, truth)
    out_key = inference["output_uri"][len("s3://labeling-bucket/") :] + "records.jsonl.out"
    lines = workspace.read_lines(workspace.uri(out_key))
    event = {"config": config, "progress": state, "training": training, "inference": inference}
    for broken, message in (
        (lines[:-1], "expected"),
        (lines + lines[:1], "appears twice"),
        (
            [{**lines[0], "SageMakerOutput": {"label": ["__label__9"], "prob": [1.0]}}] + lines[1:],
            "not in the label config",
        ),
        (
            [{**lines[0], "SageMakerOutput": {"label": [0, 1], "prob": [1.0]}}] + lines[1:],
            "2 labels but 1 probabilities",
        ),
    ):
        workspace.put_lines(out_key, broken)
        with pytest.raises(InvalidInferenceOutput, match=message):
            select_and_auto_label(event, lambda_context)


def test_diverse_margin_selects_a_full_batch_of_uncertain_items(round_start, lambda_context):
    workspace, config, state, truth = round_start
    config = {**config, "query_strategy": "diverse_margin"}
    *_, result, _ = run_round(workspace, config, state, truth, lambda_context)
    selection = workspace.read_lines(result["selection_uri"])
    assert len(selection) == result["selected"] == 40
    assert len({line["al:record-id"] for line in selection}) == 40


@pytest.mark.parametrize("informative", [True, False])
def test_each_round_certifies_the_whole_auto_labeled_set_afresh(round_start, lambda_context, informative):
    """Round 2's pool holds round 1's auto-labels again. A certificate covering at least as many items replaces
    them (merged: exactly round 2's auto-labels); a round that certifies nothing keeps them and their
    certificate, and sends none of them to people."""
    workspace, config, state, truth = round_start
    *_, first, after_first = run_round(workspace, config, state, truth, lambda_context)
    first_ids = {line["al:record-id"] for line in workspace.read_lines(first["auto_labels_uri"])}
    assert first["certificate_round"] == 1 and after_first["certificate_round"] == 1

    better = {"accuracy": 0.97} if informative else {"informative": False}  # a better model, or a useless one
    state, _, inference, second, merged = run_round(
        workspace, config, after_first, truth, lambda_context, seed=1, **better
    )
    assert inference["pool_count"] == 1400  # every item without a human label, round 1's auto-labels included
    auto_in_manifest = {
        record["al:record-id"]
        for record in workspace.read_lines(merged["working_manifest_uri"])
        if record.get("category-metadata", {}).get("human-annotated") == "no"
    }
    selected = {line["al:record-id"] for line in workspace.read_lines(second["selection_uri"])}
    if informative:
        second_ids = {line["al:record-id"] for line in workspace.read_lines(second["auto_labels_uri"])}
        assert second["certificate_round"] == merged["certificate_round"] == 2 and len(second_ids) >= len(first_ids)
        assert auto_in_manifest == second_ids != first_ids and merged["counts"]["auto"] == len(second_ids)
    else:
        assert second["threshold"] is None and second["auto_labeled"] == 0
        assert second["certificate_round"] == merged["certificate_round"] == 1
        assert auto_in_manifest == first_ids and merged["counts"]["auto"] == len(first_ids)
        assert selected and selected.isdisjoint(first_ids)
