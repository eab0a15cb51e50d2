"""The sequential judge end to end on the sandbox, with the real Prometheus: a canary as good as
stable at low traffic is promoted, a canary answering 20% 503s is rolled back with its evidence
in the status, and a counter reset mid-shift neither rolls back nor advances the shift."""

from __future__ import annotations

from typing import Any

import requests

from tests.integration.controller.cluster_view import WeightWatcher
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import mesh_state, set_load, set_mesh_fault
from tests.integration.sandbox_fixtures import poll

EXIT_PROMOTED = 0
EXIT_ROLLED_BACK = 3


def gate(status: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(g for g in status["gates"] if g["name"] == name)
    return found


def served(info: Any, version: str) -> int:
    """Requests the mesh's reviews `version` answered so far, by its own count."""
    counts = mesh_state(info)["counts"].get(version, {})
    return int(sum(counts.values()))


def test_half_percent_503s_on_both_versions_at_low_traffic_is_promoted(harness: Harness) -> None:
    set_load(harness.info, 4)
    set_mesh_fault(harness.info, version="v1", error_rate=0.005)
    harness.fault_canary(error_rate=0.005)
    shift = harness.new_shift("seq-healthy", judge="sequential", interval="5s", min_requests=10)
    with WeightWatcher(harness.reader) as watcher:
        result = harness.run(shift)

    assert result.code == EXIT_PROMOTED, result.output
    status = harness.status(shift)
    assert status["phase"] == "Promoted"
    assert watcher.path() == [0, 50, 100]
    error_rate = gate(status, "error-rate")
    assert error_rate["judge"] == "sequential"
    assert error_rate["verdict"] == "Pass"
    evidence = error_rate["evidence"]
    assert evidence["canaryRequests"] >= 10
    assert evidence["eValue"] < evidence["bound"] == 200
    assert "no evidence against the canary" in error_rate["message"]


def test_twenty_percent_503s_roll_back_with_the_evidence_in_the_status(harness: Harness) -> None:
    harness.fault_canary(error_rate=0.2)
    shift = harness.new_shift("seq-faulty", judge="sequential", interval="30s")
    with WeightWatcher(harness.reader) as watcher:
        result = harness.run(shift)

    assert result.code == EXIT_ROLLED_BACK, result.output
    status = harness.status(shift)
    assert status["phase"] == "RolledBack"
    assert watcher.path() == [0, 50, 0]
    error_rate = gate(status, "error-rate")
    assert (error_rate["verdict"], error_rate["critical"]) == ("Fail", True)
    evidence = error_rate["evidence"]
    assert evidence["canaryEvents"] > 0
    assert evidence["eValue"] >= evidence["bound"]
    assert evidence["hypothesis"] == "canary 5xx share <= 1%"
    rolled_back = next(e for e in status["history"] if e["reason"] == "RolledBack")
    for words in ("evidence refutes a gate at confidence 0.99", "over the shift", "bound 200"):
        assert words in rolled_back["message"], rolled_back["message"]
    assert "evidence" in result.output


def test_a_counter_reset_mid_shift_neither_rolls_back_nor_advances(harness: Harness) -> None:
    shift = harness.new_shift(
        "seq-reset", judge="sequential", interval="120s", progress_deadline="60s"
    )
    served_before = served(harness.info, "v3")
    run = harness.start(shift)

    def counted() -> int | None:
        found = harness.status(shift).get("evidence") or {}
        requests_seen = int(found.get("canary", {}).get("shift", {}).get("requests", 0))
        return requests_seen if requests_seen > 20 else None

    poll("the canary's requests to be counted", counted, timeout=30)
    response = requests.post(f"{harness.info.mesh_admin}/admin/restart", json={}, timeout=5)
    response.raise_for_status()
    assert response.json()["series_reset"] > 0

    def reset_seen() -> dict[str, Any] | None:
        status = harness.status(shift)
        return status if (status.get("evidence") or {}).get("resets", 0) >= 1 else None

    poll("the controller to see the reset", reset_seen, timeout=30)
    after_reset = int(harness.status(shift)["evidence"]["canary"]["shift"]["requests"])
    poll(
        "counting to go on after the reset",
        lambda: (
            int(harness.status(shift)["evidence"]["canary"]["shift"]["requests"]) > after_reset + 10
        ),
        timeout=30,
    )
    status = harness.status(shift)
    run.sigkill()
    assert (status["phase"], status["currentStep"], status["canaryWeight"]) == (
        "Progressing",
        1,
        50,
    ), status["message"]
    assert all(g["verdict"] != "Fail" for g in status["gates"]), status["gates"]
    counted_requests = int(status["evidence"]["canary"]["shift"]["requests"])
    served_since = served(harness.info, "v3") - served_before
    assert 0 < counted_requests <= served_since, "the reset inflated the count"
