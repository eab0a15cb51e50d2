"""Mixture e-values and anytime-valid bounds: closed forms, monotonicity, validity under peeking."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.analysis.evidence import (
    DEFAULT_MIXTURE,
    MULTIPLIERS,
    WEIGHTS,
    Mixture,
    log_e_value,
    log_e_value_below,
    lower_bound,
    upper_bound,
)

# -- independent reference arithmetic (written from the module docstring, not the code) ----------


def reference_term(x: int, n: int, p0: float, k: float) -> float:
    """ln of one mixture term without its weight: x ln k + n ln((1 + O) / (1 + k O))."""
    odds = p0 / (1 - p0)
    return x * math.log(k) + n * math.log((1 + odds) / (1 + k * odds))


def likelihood_ratio(x: int, n: int, alternative: float, null: float) -> float:
    """ln of the Bernoulli likelihood ratio of `alternative` against `null` for x events of n."""
    return x * math.log(alternative / null) + (n - x) * math.log((1 - alternative) / (1 - null))


def reference_mixture(x: int, n: int, p0: float) -> float:
    """ln sum_j w_j k_j**x ((1 + O) / (1 + k_j O))**n, summed with a shift so it cannot overflow."""
    terms = [
        math.log(w) + reference_term(x, n, p0, k) for k, w in zip(MULTIPLIERS, WEIGHTS, strict=True)
    ]
    top = max(terms)
    return top + math.log(math.fsum(math.exp(t - top) for t in terms))


# -- closed forms -----------------------------------------------------------------------------

COUNTS = [(0, 1), (1, 1), (0, 50), (1, 50), (3, 50), (7, 100), (100, 100), (12, 5000), (900, 4000)]
RATES = [0.001, 0.01, 0.05, 0.2, 0.5, 0.9]


@pytest.mark.parametrize(("x", "n"), COUNTS)
@pytest.mark.parametrize("p0", RATES)
def test_one_component_mixture_is_the_docstring_formula(x: int, n: int, p0: float) -> None:
    """With one multiplier, ln E = x ln k + n ln((1+O)/(1+kO)), O = p0/(1-p0)."""
    for k in (1.5, 2.0, 10.0, 1000.0):
        got = log_e_value(x, n, p0, Mixture((k,), (1.0,)))
        assert got == pytest.approx(reference_term(x, n, p0, k), rel=1e-9, abs=1e-9), k


@pytest.mark.parametrize(("x", "n"), COUNTS)
@pytest.mark.parametrize("p0", RATES)
def test_one_component_is_the_likelihood_ratio_of_rate_k_odds(x: int, n: int, p0: float) -> None:
    """Each term is the likelihood ratio of rate kO/(1+kO) against p0 for n requests."""
    odds = p0 / (1 - p0)
    for k in (1.5, 3.0, 100.0):
        alternative = k * odds / (1 + k * odds)
        got = log_e_value(x, n, p0, Mixture((k,), (1.0,)))
        expected = likelihood_ratio(x, n, alternative, p0)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), k


@pytest.mark.parametrize(("x", "n"), COUNTS)
@pytest.mark.parametrize("p0", RATES)
def test_default_mixture_is_the_weighted_sum_of_its_terms(x: int, n: int, p0: float) -> None:
    """The default E is sum_j w_j k_j**x ((1+O)/(1+k_j O))**n over MULTIPLIERS and WEIGHTS."""
    assert log_e_value(x, n, p0) == pytest.approx(reference_mixture(x, n, p0), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("x", "n"), COUNTS)
@pytest.mark.parametrize("q", RATES)
def test_below_one_component_is_the_likelihood_ratio_of_rate_odds_over_k(
    x: int, n: int, q: float
) -> None:
    """The lower-tail test's term is the likelihood ratio of rate (O/k)/(1+O/k) against q."""
    odds = q / (1 - q)
    for k in (1.5, 3.0, 100.0):
        alternative = (odds / k) / (1 + odds / k)
        got = log_e_value_below(x, n, q, Mixture((k,), (1.0,)))
        expected = likelihood_ratio(x, n, alternative, q)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), k


