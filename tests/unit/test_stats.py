import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.special import gammaln

from labeling_common.stats import (
    beta_ppf,
    clopper_pearson_lower,
    clopper_pearson_reaches,
    hypergeometric_lower_tail,
    pool_agreement_reaches,
    regularized_beta,
)


@pytest.mark.parametrize("a,b,x", [(1, 1, 0.3), (5, 2, 0.7), (200, 9, 0.95), (950, 51, 0.93), (0.5, 0.5, 0.01)])
def test_regularized_beta_matches_scipy(a, b, x):
    assert regularized_beta(a, b, x) == pytest.approx(scipy_stats.beta.cdf(x, a, b), abs=1e-10)


@pytest.mark.parametrize("k,n", [(1, 1), (59, 59), (97, 100), (196, 200), (968, 1000), (4800, 5000), (0, 10)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_scipy(k, n, confidence):
    expected = 0.0 if k == 0 else scipy_stats.beta.ppf(1 - confidence, k, n - k + 1)
    assert clopper_pearson_lower(k, n, confidence) == pytest.approx(expected, abs=1e-9)


def test_known_values_from_the_design_notes():
    # 500 items, 16 errors -> observed 96.8% certifies >= 95% at 95% confidence; 17 errors do not.
    assert clopper_pearson_lower(484, 500, 0.95) >= 0.95
    assert clopper_pearson_lower(483, 500, 0.95) < 0.95


def test_beta_ppf_inverts_cdf():
    q = beta_ppf(0.05, 300, 12)
    assert regularized_beta(300, 12, q) == pytest.approx(0.05, abs=1e-12)


def test_no_trials_means_no_bound():
    assert clopper_pearson_lower(0, 0, 0.95) == 0.0


@pytest.mark.parametrize("confidence", [0.95, 0.99, 0.9999, 0.5])
def test_the_one_step_test_agrees_with_the_bound_it_stands_for(confidence):
    """`clopper_pearson_reaches` decides bound >= target from one CDF evaluation; it must agree with the bound
    itself wherever the two are not within the bisection's precision of each other."""
    for n in (1, 7, 59, 60, 500, 2000, 20_000):
        for k in sorted({0, 1, n // 2, n - n // 20, n - n // 50, n - 1, n}):
            bound = clopper_pearson_lower(k, n, confidence)
            for target in (0.0, 0.5, 0.9, 0.95, 0.99, bound - 1e-9, bound + 1e-9):
                if 0.0 <= target <= 1.0 and abs(target - bound) > 1e-12:  # not a tie the bisection rounds
                    assert clopper_pearson_reaches(k, n, confidence, target) is (bound >= target), (k, n, target)


@pytest.mark.parametrize(
    "population,marked,draws",
    [(10, 3, 4), (2700, 106, 1200), (7500, 400, 1500), (30_000, 29_000, 20_000), (500, 0, 100), (500, 500, 100)],
)
def test_the_hypergeometric_tail_matches_scipy_on_both_sides_of_the_mode(population, marked, draws):
    for k in range(-1, min(draws, marked) + 2, max(1, min(draws, marked) // 60)):
        expected = float(scipy_stats.hypergeom.cdf(k, population, marked, draws))
        got = hypergeometric_lower_tail(k, population, marked, draws)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-14), k


def _log_choose(n, r):
    return gammaln(n + 1) - gammaln(r + 1) - gammaln(n - r + 1)


def realized_miss(reaches, record: int, pool: int, target: float = 0.95) -> float:
    """The largest probability, over how many of the record + pool items err, that a test certifies while the
    pool's own share of agreeing items is below target: exact, by the hypergeometric law of the record's
    errors given the total (the record a random split of the items)."""
    tolerated = math.floor(round((1 - target) * pool, 9))
    errors = np.arange(int(0.1 * record))  # a record with more errors never certifies 95%
    certifies = np.array([reaches(record - e, record) for e in errors])
    totals = np.arange(tolerated + 1, int(0.12 * (record + pool)))[:, None]  # fewer errors in all: no miss
    law = np.exp(
        _log_choose(totals, errors) + _log_choose(record + pool - totals, record - errors)
        - _log_choose(record + pool, record)
    )  # fmt: skip
    missed = (totals - errors[None, :] > tolerated) & certifies[None, :]
    return float((law * missed).sum(axis=1).max(initial=0.0))


@pytest.mark.parametrize("record,pool", [(300, 300), (500, 900), (1000, 2000), (1500, 6000)])
def test_the_pool_test_keeps_its_level_for_the_share_of_the_items_themselves(record, pool):
    """What a team gets is the auto-labeled items, a few hundred on a small dataset, and their share of
    agreeing labels strays from the rate of items like them by a point or more. Certified at 95%, that share
    falls short of 95% with probability at most 5% under the finite-pool test (at worst 4.0-4.3% here), and
    up to 5.5-7.3% under Clopper-Pearson, which bounds the rate instead."""
    finite = realized_miss(lambda ok, n: pool_agreement_reaches(ok, n, pool, 0.95, 0.95), record, pool)
    rate = realized_miss(lambda ok, n: clopper_pearson_reaches(ok, n, 0.95, 0.95), record, pool)
    assert finite <= 0.05 < rate


def test_the_pool_test_approaches_clopper_pearson_as_the_pool_grows():
    """Against a pool far larger than the record the pool's share is the rate: the two tests agree."""
    for errors in range(20, 80):
        assert pool_agreement_reaches(1000 - errors, 1000, 10**7, 0.95, 0.95) is clopper_pearson_reaches(
            1000 - errors, 1000, 0.95, 0.95
        )
    # 1,500 record items and 6,000 pool items above a threshold: 60 errors certify the rate, not the pool's share
    assert clopper_pearson_reaches(1440, 1500, 0.95, 0.95) and not pool_agreement_reaches(1440, 1500, 6000, 0.95, 0.95)
    assert pool_agreement_reaches(1441, 1500, 6000, 0.95, 0.95)


def test_no_pool_item_is_nothing_to_be_wrong_about_and_no_record_certifies_nothing():
    assert pool_agreement_reaches(0, 10, 0, 0.95, 0.95)
    assert not pool_agreement_reaches(0, 0, 100, 0.95, 0.95)
