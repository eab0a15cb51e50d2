"""Pipeline mode: ``drive`` ticks a shift to its end and maps the end to an exit code, gives up
with exit 4 when the API stays unreachable or the timeout passes, and ``apply_shift`` creates or
updates the TrafficShift only when its spec changed. Time is injected: no test sleeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import pytest

from controller.alerts import AlertSettings
from controller.api.status import Phase
from controller.api.trafficshift import TrafficShift
from controller.kube.cluster import KubeCluster
from controller.kube.errors import UnavailableError
from controller.pipeline import (
    EXIT_INVALID,
    EXIT_PROMOTED,
    EXIT_ROLLED_BACK,
    EXIT_UNFINISHED,
    DriveOptions,
    PipelineError,
    apply_shift,
    drive,
    exit_code_for,
)
from controller.reconcile import Dependencies, TickOutcome
from tests.unit.reconcile.builders import (
    NAMESPACE,
    SHIFT_NAME,
    T0,
    Clock,
    bookinfo_cluster,
    dest,
    make_deps,
    managed_route,
    shift_manifest,
    stored_status,
    tick,
)
from tests.unit.reconcile.fakes import DR, SHIFT, FakeCluster, FakePrometheus

OPTIONS = DriveOptions(tick_seconds=10, unreachable_deadline=timedelta(minutes=2))


def _drive(
    deps: Dependencies,
    clock: Clock,
    options: DriveOptions = OPTIONS,
    then: Callable[[TickOutcome], None] = lambda _: None,
) -> tuple[TickOutcome, list[TickOutcome]]:
    """`drive` on the injected clock; every tick's outcome is kept, then handed to `then`."""
    seen: list[TickOutcome] = []

    def on_tick(outcome: TickOutcome) -> None:
        seen.append(outcome)
        then(outcome)

    outcome = drive(
        deps,
        NAMESPACE,
        SHIFT_NAME,
        options=options,
        on_tick=on_tick,
        now=clock.now,
        sleep=clock.sleep,
    )
    return outcome, seen


def _invalid(cluster: FakeCluster) -> None:
    cluster.delete(DR, NAMESPACE, "reviews")


def _unchanged(cluster: FakeCluster) -> None:
    pass


@pytest.mark.parametrize(
    ("error_rate", "break_it", "phase", "code"),
    [
        (0.1, _unchanged, Phase.PROMOTED, EXIT_PROMOTED),
        (5.0, _unchanged, Phase.ROLLED_BACK, EXIT_ROLLED_BACK),
        (0.1, _invalid, Phase.INVALID, EXIT_INVALID),
    ],
    ids=["promoted", "rolled-back", "invalid"],
)
def test_drive_ends_with_the_exit_code_of_the_final_phase(
    error_rate: float, break_it: Any, phase: Phase, code: int
) -> None:
    cluster = bookinfo_cluster()
    break_it(cluster)
    clock = Clock()

    outcome, seen = _drive(make_deps(cluster, FakePrometheus.healthy(error_rate=error_rate)), clock)

    assert outcome.phase is phase
    assert exit_code_for(outcome) == code
    assert seen[-1] is outcome
    assert clock.slept == [10] * (len(seen) - 1)  # one injected sleep between ticks


def test_drive_of_a_promoting_shift_ends_on_the_single_canary_route() -> None:
    cluster = bookinfo_cluster()

    outcome, _ = _drive(make_deps(cluster), Clock())

    assert (outcome.phase, outcome.write_confirmed) == (Phase.PROMOTED, True)
    assert managed_route(cluster) == [dest("v3")]
    assert not stored_status(cluster).write_pending


