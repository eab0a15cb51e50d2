"""Reading the sequential judge's counters for a group of shifts in one grouped query.

Owns the cumulative-counter templates (requests, 5xx answers, duration buckets: raw ``sum``s,
grouped like the batched gate queries, never ``increase()``), sent as one query whose parts are
told apart by a ``counter`` label (so the three are read at the same instant, and a round costs
one request), which counter keys a shift keeps,
and `judge_group_sequentially`: one reading for every member, its evidence updated
(``counting``) and its sequential gates judged (``sequential``). Custom count gates query their
own ``errorQuery``/``totalQuery`` per shift. A failed query marks the gates it feeds Error and
leaves their counters as they were: an outage is never read as a reset, and nothing is lost,
since the next reading's difference covers the outage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from string import Template
from typing import TYPE_CHECKING

from controller.analysis.client import PrometheusError, Sample
from controller.analysis.counting import (
    BUCKET_PREFIX,
    ERRORS,
    INF_BUCKET,
    REQUESTS,
    family,
    gate_key,
    update_evidence,
)
from controller.analysis.selectors import SelectorError, SubsetSelector
from controller.analysis.sequential import (
    QUANTILES,
    SequentialCheck,
    edge_at_or_above,
    judge_sequential,
)
from controller.analysis.templates import TemplateError, custom_values, render_custom
from controller.analysis.verdicts import broken, errored, is_broken
from controller.api.gates import Gate
from controller.api.judging import gate_judge
from controller.api.status import Evidence, GateStatus
from controller.api.trafficshift import Judge

if TYPE_CHECKING:
    from controller.analysis.batched import CheckRequest

_BY = "destination_service_name, destination_workload_namespace, destination_version"
_REQUESTS = "istio_requests_total"
_BUCKETS = "istio_request_duration_milliseconds_bucket"
COUNTER_TEMPLATES: dict[str, str] = {
    REQUESTS: f"sum by ({_BY}) ({_REQUESTS}{{$matchers}})",
    ERRORS: f'sum by ({_BY}) ({_REQUESTS}{{$matchers,response_code=~"5.."}})',
    "buckets": f"sum by ({_BY}, le) ({_BUCKETS}{{$matchers}})",
}

COUNTER_LABEL = "counter"  # tells the parts of the one counter query apart

SeriesKey = tuple[str, str, str]
Readings = dict[SeriesKey, dict[str, float]]


@dataclass(frozen=True)
class CounterSnapshot:
    """One group's counter reading in a round: every subset's counters in `namespaces`."""

    reporter: str
    namespaces: frozenset[str]
    buckets: bool  # whether the duration buckets were read too
    readings: Readings
    at: datetime
    edges: frozenset[str] | None = None  # the buckets' `le` values read; None: every edge


@dataclass
class SequentialResult:
    statuses: dict[str, GateStatus]
    evidence: Evidence | None  # None: nothing was read (the previous evidence stands)


def render_counter(name: str, matchers: str) -> str:
    return Template(COUNTER_TEMPLATES[name]).substitute(matchers=matchers)


def series_of(selector: SubsetSelector) -> SeriesKey:
    return (selector.service, selector.namespace, selector.version)


def _key(sample: Sample) -> SeriesKey:
    labels = sample.labels
    return (
        labels.get("destination_service_name", ""),
        labels.get("destination_workload_namespace", ""),
        labels.get("destination_version", ""),
    )


def read_counters(
    query: Callable[[str], list[Sample]],
    matchers: str,
    *,
    buckets: bool,
    edges: frozenset[str] | None = None,
) -> tuple[Readings, dict[str, str]]:
    """Every subset's Istio counters in the group, in one query, and the query sent (by
    counter).

    `edges`: the ``le`` values of the duration buckets to read (None: every edge)."""
    names = [REQUESTS, ERRORS] + (["buckets"] if buckets else [])
    promql = _counters_query(matchers, buckets, edges)
    readings: Readings = {}
    for sample in query(promql):
        name = sample.labels.get(COUNTER_LABEL, "")
        if name in names:
            _take(readings, name, sample)
    return readings, dict.fromkeys(names, promql)


@lru_cache(maxsize=256)  # a round's groups ask the same few, every tick period
def _counters_query(matchers: str, buckets: bool, edges: frozenset[str] | None) -> str:
    names = [REQUESTS, ERRORS] + (["buckets"] if buckets else [])
    return " or ".join(_tagged(name, _counter_query(name, matchers, edges)) for name in names)


def _tagged(name: str, promql: str) -> str:
    """`promql` with every series labelled ``counter="<name>"`` (absent before: the empty
    regex matches the empty value), so `or` keeps the parts apart."""
    return f'label_replace({promql}, "{COUNTER_LABEL}", "{name}", "{COUNTER_LABEL}", "")'


_TAGGED = re.compile(rf'label_replace\((.*), "{COUNTER_LABEL}", "(\w+)", "{COUNTER_LABEL}", ""\)')


def union_of(promql: str, answer: Callable[[str], list[Sample]]) -> list[Sample] | None:
    """A `read_counters` query answered part by part by `answer`, as PromQL's ``or`` unites
    the parts (each series labelled with its part's counter); None for any other query. For
    simulated Prometheus servers (tests, bench/) that know the parts."""
    if not promql.startswith("label_replace("):
        return None
    parts = [_TAGGED.fullmatch(text) for text in promql.split(" or ")]
    if not all(parts):
        return None
    return [
        Sample(sample.value, {**sample.labels, COUNTER_LABEL: part[2]})
        for part in parts
        if part is not None
        for sample in answer(part[1])
    ]


def _counter_query(name: str, matchers: str, edges: frozenset[str] | None) -> str:
    if name == "buckets" and edges is not None:
        matchers = f'{matchers},le=~"{_edge_alternatives(edges)}"'
    return render_counter(name, matchers)


def _take(readings: Readings, name: str, sample: Sample) -> None:
    if math.isnan(sample.value):  # no count to take
        return
    key = name
    if name == "buckets":
        key = f"{BUCKET_PREFIX}{sample.labels.get('le', '')}"
    readings.setdefault(_key(sample), {})[key] = sample.value


def read_every_edge(readings: Readings, query: Callable[[str], list[Sample]], matchers: str) -> str:
    """Replace the duration buckets in `readings` by a reading of every edge; the query sent."""
    full: Readings = {}
    promql = _read_into(full, query, "buckets", matchers, None)
    for counters in readings.values():
        for name in [k for k in counters if k.startswith(BUCKET_PREFIX)]:
            del counters[name]
    for key, counters in full.items():
        readings.setdefault(key, {}).update(counters)
    return promql


def _read_into(
    readings: Readings,
    query: Callable[[str], list[Sample]],
    name: str,
    matchers: str,
    edges: frozenset[str] | None,
) -> str:
    promql = _counter_query(name, matchers, edges)
    for sample in query(promql):
        _take(readings, name, sample)
    return promql


def _edge_alternatives(edges: frozenset[str]) -> str:
    # `le` values are numbers or +Inf: escape the regex characters they can hold.
    return "|".join(re.escape(edge).replace("\\", "\\\\") for edge in sorted(edges))


def needs_buckets(gates: Sequence[Gate]) -> bool:
    return any(gate.name in QUANTILES for gate in gates)


def keep_keys(reading: Mapping[str, float], gates: Sequence[Gate]) -> dict[str, float]:
    """The counters a shift keeps: requests and 5xx; for latency gates +Inf and the bucket edges
    their thresholds need (every edge when a latency gate is relative to the stable)."""
    kept = {k: v for k, v in reading.items() if not k.startswith(BUCKET_PREFIX)}
    latency = [g for g in gates if g.name in QUANTILES]
    if not latency:
        return kept
    buckets = {k: v for k, v in reading.items() if k.startswith(BUCKET_PREFIX)}
    if any(g.is_relative for g in latency):
        return {**kept, **buckets}
    maxima = tuple(sorted({g.max for g in latency if g.max is not None}))
    wanted = _wanted_buckets(frozenset(buckets), maxima)
    return {**kept, **{k: v for k, v in buckets.items() if k in wanted}}


@lru_cache(maxsize=256)  # the same key sets and thresholds, over and over: decide once
def _wanted_buckets(keys: frozenset[str], maxima: tuple[float, ...]) -> frozenset[str]:
    by_edge = {edge: key for key, edge in ((k, _edge_value(k)) for k in keys if k != INF_BUCKET)}
    available = sorted(by_edge)
    wanted = {INF_BUCKET}
    for limit in maxima:
        edge = edge_at_or_above(limit, available)
        if edge is not None:
            wanted.add(by_edge[edge])
    return frozenset(wanted)


def edges_to_read(
    members: Sequence[tuple[CheckRequest, Sequence[Gate]]],
) -> frozenset[str] | None:
    """The ``le`` values a round reads for its members: +Inf, each latency threshold's own
    spellings (500 as "500" and "500.0") and the edges their evidence already keeps. None
    (every edge) when a member has a relative latency gate, which needs them all.

    A threshold between two edges is not found this way: `resolved` says so, and the round
    then reads every edge (see `read_every_edge`) and the shift keeps the edge it needs."""
    wanted = {INF_BUCKET[len(BUCKET_PREFIX) :]}
    for member, gates in members:
        latency = [g for g in gates if g.name in QUANTILES]
        if any(g.is_relative for g in latency):
            return None
        for gate in latency:
            if gate.max is not None:
                wanted |= _spellings(gate.max)
        if latency and member.evidence is not None:
            for subset in (member.evidence.canary, member.evidence.stable):
                wanted |= {
                    k[len(BUCKET_PREFIX) :] for k in subset.read if k.startswith(BUCKET_PREFIX)
                }
    return frozenset(wanted)


def _spellings(limit: float) -> set[str]:
    spelled = {f"{limit:g}", repr(float(limit))}
    if float(limit).is_integer():
        spelled.add(str(int(limit)))
    return spelled


def resolved(
    member: CheckRequest,
    gates: Sequence[Gate],
    readings: Readings,
    edges: frozenset[str] | None,
) -> bool:
    """Whether `readings` of the ``le`` values `edges` (None: every edge) show, for each of the
    member's subsets that has duration buckets, the edge each latency threshold is counted at:
    the threshold's own edge, or one the shift's evidence already keeps at or above it."""
    maxima = [g.max for g in gates if g.name in QUANTILES and g.max is not None]
    if edges is None or not maxima:
        return True
    for selector, side in ((member.canary, "canary"), (member.stable, "stable")):
        reading = readings.get(series_of(selector), {})
        if INF_BUCKET not in reading:
            continue  # no timed request yet: nothing to count at any edge
        read = [_edge_value(k) for k in reading if k.startswith(BUCKET_PREFIX)]
        kept = []
        if member.evidence is not None:
            subset = member.evidence.canary if side == "canary" else member.evidence.stable
            kept = [_edge_value(k) for k in subset.read if k.startswith(BUCKET_PREFIX)]
        for limit in maxima:
            if limit not in read and not any(math.isfinite(e) and e >= limit for e in kept):
                return False
    return True


def _edge_value(key: str) -> float:
    try:
        return float(key[len(BUCKET_PREFIX) :])
    except ValueError:
        return float("inf")


class _CountGates:
    """A member's custom count gates: their own counters, per subset."""

    def __init__(self, member: CheckRequest, query: Callable[[str], list[Sample]]) -> None:
        self.member = member
        self.query = query
        self.failed: dict[str, str] = {}  # gate -> error message
        self.broken: set[str] = set()  # gates whose own PromQL fails the same way every time
        self.sent: dict[str, str] = {}

    def read(self, subject: SubsetSelector, gates: Sequence[Gate]) -> dict[str, float]:
        values: dict[str, float] = {}
        for gate in gates:
            if gate.name in self.failed or (subject == self.member.stable and not gate.is_relative):
                continue
            try:
                values.update(self._read_gate(gate, subject))
            except PrometheusError as problem:
                self.failed[gate.name] = problem.message
                if is_broken(problem):
                    self.broken.add(gate.name)
            except (TemplateError, SelectorError) as problem:
                self.failed[gate.name] = str(problem)
                self.broken.add(gate.name)
        return values

    def _read_gate(self, gate: Gate, subject: SubsetSelector) -> dict[str, float]:
        from controller.analysis.evaluate import single_value  # noqa: PLC0415 - no cycle at import

        member = self.member
        variables = custom_values(
            member.variables,
            canary=member.canary,
            stable=member.stable,
            subject=subject,
            window=member.window,
        )
        values: dict[str, float] = {}
        for which, template in (("errors", gate.error_query), ("total", gate.total_query)):
            promql = render_custom(gate.name, template or "", variables)
            if subject == member.canary and which == "errors":
                self.sent[gate.name] = promql
            value = single_value(self.query(promql))
            if value is not None and not math.isnan(value):
                values[gate_key(gate.name, which)] = value
        return values


def _previous_family(evidence: Evidence | None, side: str, name: str) -> dict[str, float]:
    if evidence is None:
        return {}
    subset = evidence.canary if side == "canary" else evidence.stable
    return {k: v for k, v in subset.read.items() if family(k) == name}


def watchable(member: CheckRequest) -> bool:
    """Whether a watch (`moved`, between rounds) can judge the shift from the group's reading
    alone: every gate is the sequential judge's and none is a count gate (those send queries
    of their own, which a watch every tick period would multiply)."""
    return bool(member.gates) and all(
        gate_judge(g, member.judge) is Judge.SEQUENTIAL and not g.is_count for g in member.gates
    )


Signature = tuple[object, ...]


def _signature(member: CheckRequest, readings: Readings, keys: Sequence[str]) -> Signature:
    """What a check of the member could find new in `readings`, over the counter `keys` its
    evidence keeps: the canary's events (5xx, and the requests above each bucket edge), and for
    a relative gate the stable's counters too (its bound moves with every request). A key
    missing from the reading reads as None."""
    canary = readings.get(series_of(member.canary), {})
    inf = canary.get(INF_BUCKET)
    events: list[object] = [canary.get(ERRORS)]
    for key in keys:
        if key.startswith(BUCKET_PREFIX) and key != INF_BUCKET:
            within = canary.get(key)
            events.append(None if inf is None or within is None else inf - within)
    if any(g.is_relative for g in member.gates):
        stable = readings.get(series_of(member.stable), {})
        events.extend(stable.get(key) for key in keys)
    return tuple(events)


def _keys(member: CheckRequest, readings: Readings) -> list[str]:
    """The counters the member's gates keep, in the reading or in its evidence (a canary with
    no traffic when its base was read has an empty evidence; its first slow request must still
    count as an event)."""
    keys = set(keep_keys(readings.get(series_of(member.canary), {}), member.gates))
    if member.evidence is not None:
        keys |= set(member.evidence.canary.read)
    return sorted(keys)


def moved(member: CheckRequest, readings: Readings) -> bool:
    """Whether `readings` hold canary events (a 5xx, a request above a bucket edge) that the
    member's evidence has not counted, or for a relative gate any new stable counts.

    Without a new event a canary's e-values can only have fallen since its evidence was read
    (each decreases in the requests at fixed events), so a check would find no failure that
    the check which took that evidence did not."""
    return _new_signature(member, readings) is not None


def _new_signature(member: CheckRequest, readings: Readings) -> Signature | None:
    """The reading's signature (`_signature`) when it differs from the evidence's; None when
    the evidence has counted every event in it."""
    keys = _keys(member, readings)
    now = _signature(member, readings, keys)
    evidence = member.evidence
    if evidence is None:
        return now
    base: Readings = {
        series_of(member.canary): evidence.canary.read,
        series_of(member.stable): evidence.stable.read,
    }
    return None if now == _signature(member, base, keys) else now


class Watch:
    """Which shifts a watch between rounds judges: those with new events (`moved`) since their
    evidence was read and since the last watch judged them. A watch posts only failures, so
    the evidence a shift carries stays its last round's until then; without this memory each
    watch would judge again every shift that had one event since that round."""

    def __init__(self) -> None:
        self._judged: dict[Hashable, Signature] = {}

    def __call__(self, member: CheckRequest, readings: Readings) -> bool:
        signature = _new_signature(member, readings)
        if signature is None or self._judged.get(member.key) == signature:
            return False
        self._judged[member.key] = signature
        return True

    def keep_only(self, keys: set[Hashable]) -> None:
        """Forget the shifts no longer watched."""
        for key in [k for k in self._judged if k not in keys]:
            del self._judged[key]


def judge_member(
    member: CheckRequest,
    *,
    gates: Sequence[Gate],
    readings: Readings | PrometheusError,
    sent: Mapping[str, str],
    query: Callable[[str], list[Sample]],
    now: datetime,
) -> SequentialResult:
    """One member's sequential gates, from the group's readings (or the error that stopped them)."""
    if isinstance(readings, PrometheusError):
        return SequentialResult(
            {g.name: errored(g, readings, query=sent.get(REQUESTS, ""), now=now) for g in gates},
            None,
        )
    count_gates = _CountGates(member, query)
    canary = keep_keys(readings.get(series_of(member.canary), {}), gates)
    stable = keep_keys(readings.get(series_of(member.stable), {}), gates)
    counted = [g for g in gates if g.is_count]
    canary.update(count_gates.read(member.canary, counted))
    stable.update(count_gates.read(member.stable, counted))
    for name in count_gates.failed:  # keep the counters as they were: not a reset
        canary.update(_previous_family(member.evidence, "canary", name))
        stable.update(_previous_family(member.evidence, "stable", name))
    evidence = update_evidence(
        member.evidence,
        canary=canary,
        stable=stable,
        now=now,
        step_started_at=member.step_started_at,
    )
    check = SequentialCheck(
        confidence=member.confidence,
        gate_count=len(gates),
        min_requests=member.min_requests,
        step=member.step,
        step_started_at=member.step_started_at,
        now=now,
        final_step=member.final_step,
    )
    queries = {g.name: _query_of(g, sent, count_gates.sent) for g in gates}
    judged = judge_sequential(
        [g for g in gates if g.name not in count_gates.failed], evidence, check, queries
    )
    statuses = {s.name: s for s in judged}
    for gate in gates:
        if gate.name in count_gates.failed:
            failed = broken if gate.name in count_gates.broken else errored
            statuses[gate.name] = failed(
                gate, count_gates.failed[gate.name], query=queries[gate.name], now=now
            )
    return SequentialResult(statuses, evidence)


def _query_of(gate: Gate, sent: Mapping[str, str], custom: Mapping[str, str]) -> str:
    if gate.is_count:
        return custom.get(gate.name, gate.error_query or "")
    if gate.name in QUANTILES:
        return sent.get("buckets", "")
    return sent.get(ERRORS, "")


def keyed(results: Mapping[Hashable, SequentialResult]) -> dict[Hashable, Evidence]:
    return {key: r.evidence for key, r in results.items() if r.evidence is not None}


def evidence_from(
    member: CheckRequest,
    readings: Readings,
    now: datetime,
    *,
    edges: frozenset[str] | None = None,
) -> Evidence | None:
    """A shift's first evidence (its base) from a reading of its group's Istio counters; None
    when the shift has count gates, whose own counters that reading lacks, or when the reading
    lacks a bucket edge its latency thresholds need (see `resolved`)."""
    gates = [g for g in member.gates if gate_judge(g, member.judge) is Judge.SEQUENTIAL]
    if not gates or any(g.is_count for g in gates):
        return None
    if not resolved(member, gates, readings, edges):
        return None  # a reading of some edges only, without the one a threshold needs
    return update_evidence(
        None,
        canary=keep_keys(readings.get(series_of(member.canary), {}), gates),
        stable=keep_keys(readings.get(series_of(member.stable), {}), gates),
        now=now,
        step_started_at=member.step_started_at,
    )


def starting_evidence(
    member: CheckRequest, query: Callable[[str], list[Sample]], now: datetime
) -> Evidence | None:
    """The base reading of a shift's counters taken as its first step is decided, before the
    route changes, so the first check already counts the canary's first requests. None when the
    counters cannot be read now (the first check then takes the base instead)."""
    from controller.analysis.batched import group_matchers  # noqa: PLC0415 - batched imports us

    gates = [g for g in member.gates if gate_judge(g, member.judge) is Judge.SEQUENTIAL]
    if not gates:
        return None
    namespaces = {member.canary.namespace, member.stable.namespace}
    services = {member.canary.service, member.stable.service}
    matchers = group_matchers(member.canary.reporter, namespaces, services)
    try:
        readings, _ = read_counters(query, matchers, buckets=needs_buckets(gates))
    except PrometheusError:
        return None
    if not any(g.is_count for g in gates):
        return evidence_from(member, readings, now)
    count_gates = _CountGates(member, query)
    counted = [g for g in gates if g.is_count]
    canary = keep_keys(readings.get(series_of(member.canary), {}), gates)
    stable = keep_keys(readings.get(series_of(member.stable), {}), gates)
    canary.update(count_gates.read(member.canary, counted))
    stable.update(count_gates.read(member.stable, counted))
    if count_gates.failed:
        return None
    return update_evidence(
        None, canary=canary, stable=stable, now=now, step_started_at=member.step_started_at
    )
