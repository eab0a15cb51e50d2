"""`weightgate run` keeps the finalizer too: deleting the shift while the run drives it rolls
the route back to stable (spec.onDelete: rollback), lets the delete finish, and the run exits 3
as for any rollback. A run that stops mid-shift leaves the finalizer for the next run."""

from __future__ import annotations

import json

from controller.api.trafficshift import FINALIZER
from controller.routing.ownership import OWNERS_ANNOTATION
from tests.integration.controller.cluster_view import WeightWatcher, canary_weight
from tests.integration.controller.harness import Harness
from tests.integration.controller.knobs import all_v1_spec, kubectl
from tests.integration.sandbox_fixtures import poll

RUN_DEADLINE = 60.0


def at_step_one(harness: Harness) -> None:
    poll(
        "the canary to get traffic",
        lambda: canary_weight(harness.reader.virtual_service()) == 50,
        RUN_DEADLINE,
        every=0.1,
    )


def test_a_shift_deleted_mid_run_is_rolled_back_let_go_and_the_run_exits_3(
    harness: Harness,
) -> None:
    shift = harness.new_shift("deleted-mid-run", interval="30s")
    with WeightWatcher(harness.reader) as watcher:
        run = harness.start(shift)
        at_step_one(harness)
        stored = harness.reader.shift(shift.name)
        assert stored is not None
        assert stored["metadata"]["finalizers"] == [FINALIZER]

        kubectl(harness.info, "delete", "trafficshift", shift.name, "--wait=false")
        code = run.wait(RUN_DEADLINE)

    output = run.output()
    assert code == 3, output
    assert "RolledBack (exit 3)" in output
    assert watcher.path() == [0, 50, 0]
    vs = harness.reader.virtual_service()
    assert vs["spec"] == all_v1_spec()
    assert OWNERS_ANNOTATION not in (vs["metadata"].get("annotations") or {})
    assert poll("the shift to be gone", lambda: harness.reader.shift(shift.name) is None, 10.0)
    events = json.loads(
        kubectl(
            harness.info,
            "get",
            "events",
            "--field-selector",
            f"involvedObject.name={shift.name}",
            "-o",
            "json",
        ).stdout
    )["items"]
    assert "RolledBackOnDelete" in [e["reason"] for e in events]


def test_a_run_stopped_mid_shift_leaves_the_finalizer_and_the_next_run_carries_out_a_delete(
    harness: Harness,
) -> None:
    shift = harness.new_shift("stopped-then-deleted", interval="30s")
    first = harness.start(shift)
    at_step_one(harness)
    first.sigkill()
    kubectl(harness.info, "delete", "trafficshift", shift.name, "--wait=false")
    marked = harness.reader.shift(shift.name)
    assert marked is not None, "the finalizer must hold the delete while no run is there"
    assert marked["metadata"]["deletionTimestamp"]
    assert canary_weight(harness.reader.virtual_service()) == 50

    result = harness.run(shift)  # re-run: `apply` finds the shift being deleted

    assert result.code == 3, result.output
    assert harness.reader.virtual_service()["spec"] == all_v1_spec()
    assert poll("the shift to be gone", lambda: harness.reader.shift(shift.name) is None, 10.0)
