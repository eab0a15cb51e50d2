"""The sequential judge: each gate a hypothesis about the canary, tested on accumulated counts.

Owns `judge_sequential`, which turns a shift's evidence (``counting``) into one GateStatus per
gate, and the hypotheses each threshold stands for:

- ``max: m`` on error-rate (or a count gate): "the canary's 5xx share is at most m%".
- ``max: M`` on latency-pXX: "the canary's pXX is at most M ms", i.e. at most (1 - XX)% of its
  requests are slower than M. Counts come from Istio's buckets, so the share is counted above
  the smallest bucket edge at or above M (exactly M when M is an edge, as 500 is): a valid,
  if conservative, test when M falls between edges.
- ``maxRatioToStable: r`` / ``maxOverStable: d``: "the canary's rate is at most r x (or d
  above) the stable subset's". The stable side is bounded from above by an anytime-valid
  confidence bound on its counts over the shift, and the canary is tested against that bound:
  valid whenever the stable's bound holds, which it does with the probability given to it. At a
  100% step the stable subset gets no new traffic and its counts from earlier steps stand.
  For latency, the stable's pXX is bounded by the smallest bucket edge whose share above it is
  at most (1 - XX) by the same bound, and the canary is tested above r x that edge.

A gate fails the moment any of its e-values reaches its bound; the rollout then rolls back at
once (its status is marked critical). The bounds come from ``analysis.confidence``: alpha = 1 -
confidence is split evenly between the shift's sequential gates, and within a gate between its
hypotheses (a relative hypothesis gives half of its share to the stable's bound), so the chance
that a canary meeting every gate is rolled back stays at most alpha over the whole shift.

A gate passes while nothing is refuted and the canary has had ``minRequests`` requests since
the step began; with fewer it is Inconclusive and `waiting` (the step waits for evidence, with no
deadline while traffic comes). Evidence is counted over the whole shift, since each hypothesis
is about the canary at every weight.

Promotion asks for more than "not refuted". At the last step each hypothesis must also be
*bounded*: the evidence must show, by the lower-tail test at the same alpha, that the canary's
rate is below its `promotion_limit` (the rate with ``PROMOTION_ODDS`` times the hypothesis's
odds: 4.8% for a 1% threshold). Until then the gate waits for evidence. A canary that few
requests have not yet exposed (a 20% 5xx canary that happened to serve 5 of 94) is then held
until they do, instead of being promoted: the chance of promoting a canary at or above the limit
is at most alpha per hypothesis. Intermediate steps do not ask for it: at a low weight the canary
gets too few requests to bound it, and the next step's exposure is still judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from controller.analysis.counting import (
    BUCKET_PREFIX,
    ERRORS,
    INF_BUCKET,
    REQUESTS,
    gate_key,
)
from controller.analysis.evidence import (
    log_e_value,
    log_e_value_below,
    lower_bound,
    upper_bound,
)
from controller.analysis.verdicts import fmt, threshold_text
from controller.api.gates import Gate
from controller.api.status import Evidence, GateEvidence, GateStatus, GateVerdict

QUANTILES: dict[str, float] = {"latency-p50": 0.5, "latency-p90": 0.9, "latency-p99": 0.99}
_MAX_REPORTED = 1e300  # e-values are stored as JSON numbers; +inf is not one
# Before promotion the evidence must show each hypothesis's rate below the rate with this many
# times its odds. Five keeps a 20% 5xx canary (20x a 1% threshold) from ever being promoted on
# luck, and costs a healthy canary at most about 260 requests over the shift (fewer at lower
# rates; bench/decision_quality.py measures it), which only a shift with under ~5 canary
# requests a second notices.
PROMOTION_ODDS = 5.0


@dataclass(frozen=True)
class Counts:
    """Events out of requests."""

    events: int
    requests: int

    @property
    def rate(self) -> float:
        return self.events / self.requests if self.requests else math.nan

    def said(self) -> str:
        if not self.requests:
            return "0/0"
        return f"{self.events}/{self.requests} ({_percent(self.rate)})"


@dataclass(frozen=True)
class Hypothesis:
    """One tested statement about the canary, and where it stands."""

    text: str
    log_e: float
    alpha: float
    null_rate: float
    counts: Counts  # the canary's counts tested
    edge: float | None = None  # latency: the bucket edge the counts are above

    @property
    def refuted(self) -> bool:
        return self.log_e >= -math.log(self.alpha)

    @property
    def margin(self) -> float:
        return self.log_e + math.log(self.alpha)

    @property
    def limit(self) -> float | None:
        return promotion_limit(self.null_rate)

    @property
    def bounded(self) -> bool:
        """Whether the evidence shows the canary's rate below the promotion limit."""
        limit = self.limit
        if limit is None:
            return True
        below = log_e_value_below(self.counts.events, self.counts.requests, limit)
        return below >= -math.log(self.alpha)

    def rate_high(self) -> float:
        """The anytime-valid upper confidence bound on the canary's rate, at this alpha."""
        return upper_bound(self.counts.events, self.counts.requests, self.alpha)


