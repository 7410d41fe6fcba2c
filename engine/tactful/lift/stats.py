"""The statistics behind the lift report. Standard library only.

* ``wilson``: the Wilson score interval of a proportion.
* ``newcombe_diff``: Newcombe's hybrid score interval for p1 - p2 (his method 10), the
  interval statsmodels computes with ``confint_proportions_2indep(method="newcomb")``.
* ``msprt_diff``: an always-valid confidence interval for p1 - p2 from the mixture
  sequential probability ratio test (normal mixture with variance tau**2, as in Johari,
  Pekelis and Walsh, "Always valid inference"). It may be looked at after every visit
  without inflating the error rate: peeking daily cannot fool anyone.
* ``srm``: the chi-square sample-ratio-mismatch test of the arm split.
* ``sample_size``: visits per arm to detect a lift, as statsmodels'
  ``samplesize_proportions_2indep_onetail`` (two-sided, unequal allocation).
"""

from __future__ import annotations

import math
from statistics import NormalDist

_N = NormalDist()


def z(alpha: float) -> float:
    """The two-sided critical value: z(0.05) = 1.959964..."""
    return _N.inv_cdf(1 - alpha / 2)


def wilson(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    q = z(alpha)
    p = x / n
    denom = 1 + q * q / n
    center = (p + q * q / (2 * n)) / denom
    half = q * math.sqrt(p * (1 - p) / n + q * q / (4 * n * n)) / denom
    return center - half, center + half


def newcombe_diff(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, alpha)
    l2, u2 = wilson(x2, n2, alpha)
    d = p1 - p2
    return _clamped(d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def _clamped(low: float, high: float) -> tuple[float, float]:
    """A difference of two proportions lies in [-1, 1]; so does any honest interval for it."""
    return max(-1.0, low), min(1.0, high)


def msprt_diff(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05, tau: float = 0.02) -> tuple[float, float]:
    """Always-valid interval for p1 - p2: every theta0 the mSPRT would not reject at level alpha.

    With V the variance of the difference, the mixture likelihood ratio against theta0 is
    sqrt(V / (V + tau^2)) * exp(tau^2 (d - theta0)^2 / (2 V (V + tau^2))); it stays below
    1 / alpha exactly when |d - theta0| is within the half-width returned here.
    """
    # The variance uses Agresti-Caffo proportions (one success and one failure added per arm),
    # so an arm with no conversions yet does not claim a variance of zero.
    a1, a2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
    v = a1 * (1 - a1) / n1 + a2 * (1 - a2) / n2
    t2 = tau * tau
    half = math.sqrt(2 * v * (v + t2) / t2 * math.log(math.sqrt((v + t2) / v) / alpha))
    d = x1 / n1 - x2 / n2
    return _clamped(d - half, d + half)


def srm(n_treatment: int, n_holdout: int, holdout_fraction: float) -> tuple[float, float]:
    """(chi-square statistic, p-value) of the observed split against the configured one (1 df)."""
    total = n_treatment + n_holdout
    if total == 0 or not 0 < holdout_fraction < 1:
        return 0.0, 1.0
    expected_h = total * holdout_fraction
    expected_t = total - expected_h
    chi2 = (n_treatment - expected_t) ** 2 / expected_t + (n_holdout - expected_h) ** 2 / expected_h
    return chi2, math.erfc(math.sqrt(chi2 / 2))


def sample_size(
    p_base: float, lift: float, holdout_fraction: float, alpha: float = 0.05, power: float = 0.8
) -> tuple[float, float]:
    """(treated visits, holdout visits) to detect an absolute ``lift`` over ``p_base``, two-sided."""
    ratio = holdout_fraction / (1 - holdout_fraction)  # holdout visits per treated visit
    p1, p2 = p_base + lift, p_base
    pooled = (p1 + p2 * ratio) / (1 + ratio)
    std_null = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    std_alt = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)
    n1 = (max(_N.inv_cdf(1 - alpha / 2) * std_null - _N.inv_cdf(1 - power) * std_alt, 0) / lift) ** 2
    return n1, n1 * ratio
