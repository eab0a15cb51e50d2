"""Batched analysis: every due shift's builtin gates in a few PromQL queries, fanned back out.

Owns ``CheckRequest`` (what one shift's check needs), the grouped templates, and
``evaluate_batch``. Requests are grouped by analysis window and reporter; per group, the canary
request count and each builtin gate are one query aggregated ``by`` the labels that select a
subset (service, workload namespace, version), restricted to the namespaces in the group. Each
shift then takes its canary's series (and, for relative thresholds, its stable subset's, which
the same query already returned) and is judged exactly as ``evaluate_gates`` would judge it; each
verdict records the batched query it was judged on. Custom gates have PromQL of their own, which
cannot be merged safely: they are queried per shift, as before.

Failures mirror the per-shift pass: a count query that fails marks every gate of the group
Error; a gate query that fails marks that gate Error for the whole group; once Prometheus is
unreachable the group's remaining queries take the same error instead of waiting again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from string import Template

from controller.analysis.client import FailureKind, PrometheusError, QueryClient, Sample
from controller.analysis.evaluate import judge_gates
from controller.analysis.readings import (
    CounterSnapshot,
    Readings,
    SequentialResult,
    Watch,
    edges_to_read,
    judge_member,
    keyed,
    needs_buckets,
    read_counters,
    read_every_edge,
    resolved,
    watchable,
)
from controller.analysis.selectors import SubsetSelector, escape_label_value
from controller.analysis.templates import ShiftVariables, promql_range
from controller.analysis.verdicts import (
    errored,
    inconclusive,
    is_missing,
    judge_or_fall_back,
    too_few_requests_message,
)
from controller.api.gates import Gate
from controller.api.judging import gate_judge
from controller.api.status import Evidence, GateStatus, TrafficShiftStatus
from controller.api.trafficshift import Judge, TrafficShiftSpec

GROUP_LABELS = ("destination_service_name", "destination_workload_namespace", "destination_version")
_BY = ", ".join(GROUP_LABELS)
_REQUESTS = "istio_requests_total"
_BUCKETS = "istio_request_duration_milliseconds_bucket"


def _latency(quantile: str) -> str:
    rate = f"rate({_BUCKETS}{{$matchers}}[$window])"
    return f"histogram_quantile({quantile}, sum by ({_BY}, le) ({rate}))"


# The grouped forms of controller.analysis.templates' builtins. `or (0 * total)` gives a subset
# with requests but no 5xx an error rate of 0, as `or vector(0)` does per shift.
BATCHED_TEMPLATES: dict[str, str] = {
    "error-rate": (
        f'100 * (sum by ({_BY}) (rate({_REQUESTS}{{$matchers,response_code=~"5.."}}[$window])) '
        f"or 0 * sum by ({_BY}) (rate({_REQUESTS}{{$matchers}}[$window]))) "
        f"/ sum by ({_BY}) (rate({_REQUESTS}{{$matchers}}[$window]))"
    ),
    "latency-p50": _latency("0.5"),
    "latency-p90": _latency("0.9"),
    "latency-p99": _latency("0.99"),
}
BATCHED_REQUEST_COUNT = f"sum by ({_BY}) (increase({_REQUESTS}{{$matchers}}[$window]))"

SeriesKey = tuple[str, str, str]  # service, workload namespace, version


@dataclass(frozen=True)
class CheckRequest:
    """One shift's check, as the batch needs it."""

    key: Hashable
    gates: Sequence[Gate]
    canary: SubsetSelector
    stable: SubsetSelector
    window: timedelta
    min_requests: int
    variables: ShiftVariables
    judge: Judge = Judge.THRESHOLD
    confidence: float = 0.99
    # Sequential judge: the shift's evidence so far, and the step it is at.
    evidence: Evidence | None = None
    step: int = 0
    step_started_at: datetime | None = None
    final_step: bool = False  # at the last step: a pass promotes, so it must bound the canary
    # Threshold judge at a 100% step: the stable values of relative gates from earlier steps.
    stable_fallback: Mapping[str, float] = field(default_factory=dict)

    def gates_for(self, judge: Judge) -> list[Gate]:
        return [g for g in self.gates if gate_judge(g, self.judge) is judge]


@dataclass
class BatchResult:
    """Gate statuses per request key, the sequential judge's evidence per key, and the number of
    PromQL queries the batch sent."""

    statuses: dict[Hashable, list[GateStatus]] = field(default_factory=dict)
    evidence: dict[Hashable, Evidence] = field(default_factory=dict)
    queries: int = 0
    # The counters each group read, for the base of shifts that start before the next round.
    snapshots: list[CounterSnapshot] = field(default_factory=list)


def series_key(selector: SubsetSelector) -> SeriesKey:
    return (selector.service, selector.namespace, selector.version)


def _alternatives(values: Iterable[str]) -> str:
    # Values passed the label-value grammar; '.' is the one regex character it allows.
    return "|".join(sorted({escape_label_value(v).replace(".", "\\\\.") for v in values}))