def promotion_limit(null_rate: float) -> float | None:
    """The rate a hypothesis's canary must be shown below before promotion; None: nothing to
    show (a threshold of 0 is refuted by any event, one of 100% by none)."""
    if not 0 < null_rate < 1:
        return None
    odds = PROMOTION_ODDS * null_rate / (1 - null_rate)
    return odds / (1 + odds)


@dataclass(frozen=True)
class SequentialCheck:
    """What one shift's sequential check needs besides its gates."""

    confidence: float
    gate_count: int  # sequential gates of the shift: alpha is shared between them
    min_requests: int
    step: int
    step_started_at: datetime | None
    now: datetime
    final_step: bool  # the shift is at its last step: passing now promotes it


def _percent(rate: float) -> str:
    return f"{100 * rate:.3g}%"


def edges(counts: Mapping[str, float]) -> list[float]:
    """The finite latency bucket edges present in a subset's counters, ascending."""
    return list(_edge_keys(frozenset(counts)))


@lru_cache(maxsize=256)  # every subset has the same few key sets: parse them once
def _edge_keys(keys: frozenset[str]) -> dict[float, str]:
    """Finite bucket edge -> its key, ascending by edge."""
    found: dict[float, str] = {}
    for key in keys:
        if key.startswith(BUCKET_PREFIX) and key != INF_BUCKET:
            try:
                found[float(key[len(BUCKET_PREFIX) :])] = key
            except ValueError:
                continue
    return dict(sorted(found.items()))


def _bucket_key(edge: float, counts: Mapping[str, int]) -> str:
    return _edge_keys(frozenset(counts)).get(edge, f"{BUCKET_PREFIX}{fmt(edge)}")


def edge_at_or_above(value: float, available: Sequence[float]) -> float | None:
    return next((edge for edge in available if edge >= value), None)


def slower_than(edge: float | None, counts: Mapping[str, int]) -> Counts:
    """Requests above `edge` (None: above every edge, which no request is), of all timed ones."""
    timed = counts.get(INF_BUCKET, 0)
    if edge is None:
        return Counts(0, timed)
    within = counts.get(_bucket_key(edge, counts), 0)
    return Counts(max(0, min(timed, timed - within)), timed)


def _errors(counts: Mapping[str, int], gate: Gate) -> Counts:
    if gate.is_count:
        total = counts.get(gate_key(gate.name, "total"), 0)
        return Counts(min(counts.get(gate_key(gate.name, "errors"), 0), total), total)
    requests = counts.get(REQUESTS, 0)
    return Counts(min(counts.get(ERRORS, 0), requests), requests)


def _test(
    text: str, counts: Counts, null_rate: float, alpha: float, edge: float | None = None
) -> Hypothesis:
    log_e = log_e_value(counts.events, counts.requests, min(max(null_rate, 0.0), 1.0))
    return Hypothesis(text, log_e, alpha, null_rate, counts, edge)


