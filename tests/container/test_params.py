"""Hyperparameter parsing (in process): SageMaker's strings, defaults, and clear errors."""

from __future__ import annotations

import pytest

from text_classifier.params import HyperparameterError, Params, parse


def test_defaults():
    assert parse({}) == parse(None) == Params()
    assert Params().classifier == "complement_nb" and Params().nb_alpha == 0.1 and Params().random_state == 0


def test_strings_as_sagemaker_passes_them():
    params = parse(
        {
            "num_classes": "4",
            "random_state": "7",
            "nb_alpha": "0.25",
            "classifier": "logistic_regression",
            "C": "3",
            "word_ngram_max": "1",
            "char_ngram_min": "3",
            "char_ngram_max": "6",
            "lowercase": "false",
            "neighbours": "25",
        }
    )
    assert params == Params(
        num_classes=4,
        random_state=7,
        nb_alpha=0.25,
        classifier="logistic_regression",
        C=3.0,
        word_ngram_max=1,
        char_ngram_min=3,
        char_ngram_max=6,
        lowercase=False,
        neighbours=25,
    )


def test_json_numbers_and_sagemaker_injected_keys():
    assert parse(
        {
            "num_classes": 4,
            "nb_alpha": 1,
            "lowercase": True,
            "_tuning_objective_metric": "validation:accuracy",
            "sagemaker_region": "us-east-1",
        }
    ) == Params(num_classes=4, nb_alpha=1.0)
    assert parse({"num_classes": "4.0"}).num_classes == 4


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"nb_alpah": "0.1", "epochs": "3"}, "unknown hyperparameters 'epochs', 'nb_alpah'; known: C, char_ngram_max"),
        ({"num_classes": "1"}, "hyperparameter 'num_classes': must be at least 2"),
        ({"num_classes": "4.5"}, "hyperparameter 'num_classes': expected an integer, got '4.5'"),
        ({"num_classes": True}, "hyperparameter 'num_classes': expected an integer, got a boolean"),
        ({"nb_alpha": "0"}, "hyperparameter 'nb_alpha': must be greater than 0"),
        ({"nb_alpha": "nan"}, "hyperparameter 'nb_alpha': expected a finite number"),
        ({"random_state": "-1"}, "hyperparameter 'random_state': must be at least 0"),
        ({"lowercase": "maybe"}, "hyperparameter 'lowercase': expected true or false"),
        ({"neighbours": "-1"}, "hyperparameter 'neighbours': must be at least 0"),
        ({"classifier": "svm"}, "hyperparameter 'classifier': expected one of complement_nb, logistic_regression"),
        ({"char_ngram_min": "4", "char_ngram_max": "3"}, "char_ngram_max (3) is smaller than char_ngram_min (4)"),
        ({"word_ngram_max": "0", "char_ngram_max": "0"}, "no features"),
        (["num_classes"], "must be a JSON object"),
    ],
)
def test_errors_name_the_hyperparameter(raw, message):
    with pytest.raises(HyperparameterError) as info:
        parse(raw)
    assert message in str(info.value)
