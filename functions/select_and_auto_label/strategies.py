"""Query strategies: how a round picks the items people label next — the named extension point.

A strategy is one entry of STRATEGIES: a priority function (higher = more worth a human label), evaluated on
every pool item that is not auto-labeled and kept in a bounded heap, and optionally a final choice over the
top candidates that may read their texts (diverse_margin). To add one: write its priority function and
register it here, add its name to the QueryStrategy enum of schemas/labeling-job-request.schema.json (the one
source of every setting: Terraform, `labeler request` and local mode take the list from there), and test it
in tests/unit/test_strategies.py. Nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labeling_common.draws import seeded_hash

from .logic import Prediction

DIVERSITY_POOL = 3  # diverse_margin looks at this many times the batch size of most uncertain items
NEAR_DUPLICATE = 0.5  # word-set Jaccard similarity above which two items count as the same story

Candidates = list[tuple[int, float]]  # (record id, priority), best first


@dataclass(frozen=True)
class Strategy:
    priority: Callable[[Prediction, int, int], float]  # (prediction, seed, round number) -> priority
    candidates_per_slot: int = 1  # top-priority candidates kept per batch slot for `choose`
    choose: Callable[[Candidates, dict[int, str], int], Candidates] | None = None  # (candidates, texts, size)


def random_priority(prediction: Prediction, seed: int, round_number: int) -> float:
    """A seeded uniform draw per item and round: the same on every retry, different each round."""
    return seeded_hash(seed, f"select-{round_number}", prediction.record_id) / 2.0**64


def words(text: str) -> frozenset[str]:
    return frozenset(
        token for token in "".join(c.lower() if c.isalnum() else " " for c in text).split() if len(token) > 2
    )


def diverse_choice(candidates: Candidates, texts: dict[int, str], size: int) -> Candidates:
    """Most uncertain first, skipping near-duplicates of items already chosen (news headlines come in story
    clusters: labeling five headlines of one story teaches the model little more than one). If too few are
    left, the skipped ones fill the batch in priority order."""
    chosen: Candidates = []
    chosen_words: list[frozenset[str]] = []
    skipped: Candidates = []
    for record_id, value in candidates:
        if len(chosen) == size:
            break
        bag = words(texts.get(record_id, ""))
        if any(bag and other and len(bag & other) / len(bag | other) > NEAR_DUPLICATE for other in chosen_words):
            skipped.append((record_id, value))
            continue
        chosen.append((record_id, value))
        chosen_words.append(bag)
    return chosen + skipped[: size - len(chosen)]


STRATEGIES: dict[str, Strategy] = {
    "margin": Strategy(lambda p, seed, round_number: -p.margin),  # two classes compete
    "least_confidence": Strategy(lambda p, seed, round_number: -p.confidence),
    "entropy": Strategy(lambda p, seed, round_number: p.entropy),
    "random": Strategy(random_priority),  # the AWS sample's way, for comparison
    "diverse_margin": Strategy(
        lambda p, seed, round_number: -p.margin, candidates_per_slot=DIVERSITY_POOL, choose=diverse_choice
    ),
}


def strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown query strategy {name!r} (known: {', '.join(STRATEGIES)})") from None