class _GateJudge:
    """One gate's hypotheses and status, from the shift's counts."""

    def __init__(self, gate: Gate, evidence: Evidence, check: SequentialCheck, query: str) -> None:
        self.gate = gate
        self.evidence = evidence
        self.check = check
        self.query = query
        self.alpha = (1 - check.confidence) / max(check.gate_count, 1)
        parts = int(gate.max is not None) + int(gate.max_ratio_to_stable is not None)
        parts += int(gate.max_over_stable is not None)
        self.part_alpha = self.alpha / max(parts, 1)
        self.quantile = QUANTILES.get(gate.name)

    # -- counts ------------------------------------------------------------------------------

    def _canary(self, counts: Mapping[str, int], edge: float | None) -> Counts:
        if self.quantile is None:
            return _errors(counts, self.gate)
        return slower_than(edge, counts)

    def _stable(self, edge: float | None) -> Counts:
        return self._canary(self.evidence.stable.shift, edge)

    # -- hypotheses --------------------------------------------------------------------------

    def hypotheses(self) -> tuple[list[Hypothesis], str, GateEvidence | None]:
        """The gate's tested hypotheses, a reason it cannot be tested yet, and its evidence."""
        if self.quantile is None:
            return self._rate_hypotheses()
        return self._latency_hypotheses()

    def _rate_hypotheses(self) -> tuple[list[Hypothesis], str, GateEvidence | None]:
        gate, alpha = self.gate, self.part_alpha
        canary = self._canary(self.evidence.canary.shift, None)
        tested: list[Hypothesis] = []
        if gate.max is not None:
            tested.append(
                _test(f"canary {self._what()} <= {fmt(gate.max)}%", canary, gate.max / 100, alpha)
            )
        stable = self._stable(None)
        problem = ""
        ratio: tuple[float | None, float | None] = (None, None)
        if gate.is_relative:
            if stable.requests == 0:
                problem = "the stable subset has no requests counted yet to compare with"
            else:
                bound = upper_bound(stable.events, stable.requests, alpha / 2)
                tested += self._relative(canary, bound, alpha / 2, unit=100.0)
                ratio = _ratio_interval(canary, stable, alpha / 2)
        evidence = self._evidence(canary, stable if gate.is_relative else None, tested, ratio)
        return tested, problem, evidence

    def _relative(
        self, canary: Counts, stable_bound: float, alpha: float, *, unit: float
    ) -> list[Hypothesis]:
        gate = self.gate
        tested: list[Hypothesis] = []
        if gate.max_ratio_to_stable is not None:
            null = gate.max_ratio_to_stable * stable_bound
            tested.append(
                _test(
                    f"canary {self._what()} <= {fmt(gate.max_ratio_to_stable)}x "
                    f"stable's (bound {_percent(stable_bound)})",
                    canary,
                    null,
                    alpha,
                )
            )
        if gate.max_over_stable is not None:
            null = stable_bound + gate.max_over_stable / unit
            tested.append(
                _test(
                    f"canary {self._what()} <= stable's (bound "
                    f"{_percent(stable_bound)}) + {fmt(gate.max_over_stable)}",
                    canary,
                    null,
                    alpha,
                )
            )
        return tested

    def _latency_hypotheses(self) -> tuple[list[Hypothesis], str, GateEvidence | None]:
        gate, alpha = self.gate, self.part_alpha
        quantile = self.quantile or 0.99
        share = 1 - quantile
        canary_counts = self.evidence.canary.shift
        # Every edge either subset's counters have: a bucket no request fell in is never
        # counted (its delta is 0), so the counts alone would hide the edges below the traffic.
        available = edges(
            {
                **self.evidence.canary.read,
                **self.evidence.stable.read,
                **canary_counts,
                **self.evidence.stable.shift,
            }
        )
        tested: list[Hypothesis] = []
        shown = self._canary(canary_counts, None)
        if gate.max is not None:
            edge = edge_at_or_above(gate.max, available)
            shown = self._canary(canary_counts, edge)
            tested.append(
                _test(
                    f"canary {self._pct()} <= {fmt(gate.max)} ms: at most "
                    f"{_percent(share)} of requests above {_edge(edge)}",
                    shown,
                    share,
                    alpha,
                    edge,
                )
            )
        problem = ""
        stable_shown: Counts | None = None
        if gate.is_relative:
            stable_edge = self._stable_quantile_bound(available, share, alpha / 2)
            stable_shown = self._stable(stable_edge)
            if stable_edge is None:
                problem = (
                    f"the stable subset's {self._pct()} cannot be bounded yet "
                    f"({stable_shown.requests} timed requests counted)"
                )
            else:
                for text, limit in self._relative_latency_limits(stable_edge):
                    edge = edge_at_or_above(limit, available)
                    counts = self._canary(canary_counts, edge)
                    tested.append(
                        _test(
                            f"{text}: at most {_percent(share)} of canary requests "
                            f"above {_edge(edge)}",
                            counts,
                            share,
                            alpha / 2,
                            edge,
                        )
                    )
        return tested, problem, self._evidence(shown, stable_shown, tested, (None, None))

    def _relative_latency_limits(self, stable_edge: float) -> list[tuple[str, float]]:
        gate = self.gate
        limits: list[tuple[str, float]] = []
        if gate.max_ratio_to_stable is not None:
            limits.append(
                (
                    f"canary {self._pct()} <= {fmt(gate.max_ratio_to_stable)}x stable's "
                    f"(bound {fmt(stable_edge)} ms)",
                    gate.max_ratio_to_stable * stable_edge,
                )
            )
        if gate.max_over_stable is not None:
            limits.append(
                (
                    f"canary {self._pct()} <= stable's (bound {fmt(stable_edge)} ms) + "
                    f"{fmt(gate.max_over_stable)} ms",
                    stable_edge + gate.max_over_stable,
                )
            )
        return limits

    def _stable_quantile_bound(
        self, available: Sequence[float], share: float, alpha: float
    ) -> float | None:
        """The smallest edge the stable's quantile is below, with confidence 1 - alpha.

        No union bound over the edges is needed: only the largest edge below the true quantile
        can mislead (its true share above is over `share`), and at every lower edge more
        requests are above, so its upper bound is at least as high (the bound grows with the
        count). One confidence sequence, at that one edge, covers them all."""
        for edge in available:
            counts = self._stable(edge)
            if counts.requests and upper_bound(counts.events, counts.requests, alpha) <= share:
                return edge
        return None

    # -- words -------------------------------------------------------------------------------

    def _what(self) -> str:
        return "5xx share" if self.gate.name == "error-rate" else f"{self.gate.name} share"

    def _pct(self) -> str:
        return f"p{fmt(100 * (self.quantile or 0.99))}"

    def _evidence(
        self,
        canary: Counts,
        stable: Counts | None,
        tested: list[Hypothesis],
        ratio: tuple[float | None, float | None],
    ) -> GateEvidence:
        lead = max(tested, key=lambda h: h.margin, default=None)
        edge = None if lead is None else lead.edge
        if lead is not None:
            canary = lead.counts
        step = self._canary(self.evidence.canary.step, edge)
        return GateEvidence(
            hypothesis=lead.text if lead else "",
            canary_events=canary.events,
            canary_requests=canary.requests,
            step_events=step.events,
            step_requests=step.requests,
            stable_events=None if stable is None else stable.events,
            stable_requests=None if stable is None else stable.requests,
            null_rate=None if lead is None else min(max(lead.null_rate, 0.0), 1.0),
            e_value=1.0 if lead is None else min(math.exp(min(lead.log_e, 700.0)), _MAX_REPORTED),
            bound=0.0 if lead is None else float(f"{1 / lead.alpha:.6g}"),
            ratio_low=_finite(ratio[0]),
            ratio_high=_finite(ratio[1]),
        )


