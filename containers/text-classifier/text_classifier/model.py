"""The model: TF-IDF word and character n-grams -> complement naive Bayes (or logistic regression), times
logistic regression on the all-MiniLM-L6-v2 sentence embedding (a product of experts; see embedding.py), the
cross-fitted fold models, saving/loading the model directory, and prediction of JSON Lines records.

Model directory (what `train` writes and SageMaker tars into model.tar.gz):

    model.json      format, number of classes, number of fold models, hyperparameters, library versions,
                    training metrics
    models.pkl      the model trained on every training line, then fold model k, trained on every line whose
                    `al:fold` is not k (only with cross-fitting), in one pickle: they share each feature block's
                    vocabulary, which is stored (and loaded) once
    neighbours.npz  the training lines' sentence embeddings (float16), labels and folds: the nearest-neighbour
                    expert's memory, shared by the full model and the fold models (with `neighbours` > 0)

models.pkl is a Python pickle (protocol 5) of TextModel objects: load them only from a model directory
you trust, with the scikit-learn version that wrote them (model.json records it; load() checks it).
"""

from __future__ import annotations

import json
import os
import pickle
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

from . import embedding
from .contract import FOLD_KEY, Example, RecordError, check_record, parse_lines
from .params import Params

FORMAT = "text-classifier/2"  # /1 had one pickle per model, each with its own copy of the vocabularies
MANIFEST = "model.json"
MODELS_FILE = "models.pkl"
NEIGHBOURS_FILE = "neighbours.npz"


class ModelError(RuntimeError):
    """The model directory is missing, incomplete or from an incompatible version."""


# --- features -----------------------------------------------------------------------------------------


def _block_settings(params: Params) -> list[dict[str, Any]]:
    """CountVectorizer settings of each feature block: word 1..n-grams and char_wb n-grams."""
    blocks = []
    if params.word_ngram_max:
        blocks.append({"analyzer": "word", "ngram_range": (1, params.word_ngram_max)})
    if params.char_ngram_max:
        blocks.append({"analyzer": "char_wb", "ngram_range": (params.char_ngram_min, params.char_ngram_max)})
    return [{**settings, "lowercase": params.lowercase} for settings in blocks]


def _idf(document_frequency: np.ndarray, n_documents: int) -> np.ndarray:
    """Smoothed inverse document frequency, as TfidfVectorizer's default (smooth_idf=True)."""
    return np.log((1.0 + n_documents) / (1.0 + document_frequency)) + 1.0


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """TfidfVectorizer's default weighting: raw counts times idf, each row scaled to unit L2 norm."""
    return normalize(sp.csr_matrix(counts @ sp.diags(idf)), norm="l2", copy=False)


