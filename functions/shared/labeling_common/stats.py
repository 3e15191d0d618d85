"""Exact binomial (Clopper-Pearson) confidence bounds and an exact finite-pool test, in pure Python.

SciPy would do this in one call but weighs ~100 MB, too much for every Lambda zip; the regularized
incomplete beta function below (continued fraction, Numerical Recipes `betacf`) and the hypergeometric tail
are checked against scipy.stats in the tests.
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


def hypergeometric_lower_tail(k: int, population: int, marked: int, draws: int) -> float:
    """P(X <= k) for X the marked items among `draws` drawn without replacement from `population` items of
    which `marked` are marked. The smaller tail is summed outward from k with the ratio of successive terms
    (they only shrink away from the mode), starting from log-gamma; above the mode, 1 minus the upper tail."""
    low, high = max(0, draws - (population - marked)), min(draws, marked)
    if k < low:
        return 0.0
    if k >= high:
        return 1.0
    mode = (draws + 1) * (marked + 1) // (population + 2)
    upper = k >= mode
    x = k + 1 if upper else k
    term = math.exp(
        _log_choose(marked, x) + _log_choose(population - marked, draws - x) - _log_choose(population, draws)
    )
    total = 0.0
    while low <= x <= high and term > 0.0:
        total += term
        if term < total * 1e-17:
            break
        if upper:  # P(x + 1) / P(x)
            term *= (marked - x) * (draws - x) / ((x + 1) * (population - marked - draws + x + 1))
            x += 1
        else:  # P(x - 1) / P(x)
            term *= x * (population - marked - draws + x) / ((marked - x + 1) * (draws - x + 1))
            x -= 1
    return max(0.0, 1.0 - total) if upper else min(1.0, total)


def _log_choose(n: int, r: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)


def pool_agreement_reaches(successes: int, trials: int, pool: int, confidence: float, target: float) -> bool:
    """Whether `successes` agreeing of `trials` record items certify, at `confidence`, that at least `target` of
    `pool` further items agree: the share of *these* items, not of an infinite population like them.

    The record's items and the pool's are a random split of the trials + pool items (exchangeable), so given
    how many of them all err, T, the record's errors are hypergeometric. The claim fails when the pool holds
    more than the tolerated (1 - target) · pool errors, K0 or more. The test passes when, with only K0 errors
    in the pool, a record this good would be rare: P(X <= e | T = e + K0) <= 1 - confidence, X the record's
    errors, e those observed. Valid: if the pool does hold K >= K0 errors, T = e + K and the record's errors
    are the X of that T; P(X <= x | T) only falls as T grows, so passing means P(X <= e | T) <= 1 -
    confidence, which happens with probability at most 1 - confidence. Clopper-Pearson bounds the rate of the
    population instead, and a pool of a few hundred items strays from that rate by a point or more: on a
    small dataset the share people see would fall short of a certified rate far more often than the level
    allows (docs/how-it-works.md, "The accuracy guarantee"). For a pool much larger than the record the two
    tests agree."""
    if pool <= 0:
        return True  # no item to be wrong about
    if trials <= 0:
        return target <= 0.0
    errors = trials - successes
    tolerated = math.floor(round((1.0 - target) * pool, 9))  # errors the pool may hold and still reach target
    return hypergeometric_lower_tail(errors, trials + pool, errors + tolerated + 1, trials) <= 1.0 - confidence