def _edge(edge: float | None) -> str:
    return "the largest bucket" if edge is None else f"{fmt(edge)} ms"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _ratio_interval(
    canary: Counts, stable: Counts, alpha: float
) -> tuple[float | None, float | None]:
    """A confidence interval for canary rate / stable rate (each side at `alpha`)."""
    if not canary.requests or not stable.requests:
        return None, None
    stable_high = upper_bound(stable.events, stable.requests, alpha)
    stable_low = lower_bound(stable.events, stable.requests, alpha)
    low = lower_bound(canary.events, canary.requests, alpha) / stable_high if stable_high else None
    high = upper_bound(canary.events, canary.requests, alpha) / stable_low if stable_low else None
    return low, high


def judge_sequential(
    gates: Sequence[Gate],
    evidence: Evidence,
    check: SequentialCheck,
    queries: Mapping[str, str],
) -> list[GateStatus]:
    """One status per gate, each judged on the shift's evidence after this check's reading."""
    return [_judge_one(gate, evidence, check, queries.get(gate.name, "")) for gate in gates]


def _judge_one(gate: Gate, evidence: Evidence, check: SequentialCheck, query: str) -> GateStatus:
    judge = _GateJudge(gate, evidence, check, query)
    tested, problem, gate_evidence = judge.hypotheses()
    canary = judge._canary(evidence.canary.shift, None)
    refuted = [h for h in tested if h.refuted]
    described = describe_evidence(gate_evidence, check, evidence)
    value = None if math.isnan(canary.rate) else 100 * canary.rate
    if gate_evidence is not None and gate_evidence.canary_requests:
        value = 100 * gate_evidence.canary_events / gate_evidence.canary_requests

    def status(verdict: GateVerdict, message: str, **extra: bool) -> GateStatus:
        return GateStatus(
            name=gate.name,
            verdict=verdict,
            value=value,
            threshold=threshold_text(gate),
            query=query,
            message=message,
            checked_at=check.now,
            judge="sequential",
            evidence=gate_evidence,
            **extra,
        )

    if refuted:
        return status(
            GateVerdict.FAIL,
            f"{gate.name}: evidence against the canary: {described}",
            critical=True,
        )
    if problem:
        return status(GateVerdict.INCONCLUSIVE, f"{gate.name}: {problem}; {described}")
    step_requests = _step_requests(gate, evidence)
    if step_requests < check.min_requests:
        waiting = (
            f"{gate.name}: waiting for evidence: {step_requests} of {check.min_requests} "
            f"canary requests since step {check.step} began; {described}"
        )
        return status(GateVerdict.INCONCLUSIVE, waiting, waiting=True)
    if check.final_step:
        unbounded = [h for h in tested if not h.bounded]
        if unbounded:
            said = "; ".join(_unbounded(h) for h in unbounded)
            waiting = f"{gate.name}: waiting for evidence to promote: {said}; {described}"
            return status(GateVerdict.INCONCLUSIVE, waiting, waiting=True)
        said = "; ".join(_bounded(h) for h in tested if h.limit is not None)
        if said:
            described = f"{described}; {said}"
    return status(GateVerdict.PASS, f"{gate.name}: no evidence against the canary: {described}")


