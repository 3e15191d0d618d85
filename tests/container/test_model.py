"""The model in process: the shared analysis gives exactly the features of a TfidfVectorizer fitted on each
fold's rows, the classifier is scikit-learn's ComplementNB, and the sentence-embedding expert multiplies in
scikit-learn's LogisticRegression on the all-MiniLM-L6-v2 embeddings."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline, make_union

from tests.container.helpers import TEST_ROWS, train_lines
from text_classifier.contract import Example
from text_classifier.embedding import default_embedder
from text_classifier.model import (
    MODELS_FILE,
    NEIGHBOURS_FILE,
    ModelError,
    TextModel,
    load,
    output_record,
    product_of_experts,
    save,
    train_bundle,
)
from text_classifier.params import Params, parse

TFIDF_ONLY = Params(sentence_embedding="none")


def reference(texts, labels):
    """The documented model, written with plain scikit-learn."""
    features = make_union(TfidfVectorizer(ngram_range=(1, 2)), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)))
    return make_pipeline(features, ComplementNB(alpha=0.1)).fit(texts, labels)


def reference_with_embedding(texts, labels, queries):
    """The default model, written with plain scikit-learn: the TF-IDF model's probabilities times those of
    logistic regression on the sentence embeddings, normalised."""

    def embed(texts):
        return default_embedder().embed(texts).astype(np.float64)

    expert = LogisticRegression(C=4.0, max_iter=2000, random_state=0).fit(embed(texts), labels)
    return product_of_experts(reference(texts, labels).predict_proba(queries), expert.predict_proba(embed(queries)))


@pytest.mark.parametrize("params", [TFIDF_ONLY, Params()], ids=["tfidf-only", "with-sentence-embedding"])
def test_full_and_fold_models_equal_plain_scikit_learn_fitted_on_their_rows(params):
    lines = train_lines()
    examples = [Example(x["source"], x["label"], x.get("al:fold")) for x in lines]
    bundle = train_bundle(examples, params, 4)
    queries = [r["source"] for r in TEST_ROWS]

    def expected(kept):
        texts, labels = [e.text for e in kept], [e.label for e in kept]
        if params.sentence_embedding == "none":
            return reference(texts, labels).predict_proba(queries)
        return reference_with_embedding(texts, labels, queries)

    np.testing.assert_allclose(bundle.full.predict_proba(queries), expected(examples), rtol=0, atol=1e-9)
    for k, fold_model in enumerate(bundle.folds):
        kept = [e for e in examples if e.fold != k]
        np.testing.assert_allclose(fold_model.predict_proba(queries), expected(kept), rtol=0, atol=1e-9)


def reference_neighbour_vote(texts, labels, queries, k=10, prior=0.5):
    """The nearest-neighbour expert, written with scikit-learn's KNeighborsClassifier (cosine, uniform vote) on
    the embeddings as the model stores them (float16), the vote fractions smoothed by `prior` per class (every
    class of these tests' training lines is held, so every class gets it)."""

    def embed(texts):
        return default_embedder().embed(texts).astype(np.float16).astype(np.float64)

    knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(embed(texts), labels)
    counts = knn.predict_proba(embed(queries)) * k + prior
    return counts / counts.sum(axis=1, keepdims=True)


def test_the_bundle_multiplies_in_a_neighbour_vote_that_leaves_out_the_fold_models_own_fold(tmp_path):
    """Full model: every training line votes; fold model k: only lines outside fold k, as for its training
    (a validation item is never its own neighbour). The same after saving and loading the model directory."""
    lines = train_lines()
    examples = [Example(x["source"], x["label"], x.get("al:fold")) for x in lines]
    bundle = train_bundle(examples, Params(), 4)
    save(bundle, tmp_path)
    assert (tmp_path / NEIGHBOURS_FILE).is_file()
    loaded = load(tmp_path)
    queries = [r["source"] for r in TEST_ROWS[:120]]
    for fold, model in [(None, bundle.full), *enumerate(bundle.folds)]:
        kept = [e for e in examples if fold is None or e.fold != fold]
        texts, labels = [e.text for e in kept], [e.label for e in kept]
        expected = product_of_experts(model.predict_proba(queries), reference_neighbour_vote(texts, labels, queries))
        for predictor in (bundle, loaded):
            got = predictor.predict_proba(queries, [fold] * len(queries))
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("params", [Params(neighbours=0), TFIDF_ONLY], ids=["neighbours=0", "no-embedding"])
def test_without_the_neighbour_expert_the_bundle_is_its_models(tmp_path, params):
    lines = train_lines()
    examples = [Example(x["source"], x["label"], x.get("al:fold")) for x in lines]
    bundle = train_bundle(examples, params, 4)
    save(bundle, tmp_path)
    assert not (tmp_path / NEIGHBOURS_FILE).exists()
    queries = [r["source"] for r in TEST_ROWS[:50]]
    assert np.array_equal(load(tmp_path).predict_proba(queries), bundle.full.predict_proba(queries))


def test_a_neighbour_vote_over_fewer_lines_than_neighbours_counts_every_line():
    examples = [Example(x["source"], x["label"], None) for x in train_lines()[:6]]
    bundle = train_bundle(examples, Params(), 4)
    vote = bundle.neighbours.proba(default_embedder().embed([TEST_ROWS[0]["source"]]), 4)
    counts = np.bincount([e.label for e in examples], minlength=4)
    counts = counts + 0.5 * (counts > 0)
    np.testing.assert_allclose(vote, [counts / counts.sum()], atol=1e-12)


def test_a_class_no_line_holds_gets_no_vote_and_keeps_probability_zero():
    examples = [Example(x["source"], x["label"], None) for x in train_lines()[:200] if x["label"] != 2]
    bundle = train_bundle(examples, Params(), 5)  # classes 2 and 4 never seen
    queries = [r["source"] for r in TEST_ROWS[:20]]
    vote = bundle.neighbours.proba(default_embedder().embed(queries), 5)
    assert np.all(vote[:, [2, 4]] == 0) and np.all(vote[:, [0, 1, 3]] > 0)
    assert np.all(bundle.predict_proba(queries)[:, [2, 4]] == 0.0)


def test_the_neighbour_vote_makes_the_confident_predictions_more_often_right():
    """The reason the expert is there (measured at scale in the container README): on held-out headlines, the
    most confident half of the bundle's predictions is at least as accurate with the vote as without it."""
    examples = [Example(x["source"], x["label"], None) for x in train_lines()]
    queries, truth = [r["source"] for r in TEST_ROWS], np.array([r["label"] for r in TEST_ROWS])

    def accuracy_of_most_confident_half(params):
        p = train_bundle(examples, params, 4).predict_proba(queries)
        top = np.argsort(-p.max(axis=1), kind="stable")[: len(queries) // 2]
        return float(np.mean(p[top].argmax(axis=1) == truth[top]))

    assert accuracy_of_most_confident_half(Params()) >= accuracy_of_most_confident_half(Params(neighbours=0))


def test_the_sentence_embedding_makes_the_confident_predictions_more_often_right():
    """The reason the expert is there (measured at scale in the container README): on held-out headlines,
    the most confident half of the predictions of the product is at least as accurate as the TF-IDF model's."""
    lines = train_lines()
    texts, labels = [x["source"] for x in lines], [x["label"] for x in lines]
    queries, truth = [r["source"] for r in TEST_ROWS], np.array([r["label"] for r in TEST_ROWS])

    def accuracy_of_most_confident_half(params):
        p = TextModel(params, 4).fit(texts, labels).predict_proba(queries)
        top = np.argsort(-p.max(axis=1), kind="stable")[: len(queries) // 2]
        return float(np.mean(p[top].argmax(axis=1) == truth[top]))

    assert accuracy_of_most_confident_half(Params()) >= accuracy_of_most_confident_half(TFIDF_ONLY)


def test_product_of_experts_needs_every_experts_support():
    a = np.array([[0.9, 0.1, 0.0], [0.5, 0.5, 0.0]])
    b = np.array([[0.5, 0.5, 0.0], [0.2, 0.8, 0.0]])
    np.testing.assert_allclose(product_of_experts(a, b), [[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]], atol=1e-12)
    # probabilities that underflow to 0 in a plain product stay a valid distribution
    tiny = np.array([[1e-300, 1.0 - 1e-300]])
    assert np.isclose(product_of_experts(tiny, tiny, tiny).sum(), 1.0)


def test_pickle_round_trip_and_logistic_regression_option():
    texts = [x["source"] for x in train_lines()[:300]]
    labels = [x["label"] for x in train_lines()[:300]]
    queries = [r["source"] for r in TEST_ROWS[:50]]
    for params in (Params(), parse({"classifier": "logistic_regression", "C": "10"})):
        model = TextModel(params, 4).fit(texts, labels)
        again = pickle.loads(pickle.dumps(model, protocol=5))
        assert np.array_equal(again.predict_proba(queries), model.predict_proba(queries))


def test_the_full_and_fold_models_share_one_vocabulary_per_block_in_memory_and_on_disk(tmp_path):
    """One vocabulary per feature block, however many fold models: with long texts a copy per model took
    training past 3 GB. Saved in one pickle, it is written and loaded once, and the loaded bundle predicts
    exactly what the trained one does."""
    examples = [Example(x["source"], x["label"], x.get("al:fold")) for x in train_lines()]
    bundle = train_bundle(examples, TFIDF_ONLY, 4)
    save(bundle, tmp_path)
    loaded = load(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", MODELS_FILE]
    for models in (bundle, loaded):
        vocabularies = [block.vocabulary for block in models.full.blocks]
        assert len(vocabularies) == 2 and all(block.columns is None for block in models.full.blocks)
        for fold_model in models.folds:
            assert all(a is b for a, b in zip((b.vocabulary for b in fold_model.blocks), vocabularies, strict=True))
            assert all(0 < len(block.columns) < len(block.vocabulary.terms) for block in fold_model.blocks)
    queries = [r["source"] for r in TEST_ROWS]
    folds = [None if i % 6 == 5 else i % 6 for i in range(len(queries))]  # fold models 0-4 and the full model
    np.testing.assert_array_equal(loaded.predict_proba(queries, folds), bundle.predict_proba(queries, folds))


def test_a_models_file_without_the_models_model_json_lists_is_refused(tmp_path):
    examples = [Example(x["source"], x["label"], x.get("al:fold")) for x in train_lines()[:200]]
    bundle = train_bundle(examples, TFIDF_ONLY, 4)
    save(bundle, tmp_path)
    with open(tmp_path / MODELS_FILE, "wb") as f:
        pickle.dump([bundle.full], f)
    with pytest.raises(ModelError, match=f"{MODELS_FILE} does not hold the {len(bundle.folds) + 1} models"):
        load(tmp_path)


def test_output_record_orders_classes_by_probability():
    assert output_record(np.array([0.1, 0.6, 0.0, 0.3])) == {"label": [1, 3, 0, 2], "prob": [0.6, 0.3, 0.1, 0.0]}
    # ties keep the class order
    assert output_record(np.array([0.25, 0.25, 0.25, 0.25]))["label"] == [0, 1, 2, 3]


def test_fit_needs_labels():
    with pytest.raises(ValueError):
        TextModel(Params(), 4).fit(["a b"], [])


@pytest.mark.parametrize("package", ["scikit-learn", "embedding-model"])
def test_a_model_trained_with_other_library_or_embedding_versions_is_refused(tmp_path, package):
    texts = [x["source"] for x in train_lines()[:200]]
    labels = [x["label"] for x in train_lines()[:200]]
    bundle = train_bundle([Example(t, y, None) for t, y in zip(texts, labels, strict=True)], Params(), 4)
    save(bundle, tmp_path)
    assert load(tmp_path).full.embedding_classifier is not None
    manifest = json.loads((tmp_path / "model.json").read_text())
    manifest["versions"][package] = "0.0.1"
    (tmp_path / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=f"trained with {package} 0.0.1 .* same image"):
        load(tmp_path)
