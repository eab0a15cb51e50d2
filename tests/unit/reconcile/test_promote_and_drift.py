"""The end of a shift and someone else's hand on the route: promotion leaves the single canary
destination (also when the promote was cut short), and drift pauses or is written back as the
policy says."""

from __future__ import annotations

import pytest

from controller.api.status import Phase
from controller.kube.errors import UnavailableError
from controller.reconcile import Dependencies
from controller.rollout import Action, Policy
from tests.unit.reconcile.builders import (
    STEPS,
    bookinfo_cluster,
    dest,
    make_deps,
    managed_route,
    set_managed_route,
    split,
    stored_status,
    tick,
    tick_until,
)
from tests.unit.reconcile.fakes import FakeCluster, FakePrometheus


def test_passing_shift_walks_every_step_and_promotes_to_the_single_canary() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    routes: list[list[dict[str, object]]] = []

    def record(outcome: object) -> bool:
        route = managed_route(cluster)
        if not routes or routes[-1] != route:
            routes.append(route)
        return stored_status(cluster).phase is Phase.PROMOTED

    outcome, _ = tick_until(deps, record)

    assert outcome.action is Action.PROMOTE
    assert outcome.write_confirmed
    assert routes == [split(90), split(50), split(0), [dest("v3")]]
    status = stored_status(cluster)
    assert (status.current_step, status.canary_weight, status.write_pending) == (
        len(STEPS),
        100,
        False,
    )
    assert cluster.event_reasons() == ["ShiftStarted", "StepAdvanced", "StepAdvanced", "Promoted"]


def _at_last_step(cluster: FakeCluster) -> float:
    """Tick a passing shift until its last step (100% as a split) is live; the time reached."""
    _, seconds = tick_until(
        make_deps(cluster),
        lambda o: o.step == len(STEPS) and o.write_confirmed,
    )
    assert managed_route(cluster) == split(0)
    return seconds


def test_promote_cut_short_after_the_split_at_100_is_finished_next_tick() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    seconds = _at_last_step(cluster)
    cluster.fail_next("patch_virtual_service", UnavailableError("connection reset"))
    with pytest.raises(UnavailableError):
        tick_until(deps, lambda o: o.phase is Phase.PROMOTED, start=seconds + 10)
    cut_short = stored_status(cluster)
    assert (cut_short.phase, cut_short.write_pending) == (Phase.PROMOTED, True)
    assert managed_route(cluster) == split(0)
    events = list(cluster.events)

    # The first tick after the crash sees 100% live and confirms; the promote is still owed.
    first = tick(deps, seconds + 1000)
    assert first.phase is Phase.PROMOTED
    assert first.action is Action.PROMOTE
    assert first.transitions == ()
    assert managed_route(cluster) == [dest("v3")]
    assert not stored_status(cluster).write_pending
    assert cluster.events == events

    patches = len(cluster.calls_of("patch_virtual_service"))
    settled = tick(deps, seconds + 1010)
    assert settled.action is Action.NONE
    assert len(cluster.calls_of("patch_virtual_service")) == patches


def test_promoted_status_with_a_split_route_gets_its_single_destination() -> None:
    """A status confirmed as Promoted while the route still holds the 0/100 split."""
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    seconds = _at_last_step(cluster)
    cluster.silent_writes = True
    tick_until(deps, lambda o: o.phase is Phase.PROMOTED, start=seconds + 10)
    assert managed_route(cluster) == split(0)
    assert stored_status(cluster).write_pending

    cluster.silent_writes = False
    finished = tick(deps, seconds + 1000)

    assert finished.write_confirmed
    assert managed_route(cluster) == [dest("v3")]
    assert not stored_status(cluster).write_pending
    assert cluster.event_reasons().count("Promoted") == 1


def test_rollback_cut_short_is_finished_next_tick() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster, FakePrometheus.healthy(error_rate=5.0))
    tick(deps, 0)
    tick(deps, 10)
    cluster.fail_next("patch_virtual_service", UnavailableError("connection reset"))
    with pytest.raises(UnavailableError):
        tick(deps, 20)
    assert managed_route(cluster) == split(90)

    finished = tick(deps, 30)

    assert (finished.phase, finished.action, finished.transitions) == (
        Phase.ROLLED_BACK,
        Action.ROLLBACK,
        (),
    )
    assert managed_route(cluster) == [dest("v1")]
    assert not stored_status(cluster).write_pending
    assert cluster.event_reasons().count("RolledBack") == 1


def _drifted(policy: Policy) -> tuple[FakeCluster, float]:
    """A shift confirmed at step 1 (10%) whose route someone then set to 30% canary."""
    cluster = bookinfo_cluster()
    deps = make_deps(cluster, policy=policy)
    tick(deps, 0)
    set_managed_route(cluster, split(70))
    return cluster, 5


