"""The pre-flight in the tick: a custom gate with a broken query makes the shift Invalid before
any traffic moves; a query that breaks mid-shift fails checks and rolls back; an outage at the
start proves nothing and the shift goes ahead."""

from __future__ import annotations

from controller.analysis.client import FailureKind, PrometheusError
from controller.api.status import GateVerdict, Phase
from tests.unit.reconcile.builders import (
    bookinfo_cluster,
    dest,
    make_deps,
    managed_route,
    shift_manifest,
    split,
    stored_status,
    tick,
)
from tests.unit.reconcile.fakes import FakePrometheus

CPU_GATE = {"name": "cpu", "query": 'max(cpu{version="{{ version }}"})', "max": 80}
CPU = r"^max\(cpu\{"
REJECTED = PrometheusError(
    FailureKind.BAD_QUERY,
    "Prometheus at http://p rejected the query (HTTP 400 bad_data): parse error: unexpected ')'",
)
ANALYSIS = {"judge": "threshold", "failureLimit": 2, "minRequests": 20, "window": "1m"}


def cpu_shift() -> dict[str, object]:
    return shift_manifest(analysis={**ANALYSIS, "gates": [CPU_GATE]})


def test_a_rejected_custom_query_makes_the_shift_invalid_before_any_traffic_moves() -> None:
    cluster = bookinfo_cluster(cpu_shift())
    prometheus = FakePrometheus.healthy()
    prometheus.set(CPU, REJECTED)
    deps = make_deps(cluster, prometheus)

    outcome = tick(deps, 0)

    assert outcome.phase is Phase.INVALID
    assert "patch_virtual_service" not in cluster.methods_called()
    assert managed_route(cluster) == [dest("v1")]
    status = stored_status(cluster)
    assert status.phase is Phase.INVALID
    assert status.current_step == 0
    assert status.canary_weight == 0
    assert "gate 'cpu' query" in status.message
    assert "parse error" in status.message
    assert 'max(cpu{version="v1"})' in status.message  # run on the stable: it has the traffic
    assert "InvalidSpec" in cluster.event_reasons()
    # The next tick decides the same: still no write, no second Event.
    tick(deps, 5)
    assert "patch_virtual_service" not in cluster.methods_called()
    assert cluster.event_reasons().count("InvalidSpec") == 1


def test_a_healthy_custom_query_passes_the_preflight_and_step_one_is_written() -> None:
    cluster = bookinfo_cluster(cpu_shift())
    prometheus = FakePrometheus.healthy()
    prometheus.set(CPU, 20.0)
    deps = make_deps(cluster, prometheus)

    outcome = tick(deps, 0)

    assert outcome.phase is Phase.PROGRESSING
    assert managed_route(cluster) == split(90)
    assert prometheus.asked == ['max(cpu{version="v1"})']  # once, before the first write


def test_prometheus_down_at_the_start_does_not_block_the_first_step() -> None:
    cluster = bookinfo_cluster(cpu_shift())
    prometheus = FakePrometheus.healthy()
    prometheus.set(CPU, PrometheusError(FailureKind.UNREACHABLE, "refused"))
    deps = make_deps(cluster, prometheus)

    assert tick(deps, 0).phase is Phase.PROGRESSING
    assert managed_route(cluster) == split(90)


def test_a_query_broken_mid_shift_fails_checks_and_rolls_back_at_the_failure_limit() -> None:
    cluster = bookinfo_cluster(cpu_shift())
    prometheus = FakePrometheus.healthy()
    prometheus.set(CPU, 20.0)
    deps = make_deps(cluster, prometheus)
    tick(deps, 0)
    prometheus.set(CPU, REJECTED)  # e.g. a recording rule it reads was renamed

    first = tick(deps, 10)
    cpu = next(g for g in stored_status(cluster).gates if g.name == "cpu")
    assert cpu.verdict is GateVerdict.FAIL
    assert [t.reason for t in first.transitions] == ["CheckFailed"]
    second = tick(deps, 20)

    # Not Holding until the deadline with the gate unenforced: rolled back at failureLimit 2.
    assert second.phase is Phase.ROLLED_BACK
    assert "its query cannot be judged" in stored_status(cluster).message
