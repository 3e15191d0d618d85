"""Query strategies: the registry (one entry per strategy) and each strategy's choice."""

import pytest
from select_and_auto_label.logic import TopK
from select_and_auto_label.strategies import STRATEGIES, diverse_choice, strategy

from labeling_common import settings
from tests.support import prediction


def test_the_registry_holds_exactly_the_strategies_the_request_schema_offers():
    assert list(STRATEGIES) == settings.choices("QueryStrategy")
    with pytest.raises(ValueError, match="unknown query strategy 'smallest'"):
        strategy("smallest")


def pick(name, predictions, size, seed=0, round_number=1):
    query = strategy(name)
    top = TopK(size * query.candidates_per_slot)
    for p in predictions:
        top.offer(query.priority(p, seed, round_number), p.record_id)
    return [record_id for record_id, _ in top.best_first()]


@pytest.mark.parametrize(
    "strategy_name,expected",
    [
        ("margin", [2, 3]),  # smallest top-two margin first (0.01, then 0.20)
        ("least_confidence", [3, 2]),  # lowest top probability first
        ("entropy", [3, 1]),  # flattest distribution first (1.33, then 0.86 nats)
    ],
)
def test_query_strategies_pick_the_most_informative(strategy_name, expected):
    predictions = [
        prediction(0, [0.97, 0.01, 0.01, 0.01]),
        prediction(1, [0.60, 0.35, 0.03, 0.02]),
        prediction(2, [0.49, 0.48, 0.02, 0.01]),
        prediction(3, [0.40, 0.20, 0.20, 0.20]),
    ]
    assert pick(strategy_name, predictions, 2) == expected


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_ranks_a_stream_into_distinct_candidates(name):
    predictions = [prediction(i, [0.4 + (i % 7) / 20, 0.3 - (i % 7) / 40, 0.2, 0.1 - (i % 7) / 40]) for i in range(200)]
    chosen = pick(name, predictions, 10)
    assert len(chosen) == 10 * strategy(name).candidates_per_slot and len(set(chosen)) == len(chosen)


def test_random_strategy_is_seeded_and_round_dependent():
    predictions = [prediction(i, [0.7, 0.1, 0.1, 0.1]) for i in range(100)]

    def draw(seed, round_number):
        return pick("random", predictions, 10, seed, round_number)

    assert draw(1, 1) == draw(1, 1)
    assert draw(1, 1) != draw(2, 1) and draw(1, 1) != draw(1, 2)


def test_diverse_margin_skips_near_duplicate_headlines():
    texts = {
        1: "Apple shares fall after iPhone sales miss estimates",
        2: "Apple shares fall after iPhone sales miss estimates - Reuters",
        3: "Ebola outbreak spreads to a third country",
        4: "Apple iPhone sales miss estimates, shares fall",
        5: "Kim Kardashian and Kanye West wedding date set",
    }
    candidates = [(1, -0.01), (2, -0.02), (3, -0.03), (4, -0.04), (5, -0.05)]
    assert [rid for rid, _ in diverse_choice(candidates, texts, 3)] == [1, 3, 5]
    assert [rid for rid, _ in diverse_choice(candidates, texts, 5)] == [1, 3, 5, 2, 4]  # fill with the skipped


def test_fasttext_smoothed_probabilities_are_read_as_certainties():
    """BlazingText reports exp(log(p + 1e-5)): a sure prediction arrives as 1.00001, not above certainty."""
    from select_and_auto_label.logic import parse_prediction

    from labeling_common.labels import LabelCategories

    line = {"al:record-id": 7, "SageMakerOutput": {"label": ["__label__1", "__label__0"], "prob": [1.00001, 1e-5]}}
    found = parse_prediction(line, LabelCategories(("b", "e")), "s3://b/out", 3)
    assert (found.record_id, found.predicted, found.confidence) == (7, 1, 1.0)
    assert found.margin == pytest.approx(1.0 - 1e-5) and found.entropy >= 0.0
