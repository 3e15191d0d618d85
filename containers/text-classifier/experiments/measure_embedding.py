#!/usr/bin/env python3
"""How to combine the TF-IDF model with the all-MiniLM-L6-v2 sentence embedding (the measurement behind the
default `sentence_embedding` and `embedding_C`; the table is in ../README.md, "Sentence embeddings").

For 1,000/2,000/3,000 random labels of the UCI News sample (3 draws each) and 5,000 other rows: accuracy,
accuracy of the 50-80% most confident predictions and cov@95 (see measure.py) of
- nb:          the TF-IDF complement NB alone (sentence_embedding=none),
- lr C=c:      logistic regression on the embeddings alone,
- nb*lr C=c:   the product of the two (what the container ships, with c = embedding_C),
- mean C=c:    their average.

    .venv/bin/python containers/text-classifier/experiments/measure_embedding.py   # ~2 minutes on 2 cores
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from measure import DEFAULT_DATA, load, quality  # noqa: E402

from text_classifier.embedding import default_embedder  # noqa: E402
from text_classifier.model import TextModel, product_of_experts  # noqa: E402
from text_classifier.params import Params  # noqa: E402


def main() -> int:
    texts, y = load(DEFAULT_DATA)
    perm = np.random.RandomState(12345).permutation(len(texts))
    test, rest = perm[:5000], perm[5000:]
    draws = {
        (size, seed): np.random.RandomState(seed).choice(rest, size, replace=False)
        for size in (1000, 2000, 3000)
        for seed in range(3)
    }
    needed = sorted(set(test.tolist()).union(*(set(d.tolist()) for d in draws.values())))
    start = time.perf_counter()
    vectors = default_embedder().embed([texts[i] for i in needed]).astype(np.float64)
    print(f"embedded {len(needed)} headlines in {time.perf_counter() - start:.0f} s (cached ones are free)\n")
    embedding = np.zeros((len(texts), vectors.shape[1]))
    embedding[needed] = vectors
    tfidf_only = Params(sentence_embedding="none")
    print("| model | labels | accuracy | acc@50% | acc@60% | acc@70% | acc@80% | cov@95% |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in (1000, 2000, 3000):
        rows: dict[str, list[list[float]]] = {}
        for seed in range(3):
            train = draws[size, seed]
            nb = (
                TextModel(tfidf_only, 4)
                .fit([texts[i] for i in train], y[train])
                .predict_proba([texts[i] for i in test])
            )
            rows.setdefault("nb", []).append(quality(nb, y[test]))
            for C in (1, 4, 16):
                expert = LogisticRegression(C=C, max_iter=2000).fit(embedding[train], y[train])
                lr = expert.predict_proba(embedding[test])
                rows.setdefault(f"lr C={C}", []).append(quality(lr, y[test]))
                rows.setdefault(f"nb*lr C={C}", []).append(quality(product_of_experts(nb, lr), y[test]))
                rows.setdefault(f"mean C={C}", []).append(quality((nb + lr) / 2, y[test]))
        for name, values in rows.items():
            print(f"| {name} | {size} | " + " | ".join(f"{v:.3f}" for v in np.mean(values, axis=0)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
