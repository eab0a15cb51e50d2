"""Which watch events add, run early, keep or remove a shift's job, and the tick period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controller.api.status import Phase
from controller.api.trafficshift import FINALIZER
from controller.scheduler import (
    JobChange,
    ShiftJobs,
    ShiftKey,
    Waker,
    needs_ticks,
    tick_period,
)
from tests.unit.daemon.fakes import RecordingTable, shift

KEY = ShiftKey("bookinfo", "reviews-v3")


@pytest.fixture
def table() -> RecordingTable:
    return RecordingTable()


@pytest.fixture
def jobs(table: RecordingTable) -> ShiftJobs:
    return ShiftJobs(table)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (shift(), True),
        (shift(phase="Pending"), True),
        (shift(phase="Progressing"), True),
        (shift(phase="Holding"), True),
        (shift(phase="Paused"), True),
        (shift(phase="SomethingNew"), True),
        (shift(phase="Promoted"), False),
        (shift(phase="RolledBack"), False),
        (shift(phase="Invalid"), False),
        (shift(phase="Promoted", pending=True), True),
        (shift(phase="RolledBack", generation=3, observed=2), True),
        (shift(phase="Invalid", generation=2, observed=1), True),
    ],
    ids=[
        "no-status",
        "pending",
        "progressing",
        "holding",
        "paused",
        "unknown-phase",
        "promoted",
        "rolled-back",
        "invalid",
        "promoted-write-pending",
        "rolled-back-spec-edited",
        "invalid-spec-edited",
    ],
)
def test_needs_ticks_unless_final_and_settled(obj: dict[str, Any], expected: bool) -> None:
    assert needs_ticks(obj) is expected


def _guarded(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["finalizers"] = ["example.com/other", FINALIZER]
    return obj


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_guarded(shift(phase="Promoted")), True),
        (_guarded(shift(phase="RolledBack")), True),
        (_guarded(shift(phase="Invalid")), False),
        (shift(phase="Promoted"), False),
    ],
    ids=["promoted", "rolled-back", "invalid", "promoted-without-it"],
)
def test_an_ended_shift_still_carrying_the_finalizer_needs_ticks(
    obj: dict[str, Any], expected: bool
) -> None:
    """A daemon killed between recording the end and settling it (the route's final shape,
    the owner release, the finalizer) finishes the end: bench/chaos_sigkill.py found it."""
    assert needs_ticks(obj) is expected


def test_a_new_shift_gets_a_job(jobs: ShiftJobs, table: RecordingTable) -> None:
    assert jobs.apply("ADDED", shift()) is JobChange.ADDED
    assert table.calls == [("add", KEY)]
    assert jobs.active() == {KEY}


def test_a_settled_final_shift_gets_no_job(jobs: ShiftJobs, table: RecordingTable) -> None:
    assert jobs.apply("ADDED", shift(phase="Promoted")) is JobChange.NONE
    assert table.calls == []
    assert jobs.active() == set()


def test_status_updates_at_the_same_generation_leave_the_job_alone(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", shift())
    for phase in ("Progressing", "Holding", "Progressing"):
        assert jobs.apply("MODIFIED", shift(phase=phase)) is JobChange.NONE
    assert table.calls == [("add", KEY)]


def test_a_spec_edit_of_a_running_shift_runs_its_job_now(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", shift(phase="Progressing"))
    edited = shift(phase="Progressing", generation=2, observed=1)
    assert jobs.apply("MODIFIED", edited) is JobChange.RUN_NOW
    assert table.calls == [("add", KEY), ("run_now", KEY)]
    # The status catching up with the edit is not another edit.
    assert jobs.apply("MODIFIED", shift(phase="Progressing", generation=2)) is JobChange.NONE


def test_reaching_a_final_phase_removes_the_job_once_the_write_is_confirmed(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", shift(phase="Progressing"))
    assert jobs.apply("MODIFIED", shift(phase="Promoted", pending=True)) is JobChange.NONE
    assert jobs.apply("MODIFIED", shift(phase="Promoted")) is JobChange.REMOVED
    assert table.calls == [("add", KEY), ("remove", KEY)]
    assert jobs.active() == set()


@pytest.mark.parametrize("phase", ["RolledBack", "Invalid"])
def test_rolled_back_and_invalid_shifts_lose_their_job(
    jobs: ShiftJobs, table: RecordingTable, phase: str
) -> None:
    jobs.apply("ADDED", shift(phase="Progressing"))
    assert jobs.apply("MODIFIED", shift(phase=phase)) is JobChange.REMOVED
    assert table.calls[-1] == ("remove", KEY)


def test_a_final_shift_whose_spec_changes_gets_a_job_again(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", shift(phase="RolledBack"))
    assert table.calls == []
    edited = shift(phase="RolledBack", generation=2, observed=1)
    assert jobs.apply("MODIFIED", edited) is JobChange.ADDED
    assert table.calls == [("add", KEY)]


def test_deleting_a_shift_removes_its_job(jobs: ShiftJobs, table: RecordingTable) -> None:
    jobs.apply("ADDED", shift(phase="Progressing"))
    assert jobs.apply("DELETED", shift(phase="Progressing")) is JobChange.REMOVED
    assert table.calls == [("add", KEY), ("remove", KEY)]
    assert jobs.active() == set()


def test_deleting_a_shift_without_a_job_changes_nothing(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    assert jobs.apply("DELETED", shift(phase="Promoted")) is JobChange.NONE
    assert table.calls == []


def test_bookmarks_and_unknown_events_change_nothing(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    assert jobs.apply("BOOKMARK", shift()) is JobChange.NONE
    assert jobs.apply("ERROR", shift()) is JobChange.NONE
    assert table.calls == []


def test_a_recreated_shift_gets_a_fresh_job(jobs: ShiftJobs, table: RecordingTable) -> None:
    jobs.apply("ADDED", shift(phase="Progressing", generation=4))
    jobs.apply("DELETED", shift(phase="Progressing", generation=4))
    assert jobs.apply("ADDED", shift()) is JobChange.ADDED
    assert table.calls == [("add", KEY), ("remove", KEY), ("add", KEY)]


def test_relisting_removes_jobs_of_shifts_deleted_meanwhile(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", shift("kept"))
    jobs.apply("ADDED", shift("gone"))
    table.calls.clear()
    jobs.sync(None, [shift("kept"), shift("new")])
    assert table.calls == [
        ("add", ShiftKey("bookinfo", "new")),
        ("remove", ShiftKey("bookinfo", "gone")),
    ]
    assert jobs.active() == {ShiftKey("bookinfo", "kept"), ShiftKey("bookinfo", "new")}


def test_relisting_one_namespace_leaves_other_namespaces_jobs_alone(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", shift("a", "team-a"))
    jobs.apply("ADDED", shift("b", "team-b"))
    table.calls.clear()
    jobs.sync("team-a", [])
    assert table.calls == [("remove", ShiftKey("team-a", "a"))]
    assert jobs.active() == {ShiftKey("team-b", "b")}


@pytest.mark.parametrize(
    ("check_interval", "period"),
    [
        (timedelta(minutes=1), timedelta(seconds=1)),
        (timedelta(seconds=10), timedelta(seconds=1)),
        (timedelta(seconds=2), timedelta(seconds=1)),
        (timedelta(seconds=1), timedelta(milliseconds=500)),
        (timedelta(milliseconds=100), timedelta(milliseconds=100)),
    ],
)
def test_tick_period_is_half_the_check_interval_between_0_1_and_1_second(
    check_interval: timedelta, period: timedelta
) -> None:
    assert tick_period(check_interval) == period


def test_a_finished_shift_with_an_unhandled_intent_or_owed_alerts_needs_ticks() -> None:
    rolled = shift(phase="RolledBack")
    retried = {
        **rolled,
        "metadata": {
            **rolled["metadata"],
            "annotations": {"weightgate.dev/intent": "retry", "weightgate.dev/intent-id": "id-2"},
        },
    }
    assert needs_ticks(retried) is True
    handled = {**retried, "status": {**retried["status"], "lastIntent": {"id": "id-2"}}}
    assert needs_ticks(handled) is False
    owing = {**rolled, "status": {**rolled["status"], "pendingAlerts": [{"dedupKey": "k"}]}}
    assert needs_ticks(owing) is True


# -- Invalid shifts are dormant, and woken --------------------------------------------------


def invalid(name: str = "reviews-v3", namespace: str = "bookinfo", **spec: Any) -> dict[str, Any]:
    obj = shift(name, namespace, phase="Invalid")
    obj["spec"] = {"virtualService": "reviews", "destinationRule": "reviews-dr", **spec}
    return obj


def test_an_invalid_shift_is_dormant_and_an_event_of_the_object_it_names_wakes_it(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", shift(phase="Progressing"))
    assert jobs.apply("MODIFIED", invalid()) is JobChange.REMOVED
    assert jobs.dormant() == {KEY}
    table.calls.clear()

    # Objects it does not name, or in another namespace, wake nothing.
    assert jobs.wake("VirtualService", "bookinfo", "ratings") == []
    assert jobs.wake("VirtualService", "other", "reviews") == []
    assert jobs.wake("DestinationRule", "bookinfo", "reviews") == []
    assert table.calls == []

    assert jobs.wake("VirtualService", "bookinfo", "reviews") == [KEY]
    assert table.calls == [("add", KEY)]
    assert jobs.active() == {KEY}
    assert jobs.dormant() == set()
    assert jobs.wake("VirtualService", "bookinfo", "reviews") == []  # awake already


def test_a_woken_shift_still_invalid_goes_back_to_sleep_after_its_tick(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", invalid())
    jobs.wake("DestinationRule", "bookinfo", "reviews-dr")
    assert jobs.settle(KEY, Phase.INVALID) is JobChange.REMOVED
    assert table.calls == [("add", KEY), ("remove", KEY)]
    assert jobs.dormant() == {KEY}


def test_a_woken_shift_that_resolves_keeps_its_job(jobs: ShiftJobs, table: RecordingTable) -> None:
    jobs.apply("ADDED", invalid())
    jobs.wake("VirtualService", "bookinfo", "reviews")
    assert jobs.settle(KEY, Phase.PROGRESSING) is JobChange.NONE
    assert jobs.apply("MODIFIED", shift(phase="Progressing")) is JobChange.NONE
    assert table.calls == [("add", KEY)]
    assert jobs.active() == {KEY}
    assert jobs.dormant() == set()


def test_settle_never_removes_a_job_the_latest_object_still_needs(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    # A running shift that this tick made Invalid: the watch has not delivered that status yet.
    jobs.apply("ADDED", shift(phase="Progressing"))
    assert jobs.settle(KEY, Phase.INVALID) is JobChange.NONE
    # A spec edit that arrived while a woken Invalid shift was ticking.
    jobs.apply("MODIFIED", invalid())
    jobs.wake("VirtualService", "bookinfo", "reviews")
    edited = invalid()
    edited["metadata"]["generation"] = 2
    assert jobs.apply("MODIFIED", edited) is JobChange.RUN_NOW
    assert jobs.settle(KEY, Phase.INVALID) is JobChange.NONE
    # Invalid with alerts still owed keeps its job to deliver them.
    owing = invalid()
    owing["status"]["pendingAlerts"] = [{"id": "a"}]
    jobs.apply("MODIFIED", owing)
    assert jobs.settle(KEY, Phase.INVALID) is JobChange.NONE
    assert jobs.active() == {KEY}


def test_wake_all_retries_every_dormant_shift(jobs: ShiftJobs, table: RecordingTable) -> None:
    jobs.apply("ADDED", invalid("a"))
    jobs.apply("ADDED", invalid("b", "team-b"))
    jobs.apply("ADDED", shift("done", phase="Promoted"))
    assert jobs.wake_all() == [ShiftKey("bookinfo", "a"), ShiftKey("team-b", "b")]
    assert jobs.active() == {ShiftKey("bookinfo", "a"), ShiftKey("team-b", "b")}


def test_a_deleted_or_unlisted_invalid_shift_is_not_woken(
    jobs: ShiftJobs, table: RecordingTable
) -> None:
    jobs.apply("ADDED", invalid("a"))
    jobs.apply("ADDED", invalid("b"))
    jobs.apply("DELETED", invalid("a"))
    jobs.sync("bookinfo", [])
    assert jobs.dormant() == set()
    assert jobs.wake_all() == []
    assert table.calls == []


def test_the_waker_wakes_on_events_and_on_relists(jobs: ShiftJobs, table: RecordingTable) -> None:
    waker = Waker(jobs, "VirtualService")
    jobs.apply("ADDED", invalid())
    waker.apply("BOOKMARK", {"metadata": {"namespace": "bookinfo", "name": "reviews"}})
    assert table.calls == []
    waker.sync("bookinfo", [{"metadata": {"namespace": "bookinfo", "name": "reviews"}}])
    assert table.calls == [("add", KEY)]
    jobs.settle(KEY, Phase.INVALID)
    waker.apply("DELETED", {"metadata": {"namespace": "bookinfo", "name": "reviews"}})
    assert table.calls[-1] == ("add", KEY)


def test_a_deleted_shift_holding_our_finalizer_needs_ticks_whatever_its_phase() -> None:
    for phase in ("Progressing", "RolledBack", "Invalid"):
        obj = shift(phase=phase)
        obj["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"
        assert needs_ticks(obj) is (phase == "Progressing")
        obj["metadata"]["finalizers"] = [FINALIZER]
        assert needs_ticks(obj) is True
