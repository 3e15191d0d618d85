"""The model in process: the shared analysis gives exactly the features of a TfidfVectorizer fitted on each
fold's rows, and the classifier is scikit-learn's ComplementNB."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import make_pipeline, make_union

from tests.container.helpers import TEST_ROWS, train_lines
from text_classifier.contract import Example
from text_classifier.model import TextModel, output_record, train_bundle
from text_classifier.params import Params, parse


def reference(texts, labels):
    """The documented model, written with plain scikit-learn."""
    features = make_union(TfidfVectorizer(ngram_range=(1, 2)), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)))
    return make_pipeline(features, ComplementNB(alpha=0.1)).fit(texts, labels)


def test_full_and_fold_models_equal_plain_scikit_learn_fitted_on_their_rows():
    lines = train_lines()
    examples = [Example(x["source"], x["label"], x.get("al:fold")) for x in lines]
    bundle = train_bundle(examples, Params(), 4)
    queries = [r["source"] for r in TEST_ROWS]
    expected = reference([e.text for e in examples], [e.label for e in examples]).predict_proba(queries)
    np.testing.assert_allclose(bundle.full.predict_proba(queries), expected, rtol=0, atol=1e-12)
    for k, fold_model in enumerate(bundle.folds):
        kept = [e for e in examples if e.fold != k]
        expected = reference([e.text for e in kept], [e.label for e in kept]).predict_proba(queries)
        np.testing.assert_allclose(fold_model.predict_proba(queries), expected, rtol=0, atol=1e-12)


def test_pickle_round_trip_and_logistic_regression_option():
    texts = [x["source"] for x in train_lines()[:300]]
    labels = [x["label"] for x in train_lines()[:300]]
    queries = [r["source"] for r in TEST_ROWS[:50]]
    for params in (Params(), parse({"classifier": "logistic_regression", "C": "10"})):
        model = TextModel(params, 4).fit(texts, labels)
        again = pickle.loads(pickle.dumps(model, protocol=5))
        assert np.array_equal(again.predict_proba(queries), model.predict_proba(queries))


def test_output_record_orders_classes_by_probability():
    assert output_record(np.array([0.1, 0.6, 0.0, 0.3])) == {"label": [1, 3, 0, 2], "prob": [0.6, 0.3, 0.1, 0.0]}
    # ties keep the class order
    assert output_record(np.array([0.25, 0.25, 0.25, 0.25]))["label"] == [0, 1, 2, 3]


def test_fit_needs_labels():
    with pytest.raises(ValueError):
        TextModel(Params(), 4).fit(["a b"], [])
