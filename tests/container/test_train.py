"""`train`: model directory, metrics, cross-fitting, and the failure file on bad input."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest

from tests.container.helpers import (
    FOLDS,
    TEST_ROWS,
    TRAIN_ROWS,
    failure_text,
    make_opt_ml,
    run_train,
    train_lines,
    write_jsonl,
)
from text_classifier.model import load, predict_lines


def metrics_of(stdout: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(r"^([a-z_]+:[a-z_]+)=([0-9.]+)$", stdout, flags=re.M)}


def test_writes_full_and_fold_models(trained):
    model_dir = trained / "model"
    manifest = json.loads((model_dir / "model.json").read_text())
    assert manifest["format"] == "text-classifier/2"
    assert manifest["num_classes"] == 4
    assert manifest["fold_models"] == FOLDS
    assert manifest["train_lines"] == len(TRAIN_ROWS)
    assert manifest["cross_fit_lines"] == len(TRAIN_ROWS) // 4
    assert manifest["params"]["classifier"] == "complement_nb"
    assert manifest["files"]["models"] == "models.pkl" and (model_dir / "models.pkl").is_file()
    assert len(load(model_dir).folds) == FOLDS
    assert not (trained / "output" / "failure").exists()


def test_prints_metric_lines(trained):
    metrics = metrics_of((trained / "train.stdout").read_text())
    assert set(metrics) == {"train:accuracy", "cross_fit:accuracy", "validation:accuracy"}
    assert metrics["train:accuracy"] > 0.95
    assert 0.5 < metrics["validation:accuracy"] <= 1
    # Out-of-fold accuracy is honest: well below the accuracy on the training lines themselves.
    assert 0.5 < metrics["cross_fit:accuracy"] < metrics["train:accuracy"]


def test_fold_model_k_never_saw_fold_k(trained):
    """Each fold model predicts its own fold's training lines worse than the full model, which trained on them."""
    bundle = load(trained / "model")
    lines = [line for line in train_lines() if "al:fold" in line]
    texts = [line["source"] for line in lines]
    labels = np.array([line["label"] for line in lines])
    folds = [line["al:fold"] for line in lines]
    full = (bundle.predict_proba(texts).argmax(1) == labels).mean()
    oof = (bundle.predict_proba(texts, folds).argmax(1) == labels).mean()
    assert full > 0.95
    assert oof < full - 0.1
    # The fold models did train on the other folds' lines.
    other = [(k + 1) % FOLDS for k in folds]
    assert (bundle.predict_proba(texts, other).argmax(1) == labels).mean() > 0.9


def test_defaults_without_hyperparameters_file_multiple_files_and_absent_classes(tmp_path):
    """No hyperparameters.json; two files (one gzipped, one in a subfolder) and a hidden file that is skipped;
    no al:fold, so no fold models; num_classes = max label + 1 and classes absent from training get 0."""
    lines = [r for r in TRAIN_ROWS[:300] if r["label"] != 1]  # class 1 never seen, class 3 is the max
    opt_ml = make_opt_ml(tmp_path, None)
    train_dir = opt_ml / "input" / "data" / "train"
    write_jsonl(train_dir / "a.jsonl", lines[:100])
    with gzip.open(train_dir / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(line) + "\n\n" for line in lines[100:])  # blank lines are skipped in training
    write_jsonl(train_dir / "sub" / "c.jsonl", lines[:5])
    (train_dir / ".hidden").write_text("not json\n")
    result = run_train(opt_ml)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((opt_ml / "model" / "model.json").read_text())
    assert manifest["num_classes"] == 4 and manifest["fold_models"] == 0
    assert manifest["train_lines"] == len(lines) + 5
    assert not list((opt_ml / "model").glob("fold-*"))
    out = predict_lines(opt_ml / "model", [{"source": r["source"]} for r in TEST_ROWS[:20]])
    for o in out:
        assert sorted(o["label"]) == [0, 1, 2, 3]
        assert dict(zip(o["label"], o["prob"], strict=True))[1] == 0.0
        assert o["label"][-1] == 1


def test_num_classes_hyperparameter_adds_classes(tmp_path):
    opt_ml = make_opt_ml(
        tmp_path, TRAIN_ROWS[:200], hyperparameters={"num_classes": "6", "_tuning_objective_metric": "x"}
    )
    result = run_train(opt_ml)
    assert result.returncode == 0, result.stderr
    out = predict_lines(opt_ml / "model", ['{"source": "Stocks fall as oil prices rise"}'])
    assert sorted(out[0]["label"]) == list(range(6))
    assert out[0]["prob"][-2:] == [0.0, 0.0]
    assert abs(sum(out[0]["prob"]) - 1) < 1e-9


def test_single_class_and_featureless_texts_still_train(tmp_path):
    """Nothing to learn from: one class, or texts without a single feature. The model predicts the training
    class frequencies."""
    opt_ml = make_opt_ml(tmp_path / "one", [{"source": r["source"], "label": 2} for r in TRAIN_ROWS[:5]])
    assert run_train(opt_ml).returncode == 0
    out = predict_lines(opt_ml / "model", [{"source": "anything"}])
    assert out == [{"label": [2, 0, 1], "prob": [1.0, 0.0, 0.0]}]

    lines = [{"source": "a", "label": 2}, {"source": "", "label": 0}, {"source": "? !", "label": 2}]
    opt_ml = make_opt_ml(tmp_path / "none", lines, hyperparameters={"char_ngram_max": "0"})
    assert run_train(opt_ml).returncode == 0
    out = predict_lines(opt_ml / "model", [{"source": "Stocks fall"}])
    assert out[0]["label"] == [2, 0, 1] and out[0]["prob"] == pytest.approx([2 / 3, 1 / 3, 0])