@given(
    n=st.integers(0, 5000),
    data=st.data(),
    q=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(1e-9, 1 - 1e-9)),  # 1 - q stays exact
)
def test_below_is_the_upper_tail_test_of_the_complementary_rate(
    n: int, data: st.DataObject, q: float
) -> None:
    """E_below(x, n; q) = E(n - x, n; 1 - q): rate >= q is the other outcome's rate <= 1 - q."""
    x = data.draw(st.integers(0, n))
    below = log_e_value_below(x, n, q)
    mirrored = log_e_value(n - x, n, 1 - q)
    if math.isinf(below) or math.isinf(mirrored):
        assert below == mirrored
    else:
        assert below == pytest.approx(mirrored, rel=1e-7, abs=1e-7)


# -- edge cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("p0", [0.0, -0.5])
def test_a_null_rate_of_zero_is_refuted_by_one_event_and_untouched_by_none(p0: float) -> None:
    """p0 <= 0: any event gives +inf evidence; no events leave E at 1."""
    assert log_e_value(1, 10, p0) == math.inf
    assert log_e_value(0, 10, p0) == 0.0


@pytest.mark.parametrize("p0", [1.0, 1.5])
@pytest.mark.parametrize(("x", "n"), [(0, 0), (0, 10), (10, 10)])
def test_a_null_rate_of_one_cannot_be_refuted(p0: float, x: int, n: int) -> None:
    """p0 >= 1: H0 holds whatever is seen, ln E = 0."""
    assert log_e_value(x, n, p0) == 0.0


@pytest.mark.parametrize("q", [0.0, -1.0])
def test_below_a_rate_of_zero_cannot_be_refuted(q: float) -> None:
    """q <= 0: every rate is >= q, ln E_below = 0."""
    assert log_e_value_below(0, 100, q) == 0.0


@pytest.mark.parametrize("q", [1.0, 2.0])
def test_below_a_rate_of_one_is_refuted_by_one_request_without_the_property(q: float) -> None:
    """q >= 1: one request without the property gives +inf; all having it gives 0."""
    assert log_e_value_below(9, 10, q) == math.inf
    assert log_e_value_below(10, 10, q) == 0.0


def test_no_requests_is_no_evidence() -> None:
    """n = 0: E = sum of weights = 1, for both tails."""
    assert log_e_value(0, 0, 0.01) == pytest.approx(0.0, abs=1e-12)
    assert log_e_value_below(0, 0, 0.01) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("p0", RATES)
def test_no_events_is_evidence_for_the_null(p0: float) -> None:
    """x = 0 of n > 0: every term is below its weight, so ln E < 0."""
    assert log_e_value(0, 20, p0) < 0


def test_every_request_having_the_property_is_strong_evidence() -> None:
    """x = n: E grows like the largest multiplier's term, 1000**n ((1+O)/(1+1000 O))**n."""
    assert log_e_value(5, 5, 0.01) > math.log(1 / 0.01)
    assert log_e_value(50, 50, 0.01) == pytest.approx(reference_mixture(50, 50, 0.01), rel=1e-12)


@pytest.mark.parametrize("function", [log_e_value, log_e_value_below])
@pytest.mark.parametrize(("x", "n"), [(-1, 10), (0, -1), (11, 10), (1, 0)])
def test_impossible_counts_raise(function: Callable[..., float], x: int, n: int) -> None:
    """Counts must satisfy 0 <= x <= n."""
    with pytest.raises(ValueError, match="0 <= x <= n"):
        function(x, n, 0.1)


@pytest.mark.parametrize(
    ("multipliers", "weights", "match"),
    [
        ((), (), "one weight per multiplier"),
        ((2.0, 3.0), (1.0,), "one weight per multiplier"),
        ((1.0,), (1.0,), "above 1"),
        ((0.5, 2.0), (0.5, 0.5), "above 1"),
        ((2.0, 3.0), (0.5, 0.6), "sum to 1"),
        ((2.0, 3.0), (1.0, 0.0), "positive"),
    ],
)
def test_an_invalid_mixture_is_refused(
    multipliers: tuple[float, ...], weights: tuple[float, ...], match: str
) -> None:
    """A mixture needs one weight per multiplier, multipliers > 1, positive weights summing to 1."""
    with pytest.raises(ValueError, match=match):
        Mixture(multipliers, weights)


