"""The sequential judge inside the tick: cumulative counters read, evidence kept in the status
across ticks (so a restarted controller continues the same test), a bad canary rolled back with
its counts and e-value in the status, and a counter reset that neither rolls back nor advances.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from controller.analysis.batched import evaluate_batch
from controller.analysis.client import Sample
from controller.analysis.readings import CounterSnapshot, union_of
from controller.api.status import GateVerdict, Phase
from controller.reconcile.board import GateBoard
from controller.rollout import Action
from tests.unit.reconcile.builders import (
    CHECK_INTERVAL,
    at,
    bookinfo_cluster,
    make_deps,
    shift_manifest,
    stored_status,
    tick,
)

SEQUENTIAL = {"judge": "sequential", "minRequests": 20, "window": "1m"}
EDGES = ("0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "+Inf")


@dataclass
class Counters:
    """Cumulative Istio counters per version, answered as Prometheus sums them."""

    requests: dict[str, float] = field(default_factory=lambda: {"v1": 0.0, "v3": 0.0})
    errors: dict[str, float] = field(default_factory=lambda: {"v1": 0.0, "v3": 0.0})
    slow: dict[str, float] = field(default_factory=lambda: {"v1": 0.0, "v3": 0.0})
    asked: list[str] = field(default_factory=list)

    def serve(self, version: str, requests: int, errors: int = 0, slow: int = 0) -> None:
        self.requests[version] += requests
        self.errors[version] += errors
        self.slow[version] += slow

    def reset(self, version: str) -> None:
        self.requests[version] = self.errors[version] = self.slow[version] = 0.0

    def _within(self, version: str, edge: str) -> float:
        """Requests at or below `edge`: fast ones take 60 ms, slow ones 1500 ms."""
        bound = float(edge)
        if bound >= 2500:
            return self.requests[version]
        return self.requests[version] - self.slow[version] if bound >= 100 else 0.0

    def instant_query(self, promql: str) -> list[Sample]:
        united = union_of(promql, self.instant_query)  # the counters' one query, part by part
        if united is not None:
            return united
        self.asked.append(promql)
        out: list[Sample] = []
        for version in ("v1", "v3"):
            labels = {
                "destination_service_name": "reviews",
                "destination_workload_namespace": "bookinfo",
                "destination_version": version,
            }
            if not self.requests[version]:
                continue  # no series before the first request
            if "_bucket" in promql:
                for edge in EDGES:
                    out.append(Sample(self._within(version, edge), {**labels, "le": edge}))
            elif 'response_code=~"5.."' in promql:
                if self.errors[version]:
                    out.append(Sample(self.errors[version], labels))
            elif promql.startswith("sum by"):
                out.append(Sample(self.requests[version], labels))
            else:
                raise AssertionError(f"unexpected query: {promql}")
        return out


def sequential_deps(counters: Counters):  # type: ignore[no-untyped-def]
    cluster = bookinfo_cluster(shift_manifest(analysis=SEQUENTIAL))
    return cluster, make_deps(cluster, counters)  # type: ignore[arg-type]


def test_a_canary_answering_20_percent_5xx_is_rolled_back_with_its_evidence_in_the_status():
    counters = Counters()
    cluster, deps = sequential_deps(counters)
    tick(deps, 0)  # step 1: 10%, after reading the counters' base
    counters.serve("v1", 100)
    tick(deps, 10)
    counters.serve("v3", 30, errors=6)
    counters.serve("v1", 270, errors=1)
    outcome = tick(deps, 20)
    assert outcome.action is Action.ROLLBACK
    status = stored_status(cluster)
    assert status.phase is Phase.ROLLED_BACK
    error_rate = next(g for g in status.gates if g.name == "error-rate")
    assert error_rate.verdict is GateVerdict.FAIL
    assert error_rate.judge == "sequential"
    assert error_rate.evidence is not None
    assert (error_rate.evidence.canary_events, error_rate.evidence.canary_requests) == (6, 30)
    assert error_rate.evidence.e_value >= error_rate.evidence.bound == 200
    assert "6/30 (20%)" in status.message


def test_evidence_accumulates_across_ticks_in_the_status_and_the_step_waits_for_requests():
    counters = Counters()
    cluster, deps = sequential_deps(counters)
    tick(deps, 0)
    counters.serve("v1", 90)
    tick(deps, 10)
    counters.serve("v3", 8)
    counters.serve("v1", 72)
    tick(deps, 20)
    first = stored_status(cluster)
    assert first.evidence is not None
    assert first.evidence.canary.shift.get("requests") == 8
    gate = first.gates[0]
    assert gate.waiting
    assert "8 of 20 canary requests since step 1 began" in gate.message
    counters.serve("v3", 9)
    counters.serve("v1", 81)
    outcome = tick(deps, 30)
    assert outcome.action is Action.NONE  # 17 of 20: still waiting, even after the interval
    counters.serve("v3", 10)
    counters.serve("v1", 90)
    outcome = tick(deps, 40)
    assert outcome.action is Action.SET_WEIGHT  # 27 requests, 40 s > 30 s interval: step 2
    assert stored_status(cluster).current_step == 2


def test_a_counter_reset_mid_shift_neither_rolls_back_nor_advances():
    counters = Counters()
    cluster, deps = sequential_deps(counters)
    tick(deps, 0)
    counters.serve("v1", 90)
    tick(deps, 10)
    counters.serve("v3", 5)
    counters.serve("v1", 45)
    tick(deps, 20)
    counters.reset("v3")  # the canary's pods restart: counters start again from zero
    counters.reset("v1")
    counters.serve("v3", 1, errors=1)  # one 5xx after the restart
    counters.serve("v1", 9)
    outcome = tick(deps, 30)
    assert outcome.action is Action.NONE
    assert stored_status(cluster).evidence.canary.suspect == ["istio"]  # type: ignore[union-attr]
    counters.serve("v3", 2)
    counters.serve("v1", 18)
    outcome = tick(deps, 40)
    assert outcome.action is Action.NONE
    status = stored_status(cluster)
    assert status.phase is Phase.PROGRESSING
    assert status.current_step == 1
    assert status.evidence is not None
    assert status.evidence.resets == 2  # both subsets
    assert status.evidence.canary.shift.get("requests") == 5  # nothing negative or doubled


def test_a_round_before_the_next_tick_counts_from_the_evidence_the_last_tick_took():
    """The request left on the board after a check carries that check's evidence, so a round
    that runs before the shift ticks again does not start counting over."""
    counters = Counters()
    cluster = bookinfo_cluster(shift_manifest(analysis={**SEQUENTIAL, "minRequests": 0}))
    deps = replace(make_deps(cluster, counters), board=GateBoard())  # type: ignore[arg-type]
    board = deps.board
    assert board is not None

    def round_at(seconds: float) -> None:
        found = evaluate_batch(board.requests(CHECK_INTERVAL), client=counters, now=at(seconds))
        board.post(found.statuses, at(seconds), found.evidence)

    tick(deps, 0)
    tick(deps, 1)  # registers the shift
    counters.serve("v1", 100)
    round_at(2)
    tick(deps, 2.5)  # takes the first reading
    (request,) = board.requests(CHECK_INTERVAL)
    assert request.evidence == stored_status(cluster).evidence
    assert request.evidence is not None
    counters.serve("v1", 100)
    round_at(12)  # no tick in between
    tick(deps, 12.5)  # a check that changes no verdict: written on its refresh round only
    (request,) = board.requests(CHECK_INTERVAL)
    evidence = request.evidence
    assert evidence is not None
    assert evidence.since == at(2)  # the same test goes on from the first round's base
    assert evidence.stable.shift.get("requests") == 100


def test_the_counters_base_is_read_before_the_first_step_goes_to_the_canary():
    """The first step's decision reads the counters before the route changes, so the first
    check already counts the canary's first requests."""
    counters = Counters()
    counters.serve("v1", 500, errors=2)  # traffic before the shift: never counted
    cluster, deps = sequential_deps(counters)
    tick(deps, 0)
    started = stored_status(cluster)
    assert started.current_step == 1
    assert started.evidence is not None
    assert started.evidence.stable.read == {
        "requests": 500.0,
        "errors": 2.0,
        "le=500": 500.0,
        "le=+Inf": 500.0,
    }
    counters.serve("v3", 12, errors=3)
    counters.serve("v1", 108)
    tick(deps, 10)
    error_rate = stored_status(cluster).gates[0]
    assert error_rate.evidence is not None
    assert (error_rate.evidence.canary_events, error_rate.evidence.canary_requests) == (3, 12)
    assert (error_rate.evidence.step_events, error_rate.evidence.step_requests) == (3, 12)