def test_drive_does_not_stop_on_a_final_phase_whose_write_is_unconfirmed() -> None:
    cluster = bookinfo_cluster()

    def silent_at_the_last_step(outcome: TickOutcome) -> None:
        # Only the promote write is lost; the tick after it lands it.
        cluster.silent_writes = outcome.step == 3 and outcome.phase is Phase.PROGRESSING

    seen: list[TickOutcome] = []

    def on_tick(outcome: TickOutcome) -> None:
        seen.append(outcome)
        silent_at_the_last_step(outcome)

    clock = Clock()
    outcome = drive(
        make_deps(cluster),
        NAMESPACE,
        SHIFT_NAME,
        options=OPTIONS,
        on_tick=on_tick,
        now=clock.now,
        sleep=clock.sleep,
    )

    unconfirmed = [o for o in seen if o.phase is Phase.PROMOTED and not o.write_confirmed]
    assert len(unconfirmed) == 1
    assert outcome is seen[-1] is not unconfirmed[0]
    assert outcome.write_confirmed
    assert managed_route(cluster) == [dest("v3")]


def test_drive_gives_up_with_exit_4_when_the_api_stays_unreachable() -> None:
    cluster = bookinfo_cluster()
    cluster.fail_next("get_shift", *(UnavailableError("connection refused") for _ in range(50)))
    clock = Clock()

    with pytest.raises(PipelineError) as raised:
        _drive(make_deps(cluster), clock)

    assert raised.value.exit_code == EXIT_UNFINISHED
    assert "unreachable for more than 0:02:00" in str(raised.value)
    assert "connection refused" in str(raised.value)
    # Failures from 0s; 120s is not past the deadline, the tick at 130s is.
    assert clock.now() - T0 == timedelta(seconds=130)
    assert len(cluster.calls_of("get_shift")) == 14


def test_drive_rides_out_an_api_outage_shorter_than_the_deadline() -> None:
    cluster = bookinfo_cluster()
    cluster.fail_next("get_shift", *(UnavailableError("connection refused") for _ in range(12)))

    outcome, _ = _drive(make_deps(cluster), Clock())

    assert exit_code_for(outcome) == EXIT_PROMOTED


def test_drive_gives_up_with_exit_4_after_the_timeout() -> None:
    cluster = bookinfo_cluster()
    clock = Clock()
    holding = FakePrometheus.healthy(requests=0)  # never enough traffic to judge
    options = DriveOptions(tick_seconds=10, timeout=timedelta(minutes=1))

    with pytest.raises(PipelineError) as raised:
        _drive(make_deps(cluster, holding), clock, options)

    assert raised.value.exit_code == EXIT_UNFINISHED
    assert "gave up after 0:01:00" in str(raised.value)
    assert "re-run to resume" in str(raised.value)
    assert clock.now() - T0 == timedelta(seconds=70)
    assert stored_status(cluster).phase is Phase.HOLDING


def test_a_shift_deleted_while_driven_is_rolled_back_let_go_and_exits_3() -> None:
    """`weightgate run` keeps the finalizer too: a delete mid-run rolls the route back
    (spec.onDelete: rollback), lets the delete finish, and the run ends as a rollback."""
    cluster = bookinfo_cluster()
    clock = Clock()
    deps = replace(make_deps(cluster), finalizers=True)
    ticks = 0

    def delete_after_step_one(outcome: TickOutcome) -> None:
        nonlocal ticks
        ticks += 1
        if ticks == 1:
            assert managed_route(cluster) != [dest("v1")]  # the canary has traffic
            cluster.mark_deleted(NAMESPACE, SHIFT_NAME)

    outcome, _ = _drive(deps, clock, then=delete_after_step_one)

    assert outcome.phase is Phase.ROLLED_BACK
    assert exit_code_for(outcome) == EXIT_ROLLED_BACK
    assert managed_route(cluster) == [dest("v1")]
    assert "RolledBackOnDelete" in cluster.event_reasons()
    assert (SHIFT, NAMESPACE, SHIFT_NAME) not in cluster.objects


