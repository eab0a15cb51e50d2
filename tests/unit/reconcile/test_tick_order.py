"""The tick's order record -> write -> verify -> confirm -> announce, and what it does when a step
of it fails: a write that silently did nothing, a 409 on the status or the VirtualService, and a
crash between recording a write and making it."""

from __future__ import annotations

from typing import Any

import pytest

from controller.api.status import Phase
from controller.kube.errors import ConflictError, UnavailableError
from controller.rollout import Action
from tests.unit.reconcile.builders import (
    NAMESPACE,
    SHIFT_NAME,
    at,
    bookinfo_cluster,
    make_deps,
    managed_route,
    split,
    status_writes,
    stored_status,
    tick,
    virtual_service,
)
from tests.unit.reconcile.fakes import SHIFT, VS, FakePrometheus

PATCHED_PATHS = [
    "/metadata/resourceVersion",
    "/spec/http/1/route",
    "/spec/http/1/route",
    "/metadata/annotations",  # the route's owner, recorded by the same write
]


def test_first_tick_records_the_write_before_patching_then_confirms() -> None:
    cluster = bookinfo_cluster()

    outcome = tick(make_deps(cluster), 0)

    assert cluster.methods_called() == [
        "get_shift",
        "get_virtual_service",
        "get_destination_rule",
        "replace_shift_status",
        "record_event",
        "patch_virtual_service",  # computed from the VirtualService this tick decided on
        "get_virtual_service",
        "replace_shift_status",
    ]
    recorded, confirmed = status_writes(cluster)
    assert (recorded.write_pending, recorded.current_step, recorded.canary_weight) == (True, 1, 10)
    assert (confirmed.write_pending, confirmed.current_step, confirmed.canary_weight) == (
        False,
        1,
        10,
    )
    assert outcome.action is Action.SET_WEIGHT
    assert outcome.write_confirmed
    assert (outcome.phase, outcome.step, outcome.weight) == (Phase.PROGRESSING, 1, 10)
    assert stored_status(cluster) == outcome.status == confirmed


def test_first_patch_touches_only_the_managed_route_and_its_owner_under_a_version_guard() -> None:
    cluster = bookinfo_cluster()
    vs_before = cluster.stored(VS, NAMESPACE, "reviews")

    tick(make_deps(cluster), 0)

    (patch,) = cluster.calls_of("patch_virtual_service")
    assert [op["path"] for op in patch.detail] == PATCHED_PATHS
    assert [op["op"] for op in patch.detail] == ["replace", "test", "replace", "add"]
    assert patch.detail[0]["value"] == vs_before["metadata"]["resourceVersion"]
    assert patch.detail[3]["value"] == {"weightgate.dev/owners": '{"http[1]":"reviews-v3"}'}
    assert patch.detail[1]["value"] == vs_before["spec"]["http"][1]["route"]
    vs_after = cluster.stored(VS, NAMESPACE, "reviews")
    assert vs_after["spec"]["http"][1]["route"] == split(90)
    assert vs_after["spec"]["http"][0] == vs_before["spec"]["http"][0]
    assert vs_after["spec"]["hosts"] == vs_before["spec"]["hosts"]


def test_shift_started_event_is_recorded_after_the_status_write_that_holds_it() -> None:
    cluster = bookinfo_cluster()

    tick(make_deps(cluster), 0)

    (event,) = cluster.events
    assert (event.reason, event.warning) == ("ShiftStarted", False)
    assert "step 1/3 (10% to canary 'v3')" in event.message
    # The event names the shift as the status write left it, so that write came first.
    first_status_write = cluster.methods_called().index("replace_shift_status")
    assert cluster.methods_called().index("record_event") > first_status_write
    assert event.shift_resource_version != ""
    assert stored_status(cluster).history[-1].reason == "ShiftStarted"


def test_silent_write_is_caught_by_the_read_back_and_not_confirmed() -> None:
    cluster = bookinfo_cluster()
    cluster.silent_writes = True

    outcome = tick(make_deps(cluster), 0)

    assert not outcome.write_confirmed
    assert "read-back" in outcome.message
    assert "v1 100%" in outcome.message
    assert managed_route(cluster) == virtual_service()["spec"]["http"][1]["route"]
    assert stored_status(cluster).write_pending
    assert len(cluster.calls_of("patch_virtual_service")) == 3  # retried within the tick
    assert cluster.event_reasons() == ["ShiftStarted", "WriteNotConfirmed"]
    warning = cluster.events[-1]
    assert warning.warning
    assert "not confirmed at 10% v3" in warning.message
    assert "Retrying next tick" in warning.message


def test_silent_write_holds_the_step_until_the_write_takes() -> None:
    cluster = bookinfo_cluster()
    cluster.silent_writes = True
    prometheus = FakePrometheus.healthy()
    deps = make_deps(cluster, prometheus)
    tick(deps, 0)

    for seconds in (40, 80, 120):  # each well past the 30s interval
        outcome = tick(deps, seconds)
        assert not outcome.write_confirmed
        assert (outcome.step, outcome.weight, outcome.transitions) == (1, 10, ())
        assert stored_status(cluster).write_pending
    assert prometheus.asked == []  # no gates are judged while a write is pending
    assert "StepAdvanced" not in cluster.event_reasons()

    cluster.silent_writes = False
    taken = tick(deps, 160)
    assert taken.write_confirmed
    assert managed_route(cluster) == split(90)
    status = stored_status(cluster)
    assert (status.write_pending, status.current_step) == (False, 1)
    # The dwell counts from when the weight is known live, not from when it was decided.
    assert status.step_started_at == at(160)
    assert cluster.event_reasons().count("ShiftStarted") == 1