def test_the_default_mixture_is_valid() -> None:
    """MULTIPLIERS/WEIGHTS satisfy Mixture's own rules (the module builds it at import)."""
    assert Mixture(MULTIPLIERS, WEIGHTS) == DEFAULT_MIXTURE
    assert math.fsum(WEIGHTS) == pytest.approx(1.0)


# -- monotonicity ------------------------------------------------------------------------------

rates = st.floats(1e-6, 1 - 1e-6)


def close_or_above(high: float, low: float) -> bool:
    return high >= low - 1e-9 * max(1.0, abs(low))


@given(n=st.integers(0, 5000), data=st.data(), a=rates, b=rates)
def test_e_value_is_non_increasing_in_the_null_rate(
    n: int, data: st.DataObject, a: float, b: float
) -> None:
    """A higher p0 is harder to refute: ln E(x, n; p0) does not grow with p0."""
    x = data.draw(st.integers(0, n))
    low, high = sorted((a, b))
    assert close_or_above(log_e_value(x, n, low), log_e_value(x, n, high))


@given(n=st.integers(1, 5000), data=st.data(), p0=rates)
def test_e_value_is_non_decreasing_in_the_events(n: int, data: st.DataObject, p0: float) -> None:
    """More events of the same n is more evidence against rate <= p0."""
    x = data.draw(st.integers(0, n - 1))
    assert close_or_above(log_e_value(x + 1, n, p0), log_e_value(x, n, p0))


@given(n=st.integers(0, 5000), data=st.data(), a=rates, b=rates)
def test_below_e_value_is_non_decreasing_in_the_rate(
    n: int, data: st.DataObject, a: float, b: float
) -> None:
    """A higher q is easier to refute as a floor: ln E_below(x, n; q) does not fall with q."""
    x = data.draw(st.integers(0, n))
    low, high = sorted((a, b))
    assert close_or_above(log_e_value_below(x, n, high), log_e_value_below(x, n, low))


@given(n=st.integers(1, 5000), data=st.data(), q=rates)
def test_below_e_value_is_non_increasing_in_the_events(
    n: int, data: st.DataObject, q: float
) -> None:
    """More events of the same n is less evidence that the rate is below q."""
    x = data.draw(st.integers(0, n - 1))
    assert close_or_above(log_e_value_below(x, n, q), log_e_value_below(x + 1, n, q))


# -- bounds ------------------------------------------------------------------------------------

ALPHAS = [0.001, 0.01, 0.05, 0.2]
BOUND_COUNTS = [(1, 1), (0, 10), (1, 10), (5, 10), (10, 10), (3, 200), (50, 200), (40, 4000)]


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize(("x", "n"), BOUND_COUNTS)
def test_bounds_bracket_the_observed_rate(alpha: float, x: int, n: int) -> None:
    """lower_bound <= x/n <= upper_bound whenever there are requests."""
    assert lower_bound(x, n, alpha) <= x / n <= upper_bound(x, n, alpha)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_with_no_requests_the_bounds_are_zero_and_one(alpha: float) -> None:
    """n = 0: nothing is known, the interval is [0, 1]."""
    assert lower_bound(0, 0, alpha) == 0.0
    assert upper_bound(0, 0, alpha) == 1.0


def nudge(rate: float, log_odds: float) -> float:
    """`rate` with its log-odds moved by `log_odds`."""
    odds = math.log(rate / (1 - rate)) + log_odds
    return 1 / (1 + math.exp(-odds))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize(("x", "n"), [(2, 2), (2, 10), (5, 10), (3, 200), (50, 200), (40, 4000)])