def test_with_rounds_a_starting_shift_takes_its_base_from_the_last_rounds_reading():
    """Under batched rounds a starting shift sends no query of its own: its base is the last
    round's reading of its namespace, when that is younger than the check interval."""
    counters = Counters()
    cluster = bookinfo_cluster(shift_manifest(analysis=SEQUENTIAL))
    deps = replace(make_deps(cluster, counters), board=GateBoard())  # type: ignore[arg-type]
    assert deps.board is not None
    reading = {("reviews", "bookinfo", "v1"): {"requests": 700.0, "errors": 3.0}}
    snapshot = CounterSnapshot("destination", frozenset({"bookinfo"}), True, reading, at(-4))
    deps.board.post({}, at(-4), {}, [snapshot])
    tick(deps, 0)
    evidence = stored_status(cluster).evidence
    assert evidence is not None
    assert evidence.stable.read == {"requests": 700.0, "errors": 3.0}
    assert counters.asked == []  # no query of its own


def test_a_stale_or_partial_round_reading_is_no_base():
    board = GateBoard()
    snapshot = CounterSnapshot("destination", frozenset({"bookinfo"}), False, {}, at(0))
    board.post({}, at(0), {}, [snapshot])
    fresh = {"now": at(5), "max_age": CHECK_INTERVAL}
    assert board.counters("destination", {"bookinfo"}, buckets=False, **fresh) == ({}, None)
    assert board.counters("destination", {"bookinfo"}, buckets=True, **fresh) is None
    assert board.counters("destination", {"bookinfo", "other"}, buckets=False, **fresh) is None
    late = {"now": at(11), "max_age": CHECK_INTERVAL}
    assert board.counters("destination", {"bookinfo"}, buckets=False, **late) is None


