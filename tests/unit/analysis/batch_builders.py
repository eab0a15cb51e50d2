"""Builders for the batched-analysis tests: shifts as CheckRequests, grouped answers, queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.analysis.batched import (
    BATCHED_REQUEST_COUNT,
    BATCHED_TEMPLATES,
    BatchResult,
    CheckRequest,
    evaluate_batch,
    group_matchers,
    render_batched,
)
from controller.analysis.client import FailureKind, PrometheusError, Sample
from controller.analysis.selectors import SubsetSelector
from controller.analysis.templates import ShiftVariables, render_custom
from controller.api.gates import Gate
from controller.api.status import GateStatus, GateVerdict
from tests.unit.analysis.fakes import Answer, FakeClient

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=1)
BY = "destination_service_name, destination_workload_namespace, destination_version"
DOWN = PrometheusError(FailureKind.UNREACHABLE, "Prometheus at http://p is unreachable: refused")
SLOW = PrometheusError(FailureKind.TIMEOUT, "Prometheus at http://p did not answer within 5s")
BAD = PrometheusError(FailureKind.BAD_QUERY, "Prometheus at http://p rejected the query: parse")
SATURATION = 'max(cpu_saturation{namespace="{{ namespace }}",version="{{ canary }}"})'


def gates(*specs: dict[str, Any]) -> list[Gate]:
    return [Gate.model_validate(spec) for spec in specs]


THREE = gates(
    {"name": "error-rate", "max": 1},
    {"name": "latency-p90", "max": 300},
    {"name": "latency-p99", "max": 500},
)


def shift(
    index: int,
    *,
    gate_list: Sequence[Gate] = THREE,
    window: timedelta = WINDOW,
    min_requests: int = 20,
    namespace: str | None = None,
) -> CheckRequest:
    """Shift ``index``: service svc-<index>, canary v2 over stable v1, in team-<index>."""
    ns = namespace or f"team-{index}"
    service = f"svc-{index}"
    return CheckRequest(
        key=(ns, f"shift-{index}"),
        gates=gate_list,
        canary=SubsetSelector(service=service, namespace=ns, version="v2"),
        stable=SubsetSelector(service=service, namespace=ns, version="v1"),
        window=window,
        min_requests=min_requests,
        variables=ShiftVariables(namespace=ns, virtual_service=service),
    )


def series(values: Mapping[SubsetSelector, float]) -> list[Sample]:
    """A grouped result: one sample per subset, labelled as Istio labels it."""
    return [
        Sample(
            value,
            {
                "destination_service_name": subset.service,
                "destination_workload_namespace": subset.namespace,
                "destination_version": subset.version,
            },
        )
        for subset, value in values.items()
    ]


def canaries(requests: Sequence[CheckRequest], value: float) -> list[Sample]:
    return series({r.canary: value for r in requests})


def batched(name: str, requests: Sequence[CheckRequest], window: timedelta = WINDOW) -> str:
    """The batched query text of ``name`` ('count' or a builtin gate) for these requests."""
    namespaces = {ns for r in requests for ns in (r.canary.namespace, r.stable.namespace)}
    template = BATCHED_REQUEST_COUNT if name == "count" else BATCHED_TEMPLATES[name]
    return render_batched(template, group_matchers("destination", namespaces), window)


def healthy(requests: Sequence[CheckRequest]) -> dict[str, Answer]:
    """Answers under which every canary has traffic and passes the three gates."""
    return {
        batched("count", requests): canaries(requests, 120),
        batched("error-rate", requests): canaries(requests, 0.2),
        batched("latency-p90", requests): canaries(requests, 150),
        batched("latency-p99", requests): canaries(requests, 250),
    }


def run(
    requests: Sequence[CheckRequest], answers: dict[str, Answer]
) -> tuple[BatchResult, FakeClient]:
    client = FakeClient(answers)
    return evaluate_batch(requests, client=client, now=NOW), client


def verdicts(statuses: Sequence[GateStatus]) -> list[tuple[str, GateVerdict]]:
    return [(s.name, s.verdict) for s in statuses]


def custom_query(request: CheckRequest) -> str:
    values = {"namespace": request.variables.namespace, "canary": request.canary.version}
    return render_custom("saturation", SATURATION, values)