def _unbounded(hypothesis: Hypothesis) -> str:
    return (
        f"the canary's rate is not yet shown below {_percent(hypothesis.limit or 1.0)} for "
        f"'{hypothesis.text}' (upper bound {_percent(hypothesis.rate_high())} on "
        f"{hypothesis.counts.said()})"
    )


def _bounded(hypothesis: Hypothesis) -> str:
    return f"rate shown below {_percent(hypothesis.limit or 1.0)} ('{hypothesis.text}')"


def _step_requests(gate: Gate, evidence: Evidence) -> int:
    if gate.is_count:
        return evidence.canary.step.get(gate_key(gate.name, "total"), 0)
    return evidence.canary.step.get(REQUESTS, 0)


def describe_evidence(gate: GateEvidence | None, check: SequentialCheck, evidence: Evidence) -> str:
    """E.g. "canary 14/61 (23%) since step 1 began 40s ago, 14/61 over the shift, stable ...;
    evidence 1.2e+04 against 'canary 5xx share <= 1%', bound 200 (confidence 0.99)"."""
    if gate is None:
        return "no evidence recorded"
    began = ""
    if check.step_started_at is not None:
        began = f" {fmt(round((check.now - check.step_started_at).total_seconds()))}s ago"
    parts = [
        f"canary {Counts(gate.step_events, gate.step_requests).said()} since step {check.step} "
        f"began{began}, {Counts(gate.canary_events, gate.canary_requests).said()} over the shift"
    ]
    if gate.stable_requests is not None:
        parts.append(f"stable {Counts(gate.stable_events or 0, gate.stable_requests).said()}")
    if gate.ratio_low is not None or gate.ratio_high is not None:
        low = "0" if gate.ratio_low is None else f"{gate.ratio_low:.2g}"
        high = "inf" if gate.ratio_high is None else f"{gate.ratio_high:.2g}"
        parts.append(f"canary/stable ratio in [{low}, {high}]")
    said = ", ".join(parts)
    if gate.hypothesis:
        said += (
            f"; evidence {gate.e_value:.3g} against '{gate.hypothesis}', bound "
            f"{gate.bound:.3g} (confidence {fmt(check.confidence)})"
        )
    if evidence.resets:
        said += f"; {evidence.resets} counter reset(s) skipped"
    return said
