"""Exact binomial (Clopper-Pearson) confidence bounds, in pure Python.

SciPy would do this in one call but weighs ~100 MB, too much for every Lambda zip; the regularized
incomplete beta function below (continued fraction, Numerical Recipes `betacf`) is checked against
scipy.stats.beta in the tests.
"""

from __future__ import annotations

import math


def _betacf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the CDF of Beta(a, b) at x."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def beta_ppf(q: float, a: float, b: float) -> float:
    """Inverse of I_x(a, b) by bisection (monotone in x; 64 halvings narrow [0, 1] below 1e-19)."""
    low, high = 0.0, 1.0
    for _ in range(64):
        mid = (low + high) / 2.0
        if regularized_beta(a, b, mid) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def clopper_pearson_lower(successes: int, trials: int, confidence: float) -> float:
    """One-sided lower confidence bound on a binomial proportion: P(p >= bound) >= confidence."""
    if trials <= 0 or successes <= 0:
        return 0.0
    return beta_ppf(1.0 - confidence, successes, trials - successes + 1)


def clopper_pearson_reaches(successes: int, trials: int, confidence: float, target: float) -> bool:
    """Whether clopper_pearson_lower(successes, trials, confidence) >= target, from one evaluation of the beta
    CDF instead of a bisection of 64: the bound is where I_x(k, n - k + 1) = 1 - confidence, and I_x rises
    with x, so the bound reaches the target exactly when I_target(k, n - k + 1) <= 1 - confidence."""
    if trials <= 0 or successes <= 0:
        return target <= 0.0
    return regularized_beta(successes, trials - successes + 1, target) <= 1.0 - confidence
