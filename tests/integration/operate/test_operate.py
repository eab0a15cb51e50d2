"""Operating a shift on the sandbox, as an SRE does: pause, resume, abort, retry, promote --full
and status, with the `weightgate controller` daemon carrying the intents out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.controller.cluster_view import WeightWatcher
from tests.integration.controller.harness import PROFILES
from tests.integration.controller.knobs import all_v1_spec, wait_canary_quiet
from tests.integration.operate.operator import Operator
from tests.integration.sandbox_fixtures import poll

CHECK_INTERVAL = 1.0  # the daemon's --check-interval
SLACK = 2.0  # a tick a second late on two busy cores, plus the watch delivering the edit
SANDBOX_ALERTS = [{"provider": "sandbox", "events": ["rollback"]}]


def at_step_one(operator: Operator, name: str) -> None:
    operator.wait_for(
        name, "step 1 confirmed", lambda s: s.get("currentStep") == 1 and not s.get("writePending")
    )


def test_pause_holds_the_weight_across_two_intervals_and_resume_continues(
    operator: Operator,
) -> None:
    name = operator.new_shift("op-pause", interval="3s")
    at_step_one(operator, name)
    paused = operator.weightgate("pause", name, "-n", operator.info.namespace)
    assert paused.returncode == 0, paused.stderr
    operator.wait_phase(name, "Paused", timeout=10)
    with WeightWatcher(operator.reader) as watcher:
        held_from = time.monotonic()
        time.sleep(2 * 3.0 + CHECK_INTERVAL)  # two whole intervals: the step would have moved
        held_until = time.monotonic()
    assert watcher.weights_between(held_from, held_until) == {50}
    assert operator.status(name)["currentStep"] == 1
    resumed = operator.weightgate("resume", name, "-n", operator.info.namespace)
    assert resumed.returncode == 0, resumed.stderr
    done = operator.wait_phase(name, "Promoted", timeout=60)
    assert [e["reason"] for e in done["history"]].count("Resumed") == 1


def test_abort_rolls_back_within_a_check_interval_and_alerts(operator: Operator) -> None:
    operator.sink.clear()
    name = operator.new_shift("op-abort", interval="60s", spec={"alerts": SANDBOX_ALERTS})
    at_step_one(operator, name)
    asked = time.monotonic()
    result = operator.weightgate("abort", name, "-n", operator.info.namespace)
    assert result.returncode == 0, result.stderr
    status = operator.wait_phase(name, "RolledBack", timeout=30)
    assert time.monotonic() - asked <= CHECK_INTERVAL + SLACK + 2.0  # +2: the CLI's own start
    assert operator.reader.virtual_service()["spec"] == all_v1_spec()
    aborted = next(e for e in status["history"] if e["reason"] == "Aborted")
    assert "aborted by" in aborted["message"]
    assert status["lastIntent"]["action"] == "abort"
    alerts = poll("the rollback alert", lambda: operator.sink.alertmanager_alerts(name) or None, 30)
    assert alerts[0]["labels"]["alertname"] == "TrafficShiftRolledBack"


def test_retry_of_a_rolled_back_shift_reaches_promotion_after_the_fault_clears(
    operator: Operator,
) -> None:
    """Pipeline mode: the shift rolled back, the fault is fixed, `retry`, and `weightgate run`
    re-run drives it from step 1 to promotion. (The daemon keeps no job for a RolledBack shift
    whose spec is unchanged, so it does not see the retry: see the issue note.)"""
    operator.fault_canary(error_rate=0.3)
    name = operator.new_shift("op-retry", interval="3s", as_run_applies=True)
    operator.wait_phase(name, "RolledBack", timeout=60)
    operator.stop_daemon()
    refused = operator.weightgate("promote", name, "-n", operator.info.namespace)
    assert refused.returncode == 1
    assert "already RolledBack" in refused.stderr
    operator.fault_canary(clear=True)
    # Twice the analysis window: on a loaded machine the mesh may still be finishing faulty v3
    # requests it routed before the rollback, and those must not land in the retry's window.
    wait_canary_quiet(operator.info, "20s")
    retried = operator.weightgate("retry", name, "-n", operator.info.namespace)
    assert retried.returncode == 0, retried.stderr
    run = operator.weightgate(
        "run", "-f", str(operator.manifest_path(name)), "--check-interval", "1s",
        "--tick-seconds", "0.5", "--profiles", str(PROFILES), timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    done = operator.status(name)
    assert done["phase"] == "Promoted"
    reasons = [e["reason"] for e in done["history"]]
    assert "Retried" in reasons, reasons
    assert reasons.index("Retried") > reasons.index("RolledBack")


def test_promote_full_reaches_100_percent_at_once(operator: Operator) -> None:
    name = operator.new_shift("op-full", steps=(10, 50, 100), interval="60s")
    at_step_one(operator, name)
    asked = time.monotonic()
    result = operator.weightgate("promote", name, "--full", "--yes", "-n", operator.info.namespace)
    assert result.returncode == 0, result.stderr
    status = operator.wait_phase(name, "Promoted", timeout=15)
    assert time.monotonic() - asked <= CHECK_INTERVAL + SLACK + 2.0
    assert status["canaryWeight"] == 100
    assert any(e["reason"] == "PromotedByOperator" for e in status["history"])
    route = operator.reader.virtual_service()["spec"]["http"][0]["route"]
    assert [d["destination"]["subset"] for d in route] == ["v3"]


def test_status_json_is_parsed_with_its_documented_keys(operator: Operator) -> None:
    name = operator.new_shift("op-json", interval="60s")
    at_step_one(operator, name)
    result = operator.weightgate("status", name, "-n", operator.info.namespace, "-o", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["name"], document["phase"], document["step"], document["steps"]) == (
        name,
        "Progressing",
        1,
        2,
    )
    assert {d["subset"]: d["weight"] for d in document["route"]} == {"v1": 50, "v3": 50}
    listed = json.loads(operator.weightgate("status", "-o", "json").stdout)
    assert name in [item["name"] for item in listed["items"]]


def test_kubectl_runs_weightgate_as_a_plugin(operator: Operator) -> None:
    """`kubectl weightgate ...` (issue #14): the install's `kubectl-weightgate` on the PATH."""
    scripts = Path(sys.executable).parent
    assert (scripts / "kubectl-weightgate").exists(), "pip install -e . puts the plugin there"
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"}

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    listed = kubectl("plugin", "list")
    assert "kubectl-weightgate" in listed.stdout, listed.stderr
    name = operator.new_shift("op-plugin", interval="60s")
    status = kubectl("weightgate", "status", "-o", "json", "--sandbox", str(operator.sandbox_dir))
    assert status.returncode == 0, status.stderr
    assert name in [item["name"] for item in json.loads(status.stdout)["items"]]
