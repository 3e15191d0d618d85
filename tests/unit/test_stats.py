import pytest
from scipy import stats as scipy_stats

from labeling_common.stats import beta_ppf, clopper_pearson_lower, clopper_pearson_reaches, regularized_beta


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