def test_same_data_and_random_state_give_the_same_model(tmp_path, trained):
    """Determinism: a second training job on the same lines predicts exactly what the first one does."""
    opt_ml = make_opt_ml(
        tmp_path, train_lines(), validation=TEST_ROWS[:100], hyperparameters={"num_classes": "4", "random_state": "0"}
    )
    assert run_train(opt_ml).returncode == 0
    queries = [
        {"source": r["source"], **({"al:fold": i % FOLDS} if i % 3 == 0 else {})} for i, r in enumerate(TEST_ROWS)
    ]
    assert predict_lines(opt_ml / "model", queries) == predict_lines(trained / "model", queries)


BAD_HYPERPARAMETERS = [
    ({"nb_alpah": "0.1"}, "unknown hyperparameter 'nb_alpah'"),
    ({"nb_alpha": "-1"}, "'nb_alpha'"),
    ({"num_classes": "three"}, "'num_classes'"),
    ({"classifier": "bert"}, "'classifier'"),
    ({"word_ngram_max": "0", "char_ngram_max": "0"}, "no features"),
]


@pytest.mark.parametrize(("hyperparameters", "message"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameter_writes_failure(tmp_path, hyperparameters, message):
    opt_ml = make_opt_ml(tmp_path, TRAIN_ROWS[:50], hyperparameters=hyperparameters)
    result = run_train(opt_ml)
    assert result.returncode != 0
    assert message in failure_text(opt_ml)
    assert not (opt_ml / "model" / "model.json").exists()


BAD_LINES = [
    ('{"source": "Fed holds rates", "label": 0', "train/train.jsonl line 3: invalid JSON"),
    ('{"label": 0}', 'line 3: "source" is missing'),
    ('{"source": 7, "label": 0}', 'line 3: "source" is of type int, not a string'),
    ('{"source": "x", "label": "b"}', 'line 3: "label" must be a class index'),
    ('{"source": "x", "label": 1.5}', 'line 3: "label" must be a class index'),
    ('{"source": "x", "label": 1, "al:fold": -1}', 'line 3: "al:fold" must be an integer'),
    ('["source", "label"]', "line 3: expected a JSON object"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_bad_line_writes_failure_naming_the_line(tmp_path, bad, message):
    lines = [json.dumps(r) for r in TRAIN_ROWS[:2]] + [bad] + [json.dumps(r) for r in TRAIN_ROWS[2:20]]
    opt_ml = make_opt_ml(tmp_path, lines)
    result = run_train(opt_ml)
    assert result.returncode != 0
    text = failure_text(opt_ml)
    assert message in text
    assert "\n" not in text.strip()  # one paragraph
    assert not (opt_ml / "model" / "model.json").exists()


def test_a_fold_without_training_lines_knows_nothing_instead_of_failing(tmp_path):
    """A run with a handful of labels can put every one in one fold: that fold model predicts uniform
    probabilities (zero margin: nothing it scores is ever auto-labeled) and the round goes on."""
    opt_ml = make_opt_ml(tmp_path, [{**r, "al:fold": 2} for r in TRAIN_ROWS[:20]], hyperparameters={"num_classes": "4"})
    assert run_train(opt_ml).returncode == 0
    bundle = load(opt_ml / "model")
    probabilities = bundle.predict_proba(["Fed raises rates", "New iPhone"], [2, None])
    assert np.allclose(probabilities[0], 0.25)  # fold model 2: nothing to learn from
    assert probabilities[1].max() > 0.25  # the full model learned from all 20


def test_missing_train_channel_and_label_beyond_num_classes(tmp_path):
    opt_ml = make_opt_ml(tmp_path / "a", None, validation=TRAIN_ROWS[:10])
    assert run_train(opt_ml).returncode != 0
    assert "no 'train' channel" in failure_text(opt_ml)

    opt_ml = make_opt_ml(tmp_path / "b", TRAIN_ROWS[:50], hyperparameters={"num_classes": "3"})
    assert run_train(opt_ml).returncode != 0
    assert "has label 3 but num_classes is 3" in failure_text(opt_ml)

    opt_ml = make_opt_ml(tmp_path / "d", [*TRAIN_ROWS[:20], {"source": "x", "label": 123456789}])
    assert run_train(opt_ml).returncode != 0
    assert "the train channel has label 123456789: more than 10000 classes" in failure_text(opt_ml)

    opt_ml = make_opt_ml(tmp_path / "e", TRAIN_ROWS[:20], hyperparameters={"num_classes": "4"})
    (opt_ml / "input" / "config" / "hyperparameters.json").write_text("{not json")
    assert run_train(opt_ml).returncode != 0
    assert "hyperparameters.json is not valid JSON" in failure_text(opt_ml)