class Vocabulary:
    """The terms of one feature block over every training text (in CountVectorizer's alphabetical order), and
    the CountVectorizer that counts them (rebuilt on load, not pickled). The full model and every fold model
    count with the same one: with long texts the vocabularies, not the classifiers, are what a model weighs
    (measured: a copy per model took training to 3.2 GB for 4,000 texts of ~2,400 characters)."""

    def __init__(self, settings: dict[str, Any], terms: dict[str, int]):
        self.settings = settings
        self.terms = terms
        self._counter = self._make_counter()

    def _make_counter(self) -> CountVectorizer:
        counter = CountVectorizer(**self.settings, vocabulary=self.terms, dtype=np.float64)
        counter.transform([""])  # validates the vocabulary once, here, not on a first transform in a request thread
        return counter

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_counter"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._counter = self._make_counter()

    def count(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self._counter.transform(texts)


class TfidfBlock:
    """One fitted block of TF-IDF features, equivalent to a TfidfVectorizer with default weighting fitted on
    the model's own rows: the shared vocabulary's counts, restricted to the `columns` those rows use (None:
    every column, as for the full model), weighted by the rows' idf."""

    def __init__(self, vocabulary: Vocabulary, columns: np.ndarray | None, idf: np.ndarray):
        self.vocabulary = vocabulary
        self.columns = columns
        self.idf = idf

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        counts = self.vocabulary.count(texts)
        return _tfidf(counts if self.columns is None else counts[:, self.columns], self.idf)


def uses_embedding(params: Params) -> bool:
    return params.sentence_embedding != "none"


class Analysis:
    """Every training text analysed once: per block, the document-term count matrix over the vocabulary
    of all the texts, and (with a sentence embedding) every text's embedding. The full model and each fold
    model take their rows (and the columns those rows use) from it, which gives exactly the features that
    fitting a TfidfVectorizer on those rows alone would, without analysing the texts again for every fold."""

    def __init__(self, params: Params, texts: Sequence[str]):
        self.embeddings = embedding.default_embedder().embed(texts) if uses_embedding(params) else None
        self.blocks: list[tuple[Vocabulary, sp.csr_matrix]] = []
        for settings in _block_settings(params):
            counter = CountVectorizer(**settings, dtype=np.float64)
            try:
                counts = counter.fit_transform(texts).tocsr()
            except ValueError as exc:
                if "empty vocabulary" not in str(exc):
                    raise
                continue  # e.g. word features of texts without any word of 2+ characters
            self.blocks.append((Vocabulary(settings, counter.vocabulary_), counts))

    def features(self, rows: np.ndarray) -> tuple[list[TfidfBlock], sp.csr_matrix | None]:
        """Blocks fitted on these rows (columns in the same, alphabetical order as TfidfVectorizer's) and
        the rows' TF-IDF matrix; (no blocks, None) when the rows have no feature at all."""
        blocks, matrices = [], []
        for vocabulary, counts in self.blocks:
            sub = counts[rows]
            df = np.bincount(sub.indices, minlength=counts.shape[1])
            used = np.flatnonzero(df)
            if len(used) == 0:
                continue
            idf = _idf(df[used], len(rows))
            columns = None if len(used) == counts.shape[1] else used.astype(np.int32)
            blocks.append(TfidfBlock(vocabulary, columns, idf))
            if columns is not None:
                sub = sub[:, columns]  # rebound: one copy of the rows' counts alive at a time, not two
            matrices.append(_tfidf(sub, idf))
            del sub
        if not blocks:
            return [], None
        return blocks, sp.hstack(matrices, format="csr")


# --- one classifier ------------------------------------------------------------------------------------


class LinearSoftmax:
    """What prediction needs of a fitted ComplementNB (norm=False): probabilities = softmax(X @ coef.T), as
    ComplementNB.predict_proba computes them, without the count matrices (the model files stay small)."""

    def __init__(self, classes: np.ndarray, coef: np.ndarray):
        self.classes_ = np.asarray(classes)
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)

    @classmethod
    def from_complement_nb(cls, nb: ComplementNB) -> LinearSoftmax:
        if nb.norm or len(nb.classes_) < 2:
            raise ValueError("only ComplementNB(norm=False) with two or more classes")
        return cls(nb.classes_, nb.feature_log_prob_)

    def predict_proba(self, X: sp.spmatrix) -> np.ndarray:
        scores = np.asarray(X @ self.coef.T)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores


def _log(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(probabilities, np.finfo(np.float64).tiny))


def _float64(vectors: np.ndarray) -> np.ndarray:
    """Embeddings in double precision: scikit-learn would otherwise compute in float32, where a text's
    probabilities depend (by ~1e-7) on the other rows of the request through BLAS's summation order."""
    return np.asarray(vectors, dtype=np.float64)


def product_of_experts(*probabilities: np.ndarray) -> np.ndarray:
    """Row-normalised product of the experts' probabilities (summed in log space: no underflow). A class
    needs every expert's support: one expert's confident mistake is tempered by the other's doubt, and
    agreement makes the product surer than either (measured: README, "Sentence embeddings")."""
    scores = np.sum([_log(p) for p in probabilities], axis=0)
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