def test_lower_bound_is_where_the_upper_tail_e_value_crosses_one_over_alpha(
    alpha: float, x: int, n: int
) -> None:
    """E(x, n; p0) >= 1/alpha just below the lower bound and < 1/alpha just above it."""
    bound = lower_bound(x, n, alpha)
    assert 0 < bound < 1
    threshold = math.log(1 / alpha)
    assert log_e_value(x, n, nudge(bound, -1e-6)) >= threshold
    assert log_e_value(x, n, nudge(bound, +1e-6)) < threshold


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 10), (5, 10), (3, 200), (50, 200), (40, 4000)])
def test_upper_bound_is_where_the_lower_tail_e_value_crosses_one_over_alpha(
    alpha: float, x: int, n: int
) -> None:
    """E_below(x, n; q) >= 1/alpha just above the upper bound and < 1/alpha just below it."""
    bound = upper_bound(x, n, alpha)
    assert 0 < bound < 1
    threshold = math.log(1 / alpha)
    assert log_e_value_below(x, n, nudge(bound, +1e-6)) >= threshold
    assert log_e_value_below(x, n, nudge(bound, -1e-6)) < threshold


def test_a_lower_bound_is_zero_when_no_rate_can_be_refuted() -> None:
    """No events refute no rate; one event of one gives E <= sum w_j k_j (about 60) at any p0,
    so it bounds the rate away from 0 at alpha 0.05 but not at alpha 0.001."""
    assert lower_bound(0, 1000, 0.05) == 0.0
    ceiling = math.fsum(w * k for k, w in zip(MULTIPLIERS, WEIGHTS, strict=True))
    assert 20 < ceiling < 1000
    assert lower_bound(1, 1, 0.05) > 0.0
    assert lower_bound(1, 1, 0.001) == 0.0


@pytest.mark.parametrize("alpha", [0.01, 0.05])
@pytest.mark.parametrize("share", [0.01, 0.1, 0.5])
def test_bounds_narrow_as_requests_accumulate(alpha: float, share: float) -> None:
    """At the same observed share, more requests give a strictly narrower interval around it."""
    widths = []
    for n in (100, 1000, 10000, 100000):
        x = round(share * n)
        low, high = lower_bound(x, n, alpha), upper_bound(x, n, alpha)
        assert low <= share <= high
        widths.append(high - low)
    assert widths == sorted(widths, reverse=True)
    assert len(set(widths)) == len(widths)
    assert widths[-1] < share  # the interval ends up tighter than the rate itself


@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 10), (50, 200), (40, 4000)])
def test_smaller_alpha_widens_the_interval(x: int, n: int) -> None:
    """More confidence, wider bounds."""
    assert lower_bound(x, n, 0.001) <= lower_bound(x, n, 0.05)
    assert upper_bound(x, n, 0.001) >= upper_bound(x, n, 0.05)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), data=st.data(), alpha=st.sampled_from(ALPHAS))
def test_bounds_are_monotone_in_the_events(n: int, data: st.DataObject, alpha: float) -> None:
    """One more event of the same n never lowers either bound."""
    x = data.draw(st.integers(0, n - 1))
    assert lower_bound(x + 1, n, alpha) >= lower_bound(x, n, alpha)
    assert upper_bound(x + 1, n, alpha) >= upper_bound(x, n, alpha)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 3000), data=st.data(), alpha=st.sampled_from(ALPHAS))
def test_upper_bound_mirrors_lower_bound_of_the_complement(
    n: int, data: st.DataObject, alpha: float
) -> None:
    """upper_bound(x, n) = 1 - lower_bound(n - x, n): the two tails are one test, mirrored."""
    x = data.draw(st.integers(0, n))
    assert upper_bound(x, n, alpha) == pytest.approx(1 - lower_bound(n - x, n, alpha), abs=1e-12)


# -- validity however often it is looked at ----------------------------------------------------

ALPHA = 0.05
SEQUENCES = 2000
HORIZON = 2000


def allowance(alpha: float, sequences: int) -> float:
    """alpha plus three Monte Carlo standard errors of a share estimated from `sequences`."""
    return alpha + 3 * math.sqrt(alpha * (1 - alpha) / sequences)


def event_positions(rng: random.Random, rate: float, horizon: int) -> list[int]:
    """The requests (1-based) that had the property in a Bernoulli(rate) stream of `horizon`.

    Drawn as geometric gaps between events, which has exactly the law of drawing each request.
    """
    positions: list[int] = []
    log_miss = math.log1p(-rate)
    at = 0
    while True:
        at += int(math.log1p(-rng.random()) / log_miss) + 1
        if at > horizon:
            return positions
        positions.append(at)


