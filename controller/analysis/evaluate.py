"""One analysis pass: query Prometheus for every gate of a shift and judge each one.

Owns the order of queries and what a failure affects. The canary request count goes first: when
it cannot be read every gate is Error (one failed query, one bounded wait, however many gates),
and below ``minRequests`` every gate is Inconclusive without querying it. Then each gate is
queried on the canary, and relative gates on the stable subset too. A query that fails marks that
gate Error and the rest are still judged, except that once Prometheus is unreachable the
remaining gates take the same error instead of waiting for it again. A custom gate whose own
PromQL is broken (rejected by Prometheus, several series, not a number, or not renderable) fails
the check instead: it would fail the same way on every check (``verdicts.broken``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.analysis.client import FailureKind, PrometheusError, QueryClient, Sample
from controller.analysis.selectors import SelectorError, SubsetSelector
from controller.analysis.templates import (
    ShiftVariables,
    TemplateError,
    promql_range,
    render_gate,
    render_request_count,
)
from controller.analysis.verdicts import (
    broken,
    errored,
    inconclusive,
    is_broken,
    is_missing,
    judge_or_fall_back,
    too_few_requests_message,
)
from controller.api.gates import Gate
from controller.api.status import GateStatus


@dataclass(frozen=True)
class _Pass:
    """What every gate of one pass is measured against."""

    canary: SubsetSelector
    stable: SubsetSelector
    window: timedelta
    variables: ShiftVariables
    client: QueryClient
    now: datetime
    stable_fallback: Mapping[str, float]


def evaluate_gates(
    gates: Sequence[Gate],
    *,
    canary: SubsetSelector,
    stable: SubsetSelector,
    window: timedelta,
    min_requests: int,
    client: QueryClient,
    now: datetime,
    variables: ShiftVariables,
    stable_fallback: Mapping[str, float] | None = None,
) -> list[GateStatus]:
    """A GateStatus per gate, in order, each with ``checked_at = now``.

    `stable_fallback`: at a 100% step, the stable values of relative gates from earlier steps."""
    count_query = render_request_count(canary, window)
    try:
        count = single_value(client.instant_query(count_query))
    except PrometheusError as error:
        return [errored(gate, error, query=count_query, now=now) for gate in gates]
    requests = 0 if count is None or math.isnan(count) else round(count)
    if requests < min_requests:
        message = too_few_requests_message(requests, promql_range(window), min_requests)
        return [inconclusive(gate, message, query=count_query, now=now) for gate in gates]

    return judge_gates(
        gates,
        canary=canary,
        stable=stable,
        window=window,
        client=client,
        now=now,
        variables=variables,
        stable_fallback=stable_fallback,
    )


def judge_gates(
    gates: Sequence[Gate],
    *,
    canary: SubsetSelector,
    stable: SubsetSelector,
    window: timedelta,
    client: QueryClient,
    now: datetime,
    variables: ShiftVariables,
    stable_fallback: Mapping[str, float] | None = None,
) -> list[GateStatus]:
    """Query and judge each gate, once the canary is known to have enough requests."""
    context = _Pass(canary, stable, window, variables, client, now, stable_fallback or {})
    statuses: list[GateStatus] = []
    outage: PrometheusError | None = None
    for gate in gates:
        if outage is not None:
            statuses.append(errored(gate, outage, query=_query_or_blank(gate, context), now=now))
            continue
        status, failure = _evaluate_gate(gate, context)
        statuses.append(status)
        if failure is not None and failure.kind is FailureKind.UNREACHABLE:
            outage = failure
    return statuses


def single_value(samples: list[Sample]) -> float | None:
    """The one number a gate query returns; None for an empty result.

    More than one series means the query is not aggregated: that is the gate author's error.
    """
    if not samples:
        return None
    if len(samples) > 1:
        shown = ", ".join(
            "{" + ",".join(f'{k}="{v}"' for k, v in sample.labels.items()) + "}"
            for sample in samples[:3]
        )
        raise PrometheusError(
            FailureKind.BAD_QUERY,
            f"the query returned {len(samples)} series ({shown}) but a gate needs one number: "
            "aggregate it, e.g. with sum(...) or max(...)",
        )
    return samples[0].value


def _evaluate_gate(gate: Gate, context: _Pass) -> tuple[GateStatus, PrometheusError | None]:
    """The gate's status, and the query failure behind it, if any."""
    try:
        query = _render(gate, context, subject=context.canary)
        stable_query = _render(gate, context, subject=context.stable) if gate.is_relative else ""
    except (TemplateError, SelectorError) as problem:
        failed = broken if gate.query is not None else errored
        return failed(gate, str(problem), query=gate.query or "", now=context.now), None
    try:
        value = single_value(context.client.instant_query(query))
    except PrometheusError as error:
        return _failed(gate, error, error.message, query=query, now=context.now), error
    stable_value: float | None = None
    if stable_query and not is_missing(value):
        try:
            stable_value = single_value(context.client.instant_query(stable_query))
        except PrometheusError as error:
            message = f"stable side: {error.message} (query: {stable_query})"
            return _failed(gate, error, message, query=query, now=context.now), error
    judged = judge_or_fall_back(
        gate,
        value=value,
        stable_value=stable_value,
        fallback=context.stable_fallback.get(gate.name),
        query=query,
        now=context.now,
    )
    return judged, None


def _failed(
    gate: Gate, error: PrometheusError, message: str, *, query: str, now: datetime
) -> GateStatus:
    """A gate whose query failed: a failed check when it is the gate's own PromQL that is
    broken, else an error that holds (an outage, a timeout, or a builtin query rejected)."""
    if gate.query is not None and is_broken(error):
        return broken(gate, message, query=query, now=now)
    return errored(gate, message, query=query, now=now)


def _render(gate: Gate, context: _Pass, *, subject: SubsetSelector) -> str:
    return render_gate(
        gate,
        subject=subject,
        canary=context.canary,
        stable=context.stable,
        window=context.window,
        variables=context.variables,
    )


def _query_or_blank(gate: Gate, context: _Pass) -> str:
    try:
        return _render(gate, context, subject=context.canary)
    except (TemplateError, SelectorError):
        return ""