class TextModel:
    """Featurizer + classifier (+ the sentence-embedding expert). `predict_proba` always returns one column
    per class (0..num_classes-1): classes absent from the training data get probability 0."""

    embedding_classifier: LogisticRegression | None = None  # class default: models pickled without one load

    def __init__(self, params: Params, num_classes: int):
        self.params = params
        self.num_classes = num_classes
        self.blocks: list[TfidfBlock] = []
        self.classifier: Any = None
        self.classes = np.zeros(0, dtype=np.int64)
        self.constant: np.ndarray | None = None  # the prediction when there is nothing to learn from

    @classmethod
    def knowing_nothing(cls, params: Params, num_classes: int) -> TextModel:
        """A model without training data: every class equally likely."""
        model = cls(params, num_classes)
        model.constant = np.full(num_classes, 1.0 / num_classes)
        return model

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> TextModel:
        return self.fit_rows(Analysis(self.params, texts), np.arange(len(texts)), labels)

    def fit_rows(self, analysis: Analysis, rows: np.ndarray, labels: Sequence[int]) -> TextModel:
        """Fit on these rows of an analysis of the training texts (labels: one per row)."""
        y = np.asarray(labels, dtype=np.int64)
        if len(rows) != len(y) or len(y) == 0:
            raise ValueError("fit needs one label per row, and at least one row")
        self.classes = np.unique(y)
        self.blocks, X = analysis.features(np.asarray(rows))
        self.embedding_classifier = None
        if len(self.classes) == 1 or X is None:
            # One class, or texts without a single feature: predict the training class frequencies.
            counts = np.bincount(y, minlength=self.num_classes).astype(np.float64)
            self.constant = counts / counts.sum()
            self.blocks, self.classifier = [], None
            return self
        self.constant = None
        if self.params.classifier == "complement_nb":
            self.classifier = LinearSoftmax.from_complement_nb(ComplementNB(alpha=self.params.nb_alpha).fit(X, y))
        else:
            self.classifier = LogisticRegression(C=self.params.C, max_iter=2000, random_state=self.params.random_state)
            self.classifier.fit(X, y)
        if analysis.embeddings is not None:
            self.embedding_classifier = LogisticRegression(
                C=self.params.embedding_C, max_iter=2000, random_state=self.params.random_state
            ).fit(_float64(analysis.embeddings[np.asarray(rows)]), y)
        return self

    @property
    def needs_embeddings(self) -> bool:
        return self.constant is None and self.embedding_classifier is not None

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([block.transform(texts) for block in self.blocks], format="csr")

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Probabilities (n, num_classes); `embeddings` (n, 384): the texts' sentence embeddings when the
        caller has them (otherwise they are computed when the model needs them)."""
        out = np.zeros((len(texts), self.num_classes), dtype=np.float64)
        if len(texts) == 0:
            return out
        if self.constant is not None:
            out[:] = self.constant
            return out
        probabilities = self.classifier.predict_proba(self.transform(texts))
        if self.embedding_classifier is not None:
            if embeddings is None:
                embeddings = embedding.default_embedder().embed(texts)
            expert = self.embedding_classifier.predict_proba(_float64(embeddings))
            probabilities = product_of_experts(probabilities, expert)
        out[:, self.classifier.classes_] = probabilities
        return out


# --- the nearest-neighbour expert ---------------------------------------------------------------------------

# Pseudo-count for each class the voters hold: a unanimous vote of 10 is 10.5 / 12 (4 classes), never certain;
# a class no voter holds gets none, so it keeps the probability 0 the other experts give it.
NEIGHBOUR_PRIOR = 0.5


@dataclass
class Neighbours:
    """The training lines' sentence embeddings (float16: half the memory, the same neighbours) with their
    labels and folds. A text's expert opinion is the vote of its `k` most similar lines (cosine), smoothed by
    NEIGHBOUR_PRIOR for each class the voters hold; a fold model's vote leaves out the lines of its own fold,
    as its training did. It sees local structure the two linear experts miss (measured: ../README.md,
    "Nearest neighbours"), and is stored once for the full and the fold models."""

    vectors: np.ndarray  # (n, DIMENSIONS) float16
    labels: np.ndarray  # (n,) int64
    folds: np.ndarray  # (n,) int64, -1: no fold
    k: int

    def proba(self, embeddings: np.ndarray, num_classes: int, fold: int | None = None) -> np.ndarray | None:
        """(n, num_classes) vote probabilities for these embeddings; None when no line may vote."""
        voters = np.flatnonzero(self.folds != fold) if fold is not None else np.arange(len(self.labels))
        if len(voters) == 0 or len(embeddings) == 0:
            return None
        # Cosine order is Euclidean order on unit vectors, for which scikit-learn has its fastest exact search
        # (chunked, multi-threaded); double precision, so the neighbours do not depend on the request's other rows.
        index = NearestNeighbors(n_neighbors=min(self.k, len(voters)), algorithm="brute", metric="euclidean")
        index.fit(normalize(_float64(self.vectors[voters])))
        nearest = index.kneighbors(normalize(_float64(embeddings)), return_distance=False)
        voter_labels = self.labels[voters]
        votes = voter_labels[nearest]
        held = np.bincount(voter_labels, minlength=num_classes)[:num_classes] > 0
        counts = np.stack([(votes == c).sum(axis=1) for c in range(num_classes)], axis=1) + NEIGHBOUR_PRIOR * held
        return counts / counts.sum(axis=1, keepdims=True)


def _neighbours(analysis: Analysis, labels: np.ndarray, folds: np.ndarray, params: Params) -> Neighbours | None:
    if analysis.embeddings is None or params.neighbours == 0 or len(labels) == 0:
        return None
    return Neighbours(np.asarray(analysis.embeddings, dtype=np.float16), labels, folds, params.neighbours)


# --- the full model and the fold models -------------------------------------------------------------------


@dataclass
class Bundle:
    """The full model plus, when the training lines carried `al:fold`, one fold model per fold."""

    num_classes: int
    full: TextModel
    folds: list[TextModel] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    neighbours: Neighbours | None = None

    def model_for(self, fold: int | None, line: int) -> int:
        """Index of the model that predicts a line: -1 for the full model, k for fold model k."""
        if fold is None or not self.folds:
            return -1
        if fold >= len(self.folds):
            raise RecordError(line, f"{FOLD_KEY} is {fold} but the model has fold models 0..{len(self.folds) - 1} only")
        return fold

    def predict_proba(self, texts: Sequence[str], folds: Sequence[int | None] | None = None) -> np.ndarray:
        """Probabilities (n, num_classes); a text with a fold is predicted by that fold model."""
        folds = list(folds) if folds is not None else [None] * len(texts)
        which = np.array([self.model_for(f, i + 1) for i, f in enumerate(folds)], dtype=np.int64)
        out = np.zeros((len(texts), self.num_classes), dtype=np.float64)
        models = {int(index): self.full if index < 0 else self.folds[index] for index in np.unique(which)}
        # Embedded once for every model of the request (each text is predicted by exactly one model).
        embeddings = (
            embedding.default_embedder().embed(texts) if any(m.needs_embeddings for m in models.values()) else None
        )
        for index, model in models.items():
            rows = np.flatnonzero(which == index)
            vectors = None if embeddings is None else embeddings[rows]
            out[rows] = model.predict_proba([texts[r] for r in rows], vectors)
            if self.neighbours is not None and model.needs_embeddings:
                vote = self.neighbours.proba(vectors, self.num_classes, None if index < 0 else int(index))
                if vote is not None:
                    out[rows] = product_of_experts(out[rows], vote)
        return out

    def predict_records(self, records: Sequence[Any]) -> list[dict[str, list]]:
        """Validate records ({"source": str, ["al:fold": int], ...}) and predict them, in order."""
        texts, folds = [], []
        for i, record in enumerate(records, start=1):
            text, fold = check_record(record, i)
            self.model_for(fold, i)
            texts.append(text)
            folds.append(fold)
        return [output_record(p) for p in self.predict_proba(texts, folds)]


def output_record(probabilities: np.ndarray) -> dict[str, list]:
    """{"label": class indices by descending probability, "prob": their probabilities} over all classes."""
    order = np.argsort(-probabilities, kind="stable")
    return {
        "label": [int(k) for k in order],
        "prob": [min(1.0, max(0.0, float(probabilities[k]))) for k in order],
    }


def train_bundle(examples: Sequence[Example], params: Params, num_classes: int) -> Bundle:
    """The full model on every example; with folds, fold model k on every example whose fold is not k
    (examples without a fold are in every fold model's training set). The texts are analysed once."""
    analysis = Analysis(params, [e.text for e in examples])
    labels = np.array([e.label for e in examples], dtype=np.int64)
    full = TextModel(params, num_classes).fit_rows(analysis, np.arange(len(examples)), labels)
    fold_ids = np.array([-1 if e.fold is None else e.fold for e in examples], dtype=np.int64)
    folds = []
    for k in range(int(fold_ids.max(initial=-1)) + 1):
        rows = np.flatnonzero(fold_ids != k)
        if len(rows) == 0:
            # Every line is in fold k (a run with a handful of labels): this fold model has nothing to learn
            # from, so it knows nothing — uniform probabilities, zero margin, never confident enough to
            # auto-label — instead of failing the round after people have labeled.
            folds.append(TextModel.knowing_nothing(params, num_classes))
            continue
        folds.append(TextModel(params, num_classes).fit_rows(analysis, rows, labels[rows]))
    neighbours = _neighbours(analysis, labels, fold_ids, params)
    return Bundle(num_classes=num_classes, full=full, folds=folds, neighbours=neighbours)


# --- model directory ---------------------------------------------------------------------------------------


def save(bundle: Bundle, directory: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {"models": MODELS_FILE}
    with open(directory / MODELS_FILE, "wb") as f:  # one pickle: the shared vocabularies are written once
        pickle.dump([bundle.full, *bundle.folds], f, protocol=5)
    if bundle.neighbours is not None:
        files["neighbours"] = NEIGHBOURS_FILE
        memory = bundle.neighbours
        with open(directory / NEIGHBOURS_FILE, "wb") as f:
            np.savez(f, vectors=memory.vectors, labels=memory.labels, folds=memory.folds, k=np.int64(memory.k))
    manifest = {
        "format": FORMAT,
        "num_classes": bundle.num_classes,
        "fold_models": len(bundle.folds),
        "params": bundle.full.params.to_json(),
        "files": files,
        "versions": {
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            **(embedding.versions() if uses_embedding(bundle.full.params) else {}),
        },
        **(extra or {}),
    }
    # Written last: a directory with model.json is complete.
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    bundle.manifest = manifest
    return manifest


def load(directory: Path | str) -> Bundle:
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"no {MANIFEST} in {directory}: not a model directory written by this container's train")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{manifest_path} is not valid JSON: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ModelError(f"{manifest_path}: unsupported model format {manifest.get('format')!r} (expected {FORMAT!r})")
    recorded = manifest.get("versions", {})
    installed = {"scikit-learn": sklearn.__version__}
    if manifest.get("params", {}).get("sentence_embedding", "none") != "none":  # its expert reads these vectors
        installed["embedding-model"] = embedding.model_identity()
    for package, version in installed.items():
        if recorded.get(package) != version:
            raise ModelError(
                f"the model was trained with {package} {recorded.get(package)} but this container has {version}; "
                "train and serve with the same image"
            )
    files = manifest["files"]
    try:
        full, *folds = _unpickle(directory / files["models"], 1 + int(manifest["fold_models"]))
        neighbours = _load_neighbours(directory / files["neighbours"]) if "neighbours" in files else None
    except (OSError, EOFError, ValueError, KeyError, pickle.UnpicklingError) as exc:
        raise ModelError(f"cannot load the model files in {directory}: {exc}") from exc
    return Bundle(
        num_classes=int(manifest["num_classes"]), full=full, folds=folds, manifest=manifest, neighbours=neighbours
    )


def _load_neighbours(path: Path) -> Neighbours:
    with np.load(path, allow_pickle=False) as memory:
        return Neighbours(memory["vectors"], memory["labels"], memory["folds"], int(memory["k"]))


def _unpickle(path: Path, count: int) -> list[TextModel]:
    with open(path, "rb") as f:
        models = pickle.load(f)  # noqa: S301 - our own model files (see the module docstring)
    if not (isinstance(models, list) and len(models) == count and all(isinstance(m, TextModel) for m in models)):
        raise ValueError(f"{path.name} does not hold the {count} models model.json lists")
    return models


_CACHE: dict[tuple[str, int], Bundle] = {}
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def load_cached(directory: Path | str) -> Bundle:
    """load(), remembered (for the last few directories) per directory and model.json modification time."""
    path = Path(directory).resolve()
    try:
        stamp = os.stat(path / MANIFEST).st_mtime_ns
    except OSError:
        stamp = -1
    key = (str(path), stamp)
    with _CACHE_LOCK:
        bundle = _CACHE.pop(key, None) or load(path)
        _CACHE[key] = bundle  # most recently used last
        while len(_CACHE) > _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        return bundle


# --- in-process prediction ---------------------------------------------------------------------------------


def predict_lines(model_dir: Path | str, lines: Iterable[str | bytes | dict]) -> list[dict[str, list]]:
    """Predict JSON Lines records (strings, bytes or already-parsed dicts) with the model in model_dir, in
    process: the same validation and output as POST /invocations, one output dict per input line."""
    return load_cached(model_dir).predict_records(parse_lines(lines))