def test_a_shift_that_ended_and_then_went_while_alerts_drained_keeps_its_end() -> None:
    """Rolled back with an alert still owed, the run drains it; the object going meanwhile
    (deleted, its finalizer already gone) does not turn the rollback into exit 4."""
    cluster = bookinfo_cluster(shift_manifest(alerts=[{"provider": "hook"}]))
    hook = {"type": "webhook", "url": "http://hook.example/in", "secret": {"env": "HOOK_SECRET"}}
    deps = replace(
        make_deps(cluster, FakePrometheus.healthy(error_rate=5.0)),
        alert_settings=AlertSettings.model_validate({"providers": {"hook": hook}}),
    )

    def delete_once_ended(outcome: TickOutcome) -> None:
        if outcome.phase is Phase.ROLLED_BACK:
            assert outcome.status is not None
            assert outcome.status.pending_alerts  # the run keeps ticking to deliver it
            cluster.delete(SHIFT, NAMESPACE, SHIFT_NAME)

    outcome, seen = _drive(deps, Clock(), then=delete_once_ended)

    assert outcome is seen[-1]
    assert (outcome.phase, exit_code_for(outcome)) == (Phase.ROLLED_BACK, EXIT_ROLLED_BACK)


def test_drive_of_a_deleted_shift_exits_4() -> None:
    cluster = bookinfo_cluster()
    cluster.delete(SHIFT, NAMESPACE, SHIFT_NAME)

    with pytest.raises(PipelineError) as raised:
        _drive(make_deps(cluster), Clock())

    assert raised.value.exit_code == EXIT_UNFINISHED
    assert "was deleted" in str(raised.value)


@pytest.mark.parametrize(
    ("phase", "code"),
    [
        (Phase.PROMOTED, EXIT_PROMOTED),
        (Phase.ROLLED_BACK, EXIT_ROLLED_BACK),
        (Phase.INVALID, EXIT_INVALID),
        (Phase.PROGRESSING, EXIT_UNFINISHED),
        (Phase.PAUSED, EXIT_UNFINISHED),
        (None, EXIT_UNFINISHED),
    ],
)
def test_exit_code_per_phase(phase: Phase | None, code: int) -> None:
    assert exit_code_for(TickOutcome(NAMESPACE, SHIFT_NAME, phase)) == code


# -- apply_shift ---------------------------------------------------------------------------------


def _shift(**spec: Any) -> TrafficShift:
    manifest = shift_manifest(**spec)
    del manifest["metadata"]["namespace"], manifest["metadata"]["generation"]
    return TrafficShift.model_validate(manifest)


def _apply(cluster: FakeCluster, shift: TrafficShift) -> tuple[str, str]:
    return apply_shift(cast(KubeCluster, cluster), shift, NAMESPACE)


def test_apply_shift_creates_a_missing_shift_in_the_namespace() -> None:
    cluster = bookinfo_cluster()
    cluster.delete(SHIFT, NAMESPACE, SHIFT_NAME)

    assert _apply(cluster, _shift()) == (NAMESPACE, SHIFT_NAME)

    assert cluster.client.writes == ["create"]
    stored = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)
    assert stored["metadata"]["namespace"] == NAMESPACE
    assert stored["spec"] == _shift().to_manifest()["spec"]
    assert "status" not in stored


def test_apply_shift_leaves_an_unchanged_spec_alone() -> None:
    cluster = bookinfo_cluster()
    cluster.delete(SHIFT, NAMESPACE, SHIFT_NAME)
    _apply(cluster, _shift())
    version = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["metadata"]["resourceVersion"]

    _apply(cluster, _shift())

    assert cluster.client.writes == ["create"]
    assert cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["metadata"]["resourceVersion"] == version


def test_apply_shift_updates_a_changed_spec_and_keeps_the_status() -> None:
    cluster = bookinfo_cluster()
    cluster.delete(SHIFT, NAMESPACE, SHIFT_NAME)
    _apply(cluster, _shift())
    tick(make_deps(cluster), 0)
    status_before = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["status"]

    _apply(cluster, _shift(steps=[20, 100]))

    assert cluster.client.writes == ["create", "replace"]
    stored = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)
    assert stored["spec"]["steps"] == [20, 100]
    assert stored["metadata"]["generation"] == 2
    assert stored["status"] == status_before
