"""Anytime-valid evidence about a rate from counts: mixture e-values and confidence bounds.

Owns the arithmetic of the sequential judge, with no I/O and no clock. A "rate" is the share of
requests with some property (answered 5xx, slower than a latency bound), observed as counts:
``x`` such requests out of ``n``.

The test of ``H0: rate <= p0`` is a mixture of likelihood ratios over alternatives that multiply
the null's odds ``O = p0 / (1 - p0)`` by ``k`` (a discrete mixture SPRT)::

    E(x, n; p0) = sum_j  w_j * k_j**x * ((1 + O) / (1 + k_j * O))**n

Each term is the likelihood ratio of rate ``k_j O / (1 + k_j O)`` against ``p0`` for ``n``
independent requests, so under any rate at or below ``p0`` (which may change from request to
request) the mixture is a nonnegative supermartingale with initial value 1. By Ville's
inequality it ever reaches ``1 / alpha`` with probability at most ``alpha``, however often it is
looked at: that is what makes checking every few seconds safe. ``E`` only depends on the counts,
so the evidence of a whole shift is two integers, and it decreases in ``p0`` (each term does),
which the relative gates rely on (see ``controller.analysis.sequential``).

The lower-tail test ``H0: rate >= q`` uses odds divided by ``k_j``; inverting both tests gives an
anytime-valid confidence interval for the rate (`lower_bound`, `upper_bound`).

References: Lindon, Sanden, Shirikian, "Rapid Regression Detection in Software Deployments
through Sequential Testing" (KDD 2022); Lindon & Malek, "Anytime-Valid Inference for Multinomial
Count Data" (NeurIPS 2022); Ville (1939).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Odds multipliers the mixture bets on, and their prior weights. Two kinds of regression matter:
# one just over the threshold (a 5xx share of 1.5-2% against 1%), hard to see, which needs the
# most weight near 1.5-2x; and a gross failure (20% 5xx, every request slow), which gives so much
# evidence per request that the time to see it is set by how much weight sits near its odds
# (20-50x). Little sits between. Tuned with bench/decision_quality.py (docs/benchmarks.md): it
# catches a 0.9% -> 1.8% canary as often as the flatter mixture before it, and a 20%-5xx canary
# at 1 canary request a second about a scrape sooner.
MULTIPLIERS: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 1000.0)
WEIGHTS: tuple[float, ...] = (0.40, 0.08, 0.05, 0.04, 0.05, 0.10, 0.12, 0.07, 0.05, 0.04)

_LOG_ODDS_SPAN = 40.0  # bisection range for bounds: rates from about 4e-18 to 1 - 4e-18
_BISECTION_STEPS = 60


@dataclass(frozen=True)
class Mixture:
    """The alternatives a test bets on: odds multipliers (each > 1) and weights summing to 1."""

    multipliers: tuple[float, ...] = MULTIPLIERS
    weights: tuple[float, ...] = WEIGHTS

    def __post_init__(self) -> None:
        if len(self.multipliers) != len(self.weights) or not self.multipliers:
            raise ValueError("a mixture needs one weight per multiplier, and at least one")
        if any(k <= 1 for k in self.multipliers):
            raise ValueError("every odds multiplier must be above 1 (alternatives worse than H0)")
        if any(w <= 0 for w in self.weights) or not math.isclose(sum(self.weights), 1.0):
            raise ValueError("mixture weights must be positive and sum to 1")


DEFAULT_MIXTURE = Mixture()


def _check_counts(x: float, n: float) -> None:
    if x < 0 or n < 0 or x > n:
        raise ValueError(f"counts must satisfy 0 <= x <= n, got x={x}, n={n}")


def _logsumexp(terms: Sequence[float]) -> float:
    top = max(terms)
    if math.isinf(top):
        return top
    return top + math.log(sum(math.exp(t - top) for t in terms))


@lru_cache(maxsize=1024)  # a shift's thresholds are few and tested every check: once each
def _upper_terms(p0: float, mixture: Mixture) -> tuple[tuple[float, float, float], ...]:
    """Per alternative: ln w, ln k and the per-request term ln(1 + O) - ln(1 + k O)."""
    odds = p0 / (1 - p0)
    return tuple(
        (math.log(w), math.log(k), math.log1p(odds) - math.log1p(k * odds))
        for k, w in zip(mixture.multipliers, mixture.weights, strict=True)
    )


def log_e_value(x: float, n: float, p0: float, mixture: Mixture = DEFAULT_MIXTURE) -> float:
    """ln E for ``H0: rate <= p0`` after ``x`` of ``n`` requests had the property.

    ``p0 <= 0``: any such request refutes H0 (+inf), none leaves it untouched (0).
    ``p0 >= 1``: H0 cannot be refuted (0).
    """
    _check_counts(x, n)
    if p0 >= 1:
        return 0.0
    if p0 <= 0:
        return math.inf if x > 0 else 0.0
    return _logsumexp([lw + x * lk + n * per for lw, lk, per in _upper_terms(p0, mixture)])


def log_e_value_below(x: float, n: float, q: float, mixture: Mixture = DEFAULT_MIXTURE) -> float:
    """ln E for ``H0: rate >= q``: evidence that the rate is below ``q``."""
    _check_counts(x, n)
    if q <= 0:
        return 0.0
    if q >= 1:
        return math.inf if x < n else 0.0
    odds = q / (1 - q)
    terms = [
        math.log(w) - x * math.log(k) + n * (math.log1p(odds) - math.log1p(odds / k))
        for k, w in zip(mixture.multipliers, mixture.weights, strict=True)
    ]
    return _logsumexp(terms)


def _rate(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-log_odds))


def _crossing(rejected: Callable[[float], bool], *, rejected_low: bool) -> float:
    """The log-odds where a monotone test switches from rejecting to not (bisection)."""
    low, high = -_LOG_ODDS_SPAN, _LOG_ODDS_SPAN
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if rejected(middle) == rejected_low:
            low = middle
        else:
            high = middle
    return low if rejected_low else high


def lower_bound(x: float, n: float, alpha: float, mixture: Mixture = DEFAULT_MIXTURE) -> float:
    """An anytime-valid lower confidence bound on the rate (coverage 1 - alpha at all times).

    The smallest rate the upper-tail test does not reject: every ``p0`` below it has
    ``E(x, n; p0) >= 1/alpha``.
    """
    threshold = -math.log(alpha)

    def rejected(log_odds: float) -> bool:
        return log_e_value(x, n, _rate(log_odds), mixture) >= threshold

    if not rejected(-_LOG_ODDS_SPAN):
        return 0.0
    return _rate(_crossing(rejected, rejected_low=True))


def upper_bound(x: float, n: float, alpha: float, mixture: Mixture = DEFAULT_MIXTURE) -> float:
    """An anytime-valid upper confidence bound on the rate (coverage 1 - alpha at all times)."""
    threshold = -math.log(alpha)

    def rejected(log_odds: float) -> bool:
        return log_e_value_below(x, n, _rate(log_odds), mixture) >= threshold

    if not rejected(_LOG_ODDS_SPAN):
        return 1.0
    return _rate(_crossing(rejected, rejected_low=False))