def test_drift_under_pause_policy_pauses_and_leaves_the_route_alone() -> None:
    cluster, seconds = _drifted(Policy(drift="pause"))
    deps = make_deps(cluster, policy=Policy(drift="pause"))
    patches = len(cluster.calls_of("patch_virtual_service"))

    paused = tick(deps, seconds)

    assert paused.phase is Phase.PAUSED
    assert paused.action is Action.NONE
    assert [t.reason for t in paused.transitions] == ["DriftDetected"]
    assert managed_route(cluster) == split(70)
    assert len(cluster.calls_of("patch_virtual_service")) == patches
    status = stored_status(cluster)
    drift = next(c for c in status.conditions if c.type == "Drift")
    assert (drift.status, drift.reason) == ("True", "WeightChanged")
    assert "sends 30% to the canary, not the 10%" in drift.message
    assert cluster.events[-1].warning

    still = tick(deps, seconds + 60)
    assert (still.phase, still.transitions) == (Phase.PAUSED, ())
    assert managed_route(cluster) == split(70)
    assert cluster.event_reasons().count("DriftDetected") == 1


def test_drift_pause_resumes_once_the_weight_is_set_back() -> None:
    cluster, seconds = _drifted(Policy(drift="pause"))
    deps = make_deps(cluster)
    tick(deps, seconds)
    set_managed_route(cluster, split(90))

    resumed = tick(deps, seconds + 10)

    assert resumed.phase is Phase.PROGRESSING
    assert [t.reason for t in resumed.transitions] == ["Resumed"]
    drift = next(c for c in stored_status(cluster).conditions if c.type == "Drift")
    assert (drift.status, drift.reason) == ("False", "WeightRestored")


def test_drift_under_reassert_policy_writes_our_weight_back() -> None:
    cluster, seconds = _drifted(Policy(drift="reassert"))
    deps = make_deps(cluster, policy=Policy(drift="reassert"))

    outcome = tick(deps, seconds)

    assert outcome.phase is Phase.PROGRESSING
    assert outcome.action is Action.SET_WEIGHT
    assert outcome.write_confirmed
    assert [t.reason for t in outcome.transitions] == ["DriftReasserted"]
    assert managed_route(cluster) == split(90)
    status = stored_status(cluster)
    assert (status.current_step, status.canary_weight, status.write_pending) == (1, 10, False)
    drift = next(c for c in status.conditions if c.type == "Drift")
    assert (drift.status, drift.reason) == ("True", "WeightReasserted")


def _finished(phase: Phase) -> tuple[FakeCluster, Dependencies]:
    """A shift ticked to Promoted (all gates pass) or RolledBack (error rate 5%)."""
    cluster = bookinfo_cluster()
    error_rate = 0.1 if phase is Phase.PROMOTED else 5.0
    deps = make_deps(cluster, FakePrometheus.healthy(error_rate=error_rate))
    tick_until(deps, lambda o: o.phase is phase and o.write_confirmed)
    return cluster, deps


@pytest.mark.parametrize(
    ("phase", "final_route"),
    [(Phase.PROMOTED, [dest("v3")]), (Phase.ROLLED_BACK, [dest("v1")])],
    ids=["promoted", "rolled-back"],
)
def test_finished_shift_does_not_rewrite_a_split_someone_else_set(
    phase: Phase, final_route: list[dict[str, object]]
) -> None:
    """The final-shape rewrite only reshapes a split already at the final weight: a finished
    shift's route is no longer watched, so another weight set by someone else stays."""
    cluster, deps = _finished(phase)
    assert managed_route(cluster) == final_route
    set_managed_route(cluster, split(50))
    patches = len(cluster.calls_of("patch_virtual_service"))

    outcome = tick(deps, 5000)

    assert (outcome.phase, outcome.action) == (phase, Action.NONE)
    assert managed_route(cluster) == split(50)
    assert len(cluster.calls_of("patch_virtual_service")) == patches


def test_weight_changed_while_the_tick_judges_gates_is_not_overwritten() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    _, seconds = tick_until(deps, lambda o: o.step == 2)
    for later in (10, 20, 30):  # checks pass from +10s at step 2: step 3 is due at +40s
        tick(deps, seconds + later)
    # A human sets 70/30 after the tick read the route, just before it records its decision.
    cluster.before_next("replace_shift_status", lambda: set_managed_route(cluster, split(70)))

    assert tick(deps, seconds + 40).step == 3  # decided on the 50% the tick had read
    tick(deps, seconds + 50)

    assert managed_route(cluster) == split(70)
    assert "DriftDetected" in cluster.event_reasons()
