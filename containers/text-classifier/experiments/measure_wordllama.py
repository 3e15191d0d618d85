#!/usr/bin/env python3
"""Optional experiment (not used by the container): does a static sentence embedding that ships its weights
in a PyPI package help? WordLlama (`wordllama==0.4.0.post1`, 256-dim "l2_supercat" token embeddings bundled
in the wheel, numpy inference) is measured on the same splits as measure.py:

- default:   the container's model (TF-IDF -> ComplementNB(alpha=0.1))
- ensemble:  average of the default's probabilities and softmax(5 * RidgeClassifier(alpha=1,
             class_weight=balanced)) on [TF-IDF features, 0.5 * L2-normalised mean WordLlama embedding]

Needs a throwaway virtualenv, never the project's:

    python3 -m venv /tmp/wl && /tmp/wl/bin/pip install wordllama==0.4.0.post1 scikit-learn==1.9.1 \
        numpy==2.4.6 scipy==1.17.1
    /tmp/wl/bin/python containers/text-classifier/experiments/measure_wordllama.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from measure import DEFAULT_DATA, load, quality  # noqa: E402
from scipy.special import softmax  # noqa: E402
from sklearn.linear_model import RidgeClassifier  # noqa: E402

from text_classifier.model import TextModel  # noqa: E402
from text_classifier.params import parse  # noqa: E402


def wordllama_embedder():
    """The bundled 256-dim model, loaded from the package's own files (WordLlama.load looks for the
    tokenizer in a folder the wheel does not have and would try to download it)."""
    import wordllama
    from safetensors import safe_open
    from wordllama import WordLlama
    from wordllama.inference import WordLlamaInference

    root = Path(wordllama.__file__).parent
    tokenizer = WordLlama.load_tokenizer(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
    with safe_open(root / "weights" / "l2_supercat_256.safetensors", framework="np", device="cpu") as f:
        embedding = f.get_tensor("embedding.weight")
    model = WordLlamaInference(embedding, tokenizer, binary=False)
    return lambda texts: model.embed(list(texts), norm=True).astype(np.float64)


def main() -> int:
    texts, y = load(DEFAULT_DATA)
    perm = np.random.RandomState(12345).permutation(len(texts))
    test, rest = perm[:10_000], perm[10_000:]
    test_texts, y_test = [texts[i] for i in test], y[test]
    embed = wordllama_embedder()
    start = time.perf_counter()
    embed(test_texts)
    print(f"WordLlama: embedded {len(test)} headlines in {time.perf_counter() - start:.2f} s\n")
    print("| model | labels | accuracy | acc@50% | acc@60% | acc@70% | acc@80% | cov@95% | train s | predict 10k s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    params = parse({})
    for size in (1000, 2000, 3000):
        rows: dict[str, list] = {"default": [], "ensemble": []}
        for seed in range(5):
            train = np.random.RandomState(seed).choice(rest, size, replace=False)
            train_texts = [texts[i] for i in train]
            t0 = time.perf_counter()
            model = TextModel(params, 4).fit(train_texts, y[train])
            t1 = time.perf_counter()
            p_nb = model.predict_proba(test_texts)
            t2 = time.perf_counter()
            rows["default"].append(quality(p_nb, y_test) + [t1 - t0, t2 - t1])
            X = sp.hstack([model.transform(train_texts), sp.csr_matrix(0.5 * embed(train_texts))], format="csr")
            ridge = RidgeClassifier(alpha=1.0, class_weight="balanced").fit(X, y[train])
            t3 = time.perf_counter()
            Xt = sp.hstack([model.transform(test_texts), sp.csr_matrix(0.5 * embed(test_texts))], format="csr")
            p = 0.5 * p_nb + 0.5 * softmax(5 * ridge.decision_function(Xt), axis=1)
            t4 = time.perf_counter()
            rows["ensemble"].append(quality(p, y_test) + [t1 - t0 + t3 - t2, t2 - t1 + t4 - t3])
        for name, values in rows.items():
            m = np.mean(values, axis=0)
            print(f"| {name} | {size} | " + " | ".join(f"{v:.3f}" for v in m[:6]) + f" | {m[6]:.2f} | {m[7]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