def e_value_critical_counts(p0: float, alpha: float, horizon: int) -> list[int]:
    """For each n, the fewest events with E(x, n; p0) >= 1/alpha (n + 1: none rejects)."""
    threshold = math.log(1 / alpha)
    critical, x = [], 0
    for n in range(horizon + 1):
        x = min(x, n + 1)
        while x <= n and log_e_value(x, n, p0) < threshold:
            x += 1
        critical.append(x)
    return critical


def binomial_critical_counts(p0: float, alpha: float, horizon: int) -> list[int]:
    """For each n, the fewest events with P(Bin(n, p0) >= x) <= alpha: the fixed-n exact test."""
    critical, x = [], 0
    ratio = p0 / (1 - p0)
    for n in range(horizon + 1):
        x = min(x, n + 1)
        while x <= n:
            log_pmf = (
                math.lgamma(n + 1)
                - math.lgamma(x + 1)
                - math.lgamma(n - x + 1)
                + x * math.log(p0)
                + (n - x) * math.log1p(-p0)
            )
            term, tail, j = math.exp(log_pmf), 0.0, x
            while j <= n and (term > 1e-18 or j <= n * p0 + 1):
                tail += term
                term *= (n - j) / (j + 1) * ratio
                j += 1
            if tail <= alpha:
                break
            x += 1
        critical.append(x)
    return critical


def first_rejection(positions: Sequence[int], critical: Sequence[int]) -> int | None:
    """The first request after which x >= critical[n], checking after every request.

    `critical` never decreases (asserted by the callers), so between events, where x stays
    put, a check cannot newly reject: looking at each event is looking after every request.
    """
    for events, at in enumerate(positions, start=1):
        if events >= critical[at]:
            return at
    return None


def never_decreasing(values: Sequence[int]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))


def test_checking_at_each_event_is_checking_after_every_request() -> None:
    """The shortcut the validity tests take agrees with a request-by-request check of E."""
    p0, horizon = 0.2, 200
    threshold = math.log(1 / ALPHA)
    critical = e_value_critical_counts(p0, ALPHA, horizon)
    rng = random.Random(3)
    for _ in range(100):
        positions = event_positions(rng, p0, horizon)
        events, every_request = set(positions), None
        x = 0
        for n in range(1, horizon + 1):
            x += n in events
            if log_e_value(x, n, p0) >= threshold:
                every_request = n
                break
        assert first_rejection(positions, critical) == every_request


@pytest.mark.parametrize("p0", [0.01, 0.2])
def test_under_the_null_the_e_value_rarely_ever_reaches_one_over_alpha(p0: float) -> None:
    """At rate p0 (and below), checked after every request, the share of 2000 streams that ever
    reject is <= alpha (+3 s.e.); the exact fixed-n test re-checked likewise rejects far more."""
    e_critical = e_value_critical_counts(p0, ALPHA, HORIZON)
    naive_critical = binomial_critical_counts(p0, ALPHA, HORIZON)
    assert never_decreasing(e_critical)
    assert never_decreasing(naive_critical)
    rng = random.Random(20240501)
    limit = allowance(ALPHA, SEQUENCES)
    for rate in (p0, p0 / 2):
        e_rejected = naive_rejected = 0
        for _ in range(SEQUENCES):
            positions = event_positions(rng, rate, HORIZON)
            e_rejected += first_rejection(positions, e_critical) is not None
            naive_rejected += first_rejection(positions, naive_critical) is not None
        assert e_rejected / SEQUENCES <= limit, f"rate {rate}: {e_rejected} of {SEQUENCES}"
        if rate == p0:
            # The contrast that makes this test mean something: peeking breaks a fixed-n test.
            assert naive_rejected / SEQUENCES > 3 * ALPHA, naive_rejected
            assert naive_rejected > 3 * e_rejected


def test_the_fixed_n_test_is_valid_once_so_the_contrast_is_about_peeking() -> None:
    """Checked only at request 2000, the exact binomial test rejects about alpha of the streams."""
    p0 = 0.2
    critical = binomial_critical_counts(p0, ALPHA, HORIZON)
    rng = random.Random(7)
    rejected = sum(
        len(event_positions(rng, p0, HORIZON)) >= critical[HORIZON] for _ in range(SEQUENCES)
    )
    assert rejected / SEQUENCES <= allowance(ALPHA, SEQUENCES)


