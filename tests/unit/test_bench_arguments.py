"""What the bench's options deploy: a lever measured with the bench is a Terraform variable set, not a patch."""

import argparse

import pytest

from local.bench import deployment_variables, main


def test_the_fold_count_is_deployed_only_when_given():
    default = argparse.Namespace(model_preset="bundled", cross_fit_folds=None)
    assert deployment_variables(default) == {"model_preset": "bundled"}
    ten = argparse.Namespace(model_preset="bundled_image", cross_fit_folds=10)
    assert deployment_variables(ten) == {"model_preset": "bundled_image", "cross_fit_folds": 10}


@pytest.mark.parametrize(
    ("folds", "why"), [("1", "less than the minimum of 2"), ("21", "greater than the maximum of 20")]
)
def test_a_fold_count_terraform_would_refuse_is_refused_before_anything_is_deployed(capsys, folds, why):
    with pytest.raises(SystemExit) as exited:
        main(["--cross-fit-folds", folds])
    assert exited.value.code == 2 and f"--cross-fit-folds: {folds} is {why}" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--class-share", "0.02"], ["--one-vs-rest", "m", "--class-share", "1"]])
def test_a_class_share_needs_one_class_against_the_rest_and_a_share_below_one(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and "--class-share needs --one-vs-rest" in capsys.readouterr().err


def test_the_per_class_limit_the_confidence_level_and_the_class_share_reach_the_run(monkeypatch, tmp_path):
    import dataclasses

    from local import bench
    from local.sample import Dataset

    started = {}

    def start(deployment, sample, options, answers):
        started.update(sample=sample, options=options)
        raise RuntimeError("stop before running")

    monkeypatch.setattr(bench, "STATE_DIR", tmp_path)
    monkeypatch.setattr(bench.runner, "start", start)
    args = argparse.Namespace(
        size=500, protocol="unlabeled", label_noise=0.0, worker_accuracy=1.0, workers_per_item=1,
        human_batch_size=50, target_accuracy=0.95, confidence_level=0.99, max_class_miss_rate=0.1,
        bootstrap_fraction=0.2, timeout=60,
    )  # fmt: skip
    rare = dataclasses.replace(Dataset.bundled(), one_vs_rest="m", class_share=0.02)
    with pytest.raises(RuntimeError, match="stop before running"):
        bench.run_one(None, rare, args, "margin", 0)
    assert started["options"].max_class_miss_rate == 0.1
    assert started["options"].active_learning_options()["max_class_miss_rate"] == 0.1
    assert started["options"].active_learning_options()["confidence_level"] == 0.99
    assert sum(label == 0 for label in started["sample"].truth.values()) == 10  # 2% of 500


def test_make_run_and_make_bench_take_their_settings_from_the_request_schema(capsys):
    """One source: the options' defaults, types and enums are the schema's, as `labeler request`'s are."""
    from labeling_common import settings
    from local import run

    defaults = settings.defaults()
    parsed = run.parse([])
    assert (parsed.target_accuracy, parsed.max_rounds, parsed.auto_label_method) == (
        defaults["TargetAccuracy"], defaults["MaxRounds"], defaults["AutoLabelMethod"],
    )  # fmt: skip
    assert isinstance(run.parse(["--human-batch-size", "40"]).human_batch_size, int)
    with pytest.raises(SystemExit):
        run.parse(["--auto-label-method", "threshold"])
    assert "invalid choice: 'threshold'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--bootstrap-fraction", "a fifth"])
    assert "--bootstrap-fraction: invalid float value" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the schema's range, before anything is deployed
        main(["--max-class-miss-rate", "0"])
    assert "--max-class-miss-rate: 0.0 is less than or equal to the minimum of 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run.parse(["--max-rounds", "2.5"])
    assert "--max-rounds: invalid int value: '2.5'" in capsys.readouterr().err