def _starting_from_round(latency_max: int) -> tuple[Counters, object]:
    """A starting shift under rounds whose last reading holds the buckets at 500 ms and +Inf
    only (as a round of shifts with a 500 ms threshold reads them)."""
    counters = Counters()
    counters.serve("v1", 700, slow=7)
    gates = [{"name": "latency-p99", "max": latency_max}]
    cluster = bookinfo_cluster(shift_manifest(analysis={**SEQUENTIAL, "gates": gates}))
    deps = replace(make_deps(cluster, counters), board=GateBoard())  # type: ignore[arg-type]
    assert deps.board is not None
    reading = {
        ("reviews", "bookinfo", "v1"): {
            "requests": 700.0,
            "errors": 0.0,
            "le=500": 693.0,
            "le=+Inf": 700.0,
        }
    }
    edges = frozenset({"+Inf", "500", "500.0"})
    snapshot = CounterSnapshot("destination", frozenset({"bookinfo"}), True, reading, at(-4), edges)
    deps.board.post({}, at(-4), {}, [snapshot])
    tick(deps, 0)
    return counters, stored_status(cluster).evidence


def test_a_starting_shift_takes_a_rounds_reading_of_some_edges_when_its_edge_is_there():
    counters, evidence = _starting_from_round(500)
    assert counters.asked == []
    assert evidence is not None
    assert evidence.stable.read["le=500"] == 693.0


def test_a_starting_shift_whose_threshold_lies_between_edges_reads_every_edge_itself():
    """400 ms is counted at the 500 ms edge, but a reading of some edges cannot show that 500
    is the smallest edge above 400: the shift reads its own counters, every edge, once."""
    counters, evidence = _starting_from_round(400)
    assert [q for q in counters.asked if "_bucket" in q and "le=~" not in q]
    assert evidence is not None
    kept = sorted(k for k in evidence.stable.read if k.startswith("le="))
    assert kept == ["le=+Inf", "le=500"]
