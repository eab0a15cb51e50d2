"""Gates inside the tick: queried only when a check is due, a failing gate rolls the route back
to stable with the evidence in the status, and a Prometheus that cannot answer holds the weight.
"""

from __future__ import annotations

from controller.analysis.client import FailureKind, PrometheusError
from controller.api.status import GateVerdict, Phase
from controller.rollout import Action
from tests.unit.reconcile.builders import (
    CHECK_INTERVAL,
    bookinfo_cluster,
    dest,
    make_deps,
    managed_route,
    shift_manifest,
    split,
    stored_status,
    tick,
)
from tests.unit.reconcile.fakes import ERROR_RATE, REQUEST_COUNT, FakePrometheus

GATES_PER_CHECK = 3  # the canary request count, then error-rate and latency-p99


def test_gates_are_queried_only_when_a_check_is_due() -> None:
    prometheus = FakePrometheus.healthy()
    deps = make_deps(bookinfo_cluster(), prometheus)
    seconds_between = CHECK_INTERVAL.total_seconds()
    # (tick at, queries sent so far): the first tick writes the first step and checks nothing;
    # the next one checks; ticks inside the check interval do not.
    schedule = [
        (0, 0),
        (5, GATES_PER_CHECK),
        (9, GATES_PER_CHECK),
        (5 + seconds_between - 1, GATES_PER_CHECK),
        (5 + seconds_between, 2 * GATES_PER_CHECK),
    ]
    for seconds, expected in schedule:
        tick(deps, seconds)
        assert len(prometheus.asked) == expected, f"after the tick at {seconds}s"


def test_paused_shift_queries_no_gates() -> None:
    prometheus = FakePrometheus.healthy()
    deps = make_deps(bookinfo_cluster(shift_manifest(paused=True)), prometheus)

    for seconds in (0, 15, 30, 45):
        assert tick(deps, seconds).phase is Phase.PAUSED

    assert prometheus.asked == []


def test_the_request_count_query_is_the_rendered_canary_selector() -> None:
    prometheus = FakePrometheus.healthy()
    deps = make_deps(bookinfo_cluster(), prometheus)
    tick(deps, 0)
    tick(deps, 10)

    assert prometheus.asked[0] == (
        'sum(increase(istio_requests_total{reporter="destination",'
        'destination_service_name="reviews",destination_workload_namespace="bookinfo",'
        'destination_version="v3"}[1m]))'
    )


def test_failing_gate_twice_rolls_back_to_the_single_stable_destination() -> None:
    cluster = bookinfo_cluster()
    prometheus = FakePrometheus.healthy(error_rate=5.0)
    deps = make_deps(cluster, prometheus)
    tick(deps, 0)

    first = tick(deps, 10)
    assert first.action is Action.NONE
    assert [t.reason for t in first.transitions] == ["CheckFailed"]
    assert managed_route(cluster) == split(90)

    second = tick(deps, 20)

    assert second.phase is Phase.ROLLED_BACK
    assert second.action is Action.ROLLBACK
    assert second.write_confirmed
    assert managed_route(cluster) == [dest("v1")]
    status = stored_status(cluster)
    assert (status.phase, status.canary_weight, status.write_pending) == (
        Phase.ROLLED_BACK,
        0,
        False,
    )
    error_rate = next(g for g in status.gates if g.name == "error-rate")
    assert (error_rate.verdict, error_rate.value, error_rate.threshold) == (
        GateVerdict.FAIL,
        5.0,
        "<= 1",
    )
    error_query = next(q for q in prometheus.asked if q.startswith("100 * "))
    assert error_rate.query == error_query
    for evidence in ("gate 'error-rate' failed", "value 5", "threshold '<= 1'", error_query):
        assert evidence in status.message, evidence
    assert cluster.event_reasons() == ["ShiftStarted", "CheckFailed", "RolledBack"]
    assert cluster.events[-1].warning


def test_rolled_back_shift_stays_rolled_back_and_writes_nothing_more() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster, FakePrometheus.healthy(error_rate=5.0))
    for seconds in (0, 10, 20):
        tick(deps, seconds)
    writes = len(cluster.calls_of("replace_shift_status"))
    patches = len(cluster.calls_of("patch_virtual_service"))

    later = tick(deps, 60)

    assert later.phase is Phase.ROLLED_BACK
    assert len(cluster.calls_of("replace_shift_status")) == writes
    assert len(cluster.calls_of("patch_virtual_service")) == patches


def test_prometheus_error_holds_the_weight() -> None:
    cluster = bookinfo_cluster()
    prometheus = FakePrometheus.healthy()
    prometheus.set(REQUEST_COUNT, PrometheusError(FailureKind.UNREACHABLE, "connection refused"))
    deps = make_deps(cluster, prometheus)
    tick(deps, 0)

    held = tick(deps, 10)

    assert held.phase is Phase.HOLDING
    assert [t.reason for t in held.transitions] == ["Holding"]
    assert {g.verdict for g in held.gates} == {GateVerdict.ERROR}
    assert "connection refused" in held.gates[0].message
    for seconds in (40, 70, 100):  # well past the 30s interval: still no step
        later = tick(deps, seconds)
        assert (later.phase, later.step, later.weight) == (Phase.HOLDING, 1, 10)
    assert managed_route(cluster) == split(90)
    assert len(cluster.calls_of("patch_virtual_service")) == 1
    assert cluster.event_reasons() == ["ShiftStarted", "Holding"]


def test_gates_passing_again_end_the_hold_and_restart_the_dwell() -> None:
    cluster = bookinfo_cluster()
    prometheus = FakePrometheus.healthy()
    prometheus.set(ERROR_RATE, PrometheusError(FailureKind.TIMEOUT, "timed out after 5s"))
    deps = make_deps(cluster, prometheus)
    tick(deps, 0)
    assert tick(deps, 10).phase is Phase.HOLDING

    prometheus.set(ERROR_RATE, 0.1)
    resumed = tick(deps, 20)

    assert resumed.phase is Phase.PROGRESSING
    assert [t.reason for t in resumed.transitions] == ["GatesPassing"]
    assert tick(deps, 40).step == 1  # 20s of passing checks: not yet the 30s interval
    assert tick(deps, 50).step == 2
    assert managed_route(cluster) == split(50)


def test_too_little_traffic_holds_then_rolls_back_at_the_progress_deadline() -> None:
    cluster = bookinfo_cluster()
    prometheus = FakePrometheus.healthy(requests=3)
    deps = make_deps(cluster, prometheus)
    tick(deps, 0)
    # Within the step's first window the canary cannot have had a window of traffic: quiet.
    quiet = tick(deps, 10)
    assert (quiet.phase, quiet.transitions) == (Phase.PROGRESSING, ())
    assert "only 3 canary requests in 1m, need 20" in quiet.gates[0].message
    asked_per_check = len(prometheus.asked)
    assert asked_per_check == 1  # below minRequests no gate query is sent
    held = tick(deps, 70)
    assert held.phase is Phase.HOLDING
    (holding,) = held.transitions
    assert (holding.reason, holding.warning) == ("Holding", False)  # waiting for data: Normal

    assert tick(deps, 10 + 600).phase is Phase.HOLDING  # the default deadline is 10m
    late = tick(deps, 10 + 600 + 10)

    assert late.phase is Phase.ROLLED_BACK
    assert [t.reason for t in late.transitions] == ["ProgressDeadlineExceeded"]
    assert managed_route(cluster) == [dest("v1")]