def test_status_conflict_redoes_the_tick_without_duplicate_events() -> None:
    cluster = bookinfo_cluster()
    cluster.before_next(
        "replace_shift_status",
        lambda: cluster.edit(
            SHIFT, NAMESPACE, SHIFT_NAME, lambda o: o["metadata"].update(labels={"team": "x"})
        ),
    )

    outcome = tick(make_deps(cluster), 0)

    assert outcome.write_confirmed
    assert cluster.methods_called().count("get_shift") == 2  # re-read after the 409
    assert cluster.event_reasons() == ["ShiftStarted"]
    assert len(cluster.calls_of("patch_virtual_service")) == 1
    assert managed_route(cluster) == split(90)
    stored = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)
    assert stored["metadata"]["labels"] == {"team": "x"}  # the other writer's change survives
    assert stored_status(cluster).current_step == 1


def test_status_conflicts_that_never_end_surface_as_conflict_with_no_event() -> None:
    cluster = bookinfo_cluster()
    cluster.fail_next("replace_shift_status", *(ConflictError("409", 409) for _ in range(4)))

    with pytest.raises(ConflictError):
        tick(make_deps(cluster), 0)

    assert len(cluster.calls_of("replace_shift_status")) == 4
    assert cluster.events == []
    assert cluster.calls_of("patch_virtual_service") == []


def test_virtual_service_conflict_rereads_and_retries_keeping_the_other_edit() -> None:
    cluster = bookinfo_cluster()

    def someone_edits_another_route() -> None:
        def change(vs: dict[str, Any]) -> None:
            vs["spec"]["http"][0]["timeout"] = "5s"

        cluster.edit(VS, NAMESPACE, "reviews", change)

    cluster.before_next("patch_virtual_service", someone_edits_another_route)

    outcome = tick(make_deps(cluster), 0)

    assert outcome.write_confirmed
    first, second = cluster.calls_of("patch_virtual_service")
    assert first.detail[0]["value"] != second.detail[0]["value"]  # retried at the new version
    vs = cluster.stored(VS, NAMESPACE, "reviews")
    assert vs["spec"]["http"][0]["timeout"] == "5s"
    assert vs["spec"]["http"][1]["route"] == split(90)
    assert cluster.event_reasons() == ["ShiftStarted"]
    assert not stored_status(cluster).write_pending


def test_crash_between_status_write_and_patch_redoes_the_same_write_next_tick() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    cluster.fail_next("patch_virtual_service", UnavailableError("connection refused"))

    with pytest.raises(UnavailableError):
        tick(deps, 0)
    crashed = stored_status(cluster)
    assert (crashed.write_pending, crashed.current_step, crashed.canary_weight) == (True, 1, 10)
    assert managed_route(cluster) == virtual_service()["spec"]["http"][1]["route"]
    events_before = list(cluster.events)

    outcome = tick(deps, 45)  # past the step interval: a new decision would step again

    assert outcome.action is Action.SET_WEIGHT
    assert outcome.transitions == ()
    assert (outcome.step, outcome.weight) == (1, 10)
    assert outcome.write_confirmed
    assert managed_route(cluster) == split(90)
    assert cluster.events == events_before
    status = stored_status(cluster)
    assert (status.write_pending, status.current_step, status.canary_weight) == (False, 1, 10)
    assert [h.reason for h in status.history] == ["ShiftStarted"]
    assert status.step_started_at == at(45)


def test_conflict_on_the_confirming_write_defers_confirmation_to_the_next_tick() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    cluster.before_next("replace_shift_status", lambda: None)  # the decision is recorded
    cluster.before_next(
        "replace_shift_status",
        lambda: cluster.edit(
            SHIFT, NAMESPACE, SHIFT_NAME, lambda o: o["metadata"].update(labels={"team": "x"})
        ),
    )

    first = tick(deps, 0)

    assert first.write_confirmed  # the route took; only its record is late
    assert first.status is not None
    assert first.status.write_pending
    assert stored_status(cluster).write_pending
    assert managed_route(cluster) == split(90)

    second = tick(deps, 5)

    assert (second.action, second.transitions) == (Action.NONE, ())
    assert len(cluster.calls_of("patch_virtual_service")) == 1
    status = stored_status(cluster)
    assert (status.write_pending, status.current_step) == (False, 1)
    assert cluster.event_reasons() == ["ShiftStarted"]


def test_spec_change_mid_shift_rolls_back_then_starts_over() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    tick(deps, 0)

    def new_steps(obj: dict[str, Any]) -> None:
        obj["spec"]["steps"] = [20, 100]
        obj["metadata"]["generation"] += 1

    cluster.edit(SHIFT, NAMESPACE, SHIFT_NAME, new_steps)

    rolled_back = tick(deps, 10)
    assert (rolled_back.phase, rolled_back.action) == (Phase.PENDING, Action.ROLLBACK)
    assert managed_route(cluster) == [{"destination": {"host": "reviews", "subset": "v1"}}]

    again = tick(deps, 20)
    assert (again.phase, again.step, again.weight) == (Phase.PROGRESSING, 1, 20)
    assert managed_route(cluster) == split(80)
    assert cluster.event_reasons() == ["ShiftStarted", "SpecChanged", "ShiftStarted"]


def test_unreadable_status_is_invalid_and_leaves_the_route_alone() -> None:
    cluster = bookinfo_cluster()
    cluster.edit(SHIFT, NAMESPACE, SHIFT_NAME, lambda o: o.update(status={"phase": "Sideways"}))

    outcome = tick(make_deps(cluster), 0)

    assert outcome.phase is Phase.INVALID
    assert "status is unreadable" in outcome.message
    assert "clear .status to start over" in outcome.message
    assert cluster.calls_of("patch_virtual_service") == []
    assert stored_status(cluster).phase is Phase.INVALID
