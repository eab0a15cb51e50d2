"""The sequential judge's round reads only the duration-bucket edges its thresholds need.

Istio exports about twenty `le` buckets per subset; a round over a thousand shifts that read
them all decoded ~40,000 series. A round reads +Inf, each latency threshold's own edge and the
edges the shifts' evidence already keeps; a threshold between two edges is found by one read of
every edge, after which the shift keeps that edge and later rounds read it alone. A relative
latency gate needs every edge. Whatever was read, the counts and verdicts are those of a read
of every edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import timedelta

from controller.analysis.batched import CheckRequest, evaluate_batch
from controller.analysis.client import Sample
from controller.analysis.readings import (
    edges_to_read,
    evidence_from,
    read_counters,
    resolved,
    union_of,
)
from controller.api.gates import Gate
from controller.api.status import GateStatus, GateVerdict
from controller.api.trafficshift import Judge
from tests.unit.analysis.batch_builders import NOW, shift

EDGES = ("0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "+Inf")
LE_MATCHER = re.compile(r',le=~"((?:[^"\\]|\\.)*)"')
CANARY = ("svc-0", "team-0", "v2")


@dataclass
class Istio:
    """Cumulative counters per version, answered as Prometheus answers the round's queries:
    `le` regex matchers are applied (fully anchored, PromQL string escapes undone) unless
    `every_edge`, which answers as if the round read every edge."""

    every_edge: bool = False
    requests: dict[str, float] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)  # 1500 ms; the others take 60 ms
    bucket_queries: list[str] = field(default_factory=list)
    bucket_series: int = 0

    def serve(self, version: str, requests: int, slow: int = 0) -> None:
        self.requests[version] = self.requests.get(version, 0) + requests
        self.slow[version] = self.slow.get(version, 0) + slow

    def _within(self, version: str, edge: str) -> float:
        bound = float(edge)
        if bound >= 1500:
            return self.requests[version]
        return self.requests[version] - self.slow[version] if bound >= 100 else 0.0

    def _pattern(self, promql: str) -> re.Pattern[str] | None:
        found = LE_MATCHER.search(promql)
        if found is None or self.every_edge:
            return None
        return re.compile(re.sub(r"\\(.)", r"\1", found.group(1)))  # PromQL string -> regex

    def instant_query(self, promql: str) -> list[Sample]:
        united = union_of(promql, self.instant_query)  # the counters' one query, part by part
        if united is not None:
            return united
        out: list[Sample] = []
        pattern = self._pattern(promql)
        for version, count in self.requests.items():
            labels = dict(
                zip(
                    ("destination_service_name", "destination_workload_namespace"),
                    CANARY[:2],
                    strict=True,
                ),
                destination_version=version,
            )
            if "_bucket" in promql:
                for edge in EDGES:
                    if pattern is None or pattern.fullmatch(edge):
                        out.append(Sample(self._within(version, edge), {**labels, "le": edge}))
            elif "5.." not in promql:
                out.append(Sample(count, labels))
        if "_bucket" in promql:
            self.bucket_queries.append(promql)
            self.bucket_series += len(out)
        return out


def latency(max_ms: float | None = None, **relative: float) -> CheckRequest:
    spec: dict[str, object] = {"name": "latency-p99", **relative}
    if max_ms is not None:
        spec["max"] = max_ms
    return replace(
        shift(0, gate_list=[Gate.model_validate(spec)]),
        judge=Judge.SEQUENTIAL,
        step=1,
        step_started_at=NOW,
    )


def judged_rounds(
    request: CheckRequest, istio: Istio, traffic: list[tuple[int, int]]
) -> tuple[list[GateStatus], CheckRequest]:
    """A base round, then one round after each (canary requests, slow ones) served."""
    statuses: list[GateStatus] = []
    for index, (requests, slow) in enumerate([(50, 0), *traffic]):
        istio.serve("v2", requests, slow)
        istio.serve("v1", 10 * requests)
        now = NOW + timedelta(seconds=10 * (index + 1))
        result = evaluate_batch([request], client=istio, now=now)
        request = replace(request, evidence=result.evidence[request.key])
        statuses.append(result.statuses[request.key][0])
    return statuses[1:], request


def test_a_threshold_on_an_edge_reads_that_edge_and_inf_only() -> None:
    istio = Istio()
    istio.serve("v2", 50)
    request = latency(500)
    edges = edges_to_read([(request, request.gates)])
    readings, sent = read_counters(
        istio.instant_query, 'reporter="destination"', buckets=True, edges=edges
    )
    assert 'le=~"\\\\+Inf|500|500\\\\.0"' in sent["buckets"]
    assert sorted(k for k in readings[CANARY] if k.startswith("le=")) == ["le=+Inf", "le=500"]
    assert resolved(request, request.gates, readings, edges)


def test_rounds_of_a_threshold_on_an_edge_send_one_bucket_query_of_two_series_per_subset() -> None:
    istio = Istio()
    judged_rounds(latency(500), istio, [(40, 0), (40, 0)])
    assert len(istio.bucket_queries) == 3  # one per round
    assert istio.bucket_series == 3 * 2 * 2  # rounds x subsets x (500, +Inf)


def test_a_threshold_between_edges_reads_every_edge_once_then_only_the_edge_it_keeps() -> None:
    istio = Istio()
    statuses, request = judged_rounds(latency(400), istio, [(40, 0), (40, 0)])
    assert request.evidence is not None
    kept = sorted(k for k in request.evidence.canary.read if k.startswith("le="))
    assert kept == ["le=+Inf", "le=500"]  # the smallest edge at or above 400
    assert "le=~" not in istio.bucket_queries[1]  # the base round's second read: every edge
    assert len(istio.bucket_queries) == 2 + 1 + 1  # base round twice, then once a round
    assert '|500"' in istio.bucket_queries[-1]
    assert "above 500 ms" in (statuses[-1].evidence.hypothesis if statuses[-1].evidence else "")


def test_a_relative_latency_gate_reads_every_edge() -> None:
    request = latency(max_ratio_to_stable=1.5)
    assert edges_to_read([(request, request.gates)]) is None
    istio = Istio()
    judged_rounds(request, istio, [(40, 0)])
    assert all("le=~" not in q for q in istio.bucket_queries)
    assert len(istio.bucket_queries) == 2


def test_a_slow_canary_is_judged_exactly_as_on_a_read_of_every_edge() -> None:
    traffic = [(40, 4), (40, 6), (40, 5), (40, 8)]
    verdicts: dict[float, list[GateVerdict]] = {}
    for max_ms in (500, 400, 2000):
        few, _ = judged_rounds(latency(max_ms), Istio(), traffic)
        every, _ = judged_rounds(latency(max_ms), Istio(every_edge=True), traffic)
        assert [s.evidence for s in few] == [s.evidence for s in every]
        verdicts[max_ms] = [s.verdict for s in few]
        assert verdicts[max_ms] == [s.verdict for s in every]
    assert GateVerdict.FAIL in verdicts[500]
    assert GateVerdict.FAIL in verdicts[400]
    assert GateVerdict.FAIL not in verdicts[2000]  # 1500 ms is within the 2500 ms edge


def test_a_reading_without_a_thresholds_edge_gives_no_starting_evidence() -> None:
    """A shift starting between rounds takes its base from the last round's reading only when
    that reading has its edge; otherwise (see the tick) it reads its own counters."""
    istio = Istio()
    istio.serve("v2", 50)
    on_edge = latency(500)
    between = latency(400)
    edges = edges_to_read([(on_edge, on_edge.gates)])
    readings, _ = read_counters(
        istio.instant_query, 'reporter="destination"', buckets=True, edges=edges
    )
    assert evidence_from(on_edge, readings, NOW, edges=edges) is not None
    assert not resolved(between, between.gates, readings, edges)
    assert evidence_from(between, readings, NOW, edges=edges) is None
    every, _ = read_counters(istio.instant_query, 'reporter="destination"', buckets=True)
    assert resolved(between, between.gates, every, None)
    assert evidence_from(between, every, NOW) is not None


def test_a_subset_without_timed_requests_needs_no_edge_yet() -> None:
    request = latency(400)
    few = frozenset({"+Inf"})
    assert resolved(request, request.gates, {CANARY: {"requests": 0.0}}, few)
    assert resolved(request, request.gates, {}, few)
    assert not resolved(request, request.gates, {CANARY: {"le=+Inf": 1.0}}, few)


def test_the_batch_calls_between_after_each_shift_it_judges_sequentially() -> None:
    """The round runner yields the GIL there; every judged shift gives it one chance."""
    istio = Istio()
    istio.serve("v2", 50)
    calls: list[int] = []
    requests = [latency(500), replace(latency(500), key=("team-0", "other"))]
    evaluate_batch(requests, client=istio, now=NOW, between=lambda: calls.append(1))
    assert len(calls) == 2