def group_matchers(
    reporter: str, namespaces: Iterable[str], services: Iterable[str] | None = None
) -> str:
    """Label matchers for a group: its reporter and its workload namespaces (and, for a check
    of one shift, its services, so the answer holds that shift's series only)."""
    matchers = (
        f'reporter="{escape_label_value(reporter)}",'
        f'destination_workload_namespace=~"{_alternatives(namespaces)}"'
    )
    if services is not None:
        matchers += f',destination_service_name=~"{_alternatives(services)}"'
    return matchers


def render_batched(template: str, matchers: str, window: timedelta) -> str:
    return Template(template).substitute(matchers=matchers, window=promql_range(window))


class _Counted:
    """The group's client: counts queries and, after an outage, stops sending them."""

    def __init__(self, client: QueryClient) -> None:
        self.client = client
        self.sent = 0
        self.outage: PrometheusError | None = None

    def series(self, promql: str) -> dict[SeriesKey, float]:
        return _by_series(self.instant_query(promql))

    def instant_query(self, promql: str) -> list[Sample]:
        """Also what the per-shift custom gates query through, so they count and stop alike."""
        if self.outage is not None:
            raise self.outage
        self.sent += 1
        try:
            return self.client.instant_query(promql)
        except PrometheusError as error:
            if error.kind is FailureKind.UNREACHABLE:
                self.outage = error
            raise


def _by_series(samples: list[Sample]) -> dict[SeriesKey, float]:
    values: dict[SeriesKey, float] = {}
    for sample in samples:
        labels = sample.labels
        key = (
            labels.get("destination_service_name", ""),
            labels.get("destination_workload_namespace", ""),
            labels.get("destination_version", ""),
        )
        values[key] = sample.value
    return values


def evaluate_batch(
    requests: Sequence[CheckRequest],
    *,
    client: QueryClient,
    now: datetime,
    narrow: bool = False,
    between: Callable[[], None] = lambda: None,
    watch: Watch | None = None,
) -> BatchResult:
    """Every request's gate statuses, each with ``checked_at = now``.

    `narrow`: select the requests' services too (a check of one shift, outside rounds).
    `between`: called after each shift judged sequentially (the round runner yields the GIL
    there, so a thousand shifts' judging does not stall the controller's other threads).
    `watch`: judge only the `watchable` requests that it picks (new canary events since they
    were last judged); the others get no status."""
    result = BatchResult()
    groups: dict[tuple[timedelta, str], list[CheckRequest]] = {}
    for request in requests:
        if watch is not None and not watchable(request):
            continue
        groups.setdefault((request.window, request.canary.reporter), []).append(request)
    for (window, reporter), members in groups.items():
        counted = _Counted(client)
        group = _Group(members, window, reporter, counted, now, narrow=narrow, between=between)
        threshold = {} if watch is not None else group.evaluate_thresholds()
        sequential = group.evaluate_sequential(only=watch)
        for member in members:
            if watch is not None and member.key not in sequential:
                continue
            found = {**threshold.get(member.key, {}), **_statuses(sequential.get(member.key))}
            result.statuses[member.key] = [found[g.name] for g in member.gates]
        result.evidence.update(keyed(sequential))
        if group.snapshot is not None and not narrow:
            result.snapshots.append(group.snapshot)
        result.queries += counted.sent
    return result


def _statuses(result: SequentialResult | None) -> dict[str, GateStatus]:
    return {} if result is None else result.statuses