def test_a_rate_that_changes_below_the_null_keeps_the_guarantee() -> None:
    """Under a rate that moves between p0 and p0/10 every 100 requests, E stays valid."""
    p0, block = 0.05, 100
    critical = e_value_critical_counts(p0, ALPHA, HORIZON)
    assert never_decreasing(critical)
    rng = random.Random(99)
    rejected = 0
    for _ in range(SEQUENCES):
        positions: list[int] = []
        for start in range(0, HORIZON, block):  # memoryless: each block is a fresh stream
            rate = p0 if (start // block) % 2 == 0 else p0 / 10
            positions += [start + at for at in event_positions(rng, rate, block)]
        rejected += first_rejection(positions, critical) is not None
    assert rejected / SEQUENCES <= allowance(ALPHA, SEQUENCES)


def lower_bound_critical_counts(rate: float, alpha: float, checkpoints: Sequence[int]) -> list[int]:
    """At each checkpoint n, the fewest events with lower_bound(x, n) > rate (the bound misses)."""
    critical, x = [], 0
    for n in checkpoints:
        while x <= n and lower_bound(x, n, alpha) <= rate:
            x += 1
        critical.append(x)
    return critical


def upper_bound_critical_counts(rate: float, alpha: float, checkpoints: Sequence[int]) -> list[int]:
    """At each checkpoint n, the most events with upper_bound(x, n) < rate (-1: none misses)."""
    critical, x = [], -1
    for n in checkpoints:
        while x + 1 <= n and upper_bound(x + 1, n, alpha) < rate:
            x += 1
        critical.append(x)
    return critical


@pytest.mark.parametrize("rate", [0.02, 0.3])
def test_the_bounds_cover_the_true_rate_at_all_times(rate: float) -> None:
    """Checked every 10 requests over 1000, each bound ever misses the true rate in <= alpha of
    1000 streams (+3 s.e.)."""
    alpha, sequences = 0.05, 1000
    checkpoints = list(range(10, 1001, 10))
    too_high = lower_bound_critical_counts(rate, alpha, checkpoints)
    too_low = upper_bound_critical_counts(rate, alpha, checkpoints)
    rng = random.Random(31)
    lower_missed = upper_missed = 0
    for _ in range(sequences):
        positions = event_positions(rng, rate, checkpoints[-1])
        seen, events = 0, []
        for n in checkpoints:
            while seen < len(positions) and positions[seen] <= n:
                seen += 1
            events.append(seen)
        lower_missed += any(x >= c for x, c in zip(events, too_high, strict=True))
        upper_missed += any(x <= c for x, c in zip(events, too_low, strict=True))
    limit = allowance(alpha, sequences)
    assert lower_missed / sequences <= limit, lower_missed
    assert upper_missed / sequences <= limit, upper_missed
    assert max(too_high) <= checkpoints[-1]  # the bounds can miss: the check is not vacuous
    assert max(too_low) >= 0


# -- power -------------------------------------------------------------------------------------


def test_a_twenty_percent_rate_refutes_one_percent_within_a_modest_number_of_requests() -> None:
    """At a true rate of 20% against p0 = 1% (alpha 0.01), 500 streams all reject within 100
    requests, half of them within 20."""
    threshold = math.log(1 / 0.01)
    rng = random.Random(5)
    times = []
    for _ in range(500):
        events, at = 0, None
        for n in range(1, 101):
            events += rng.random() < 0.2
            if log_e_value(events, n, 0.01) >= threshold:
                at = n
                break
        assert at is not None
        times.append(at)
    assert statistics.median(times) <= 20


def test_two_events_in_the_first_two_requests_refute_one_percent_at_alpha_001() -> None:
    """A 1% null at alpha 0.01: one event of one is evidence but not enough, two of two is."""
    threshold = math.log(100)
    assert log_e_value(0, 1, 0.01) < 0 < log_e_value(1, 1, 0.01) < threshold
    assert log_e_value(2, 2, 0.01) >= threshold