class _Group:
    def __init__(
        self,
        members: list[CheckRequest],
        window: timedelta,
        reporter: str,
        client: _Counted,
        now: datetime,
        *,
        narrow: bool = False,
        between: Callable[[], None] = lambda: None,
    ) -> None:
        self.members = members
        self.between = between
        self.window = window
        self.client = client
        self.now = now
        namespaces = {m.canary.namespace for m in members} | {m.stable.namespace for m in members}
        services = {m.canary.service for m in members} | {m.stable.service for m in members}
        self.matchers = group_matchers(reporter, namespaces, services if narrow else None)
        self.reporter = reporter
        self.namespaces = frozenset(namespaces)
        self.snapshot: CounterSnapshot | None = None

    def evaluate_thresholds(self) -> dict[Hashable, dict[str, GateStatus]]:
        """Statuses of the gates the threshold judge decides, by member and gate name."""
        views = [replace(m, gates=m.gates_for(Judge.THRESHOLD)) for m in self.members]
        views = [v for v in views if v.gates]
        into: dict[Hashable, list[GateStatus]] = {}
        if views:
            self._evaluate(views, into)
        return {key: {s.name: s for s in statuses} for key, statuses in into.items()}

    def evaluate_sequential(self, *, only: Watch | None = None) -> dict[Hashable, SequentialResult]:
        """Read the group's counters once, then judge every member's sequential gates (with
        `only`, those of the members it picks)."""
        members = [(m, m.gates_for(Judge.SEQUENTIAL)) for m in self.members]
        members = [(m, gates) for m, gates in members if gates]
        if not members:
            return {}
        buckets = any(needs_buckets(gates) for _, gates in members)
        edges = edges_to_read(members) if buckets else None
        query = self.client.instant_query
        try:
            readings, sent = read_counters(query, self.matchers, buckets=buckets, edges=edges)
            if not all(resolved(m, g, readings, edges) for m, g in members):
                sent["buckets"] = read_every_edge(readings, query, self.matchers)
                edges = None
            found: Readings | PrometheusError = readings
            self.snapshot = CounterSnapshot(
                self.reporter, self.namespaces, buckets, readings, self.now, edges
            )
        except PrometheusError as error:
            found, sent = error, {}
        if only is not None:  # an outage is the rounds' to report; a watch, new counts only
            members = (
                []
                if not isinstance(found, dict)
                else [(m, gates) for m, gates in members if only(m, found)]
            )
        judged: dict[Hashable, SequentialResult] = {}
        for member, gates in members:
            judged[member.key] = judge_member(
                member, gates=gates, readings=found, sent=sent, query=query, now=self.now
            )
            self.between()
        return judged

    def _evaluate(
        self, members: list[CheckRequest], into: dict[Hashable, list[GateStatus]]
    ) -> None:
        count_query = render_batched(BATCHED_REQUEST_COUNT, self.matchers, self.window)
        try:
            counts = self.client.series(count_query)
        except PrometheusError as error:
            for m in members:
                into[m.key] = [errored(g, error, query=count_query, now=self.now) for g in m.gates]
            return
        judged = [m for m in members if self._enough(m, counts, count_query, into)]
        builtin = self._builtin_values(judged)
        for member in judged:
            into[member.key] = self._judge(member, builtin)

    def _enough(
        self,
        member: CheckRequest,
        counts: dict[SeriesKey, float],
        query: str,
        into: dict[Hashable, list[GateStatus]],
    ) -> bool:
        count = counts.get(series_key(member.canary))
        requests = 0 if count is None or math.isnan(count) else round(count)
        if requests >= member.min_requests:
            return True
        message = too_few_requests_message(requests, promql_range(self.window), member.min_requests)
        into[member.key] = [
            inconclusive(g, message, query=query, now=self.now) for g in member.gates
        ]
        return False

    def _builtin_values(
        self, members: list[CheckRequest]
    ) -> dict[str, tuple[str, dict[SeriesKey, float] | PrometheusError]]:
        names = sorted(
            {g.name for m in members for g in m.gates if g.query is None and g.is_builtin}
        )
        values: dict[str, tuple[str, dict[SeriesKey, float] | PrometheusError]] = {}
        for name in names:
            query = render_batched(BATCHED_TEMPLATES[name], self.matchers, self.window)
            try:
                values[name] = (query, self.client.series(query))
            except PrometheusError as error:
                values[name] = (query, error)
        return values

    def _judge(
        self,
        member: CheckRequest,
        builtin: dict[str, tuple[str, dict[SeriesKey, float] | PrometheusError]],
    ) -> list[GateStatus]:
        custom = [g for g in member.gates if g.name not in builtin or g.query is not None]
        custom_statuses = iter(self._custom(member, custom)) if custom else iter(())
        statuses: list[GateStatus] = []
        for gate in member.gates:
            if gate.name not in builtin or gate.query is not None:
                statuses.append(next(custom_statuses))
                continue
            query, found = builtin[gate.name]
            if isinstance(found, PrometheusError):
                statuses.append(errored(gate, found, query=query, now=self.now))
                continue
            value = found.get(series_key(member.canary))
            # As the per-shift pass: the stable side is only looked at when the canary has data.
            wanted = gate.is_relative and not is_missing(value)
            stable = found.get(series_key(member.stable)) if wanted else None
            statuses.append(
                judge_or_fall_back(
                    gate,
                    value=value,
                    stable_value=stable,
                    fallback=member.stable_fallback.get(gate.name),
                    query=query,
                    now=self.now,
                )
            )
        return statuses

    def _custom(self, member: CheckRequest, gates: list[Gate]) -> list[GateStatus]:
        """Custom gates, per shift (the batch already checked minRequests)."""
        return judge_gates(
            gates,
            canary=member.canary,
            stable=member.stable,
            window=self.window,
            client=self.client,
            now=self.now,
            variables=member.variables,
            stable_fallback=member.stable_fallback,
        )


def request_for(
    key: Hashable,
    spec: TrafficShiftSpec,
    status: TrafficShiftStatus | None,
    gates: Sequence[Gate],
    *,
    canary: SubsetSelector,
    stable: SubsetSelector,
    variables: ShiftVariables,
) -> CheckRequest:
    """The check a shift needs now, from its spec and its recorded status."""
    fallback: dict[str, float] = {}
    if status is not None and status.canary_weight == 100:
        fallback = {g.name: g.stable_value for g in status.gates if g.stable_value is not None}
    return CheckRequest(
        key=key,
        gates=gates,
        canary=canary,
        stable=stable,
        window=spec.analysis.window,
        min_requests=spec.analysis.min_requests,
        variables=variables,
        judge=spec.analysis.judge,
        confidence=spec.analysis.confidence,
        evidence=None if status is None else status.evidence,
        step=0 if status is None else status.current_step,
        step_started_at=None if status is None else status.step_started_at,
        final_step=status is not None and status.current_step >= len(spec.steps),
        stable_fallback=fallback,
    )
