"""Property tests: random shifts driven through a model reconcile loop with random timing,
random gate verdicts, pauses, foreign writes and crashes at every point a SIGKILL can hit.

Pausing is modelled without a generation bump (a rolled-back shift therefore stays final); what
a spec edit does to a finished shift has its own table tests.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from controller.api.status import GateVerdict, Phase
from controller.api.trafficshift import NoDataPolicy, TrafficShiftSpec
from controller.rollout import Policy
from tests.unit.rollout import invariants
from tests.unit.rollout.builders import make_spec
from tests.unit.rollout.simulation import Crash, Event, World

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

seconds = st.integers(min_value=1, max_value=45).map(lambda s: timedelta(seconds=s))
crashes = st.sampled_from(Crash)
rare_crashes = st.one_of(st.just(Crash.NONE), st.just(Crash.NONE), crashes)


@st.composite
def specs(draw: st.DrawFn) -> TrafficShiftSpec:
    steps = sorted(draw(st.sets(st.integers(min_value=1, max_value=100), min_size=1, max_size=5)))
    return make_spec(
        steps=steps,
        interval=draw(st.integers(min_value=5, max_value=40).map(lambda s: timedelta(seconds=s))),
        analysis={
            "failure_limit": draw(st.integers(min_value=1, max_value=4)),
            "progress_deadline": timedelta(seconds=draw(st.integers(min_value=5, max_value=120))),
            "on_no_data": draw(st.sampled_from(NoDataPolicy)),
        },
    )


# Mostly healthy checks, so that runs get far enough to step, promote, flap and drift.
all_pass = st.just((GateVerdict.PASS,)) | st.just((GateVerdict.PASS, GateVerdict.PASS))
verdict_mixes = st.one_of(
    all_pass,
    all_pass,
    all_pass,
    st.lists(st.sampled_from(GateVerdict), min_size=1, max_size=3).map(tuple),
)
sometimes = [st.none()] * 7
check_intervals = st.integers(min_value=1, max_value=20).map(lambda s: timedelta(seconds=s))


def events(*, foreign: bool) -> st.SearchStrategy[list[Event]]:
    event = st.builds(
        Event,
        after=seconds,
        verdicts=verdict_mixes,
        crash=rare_crashes,
        foreign_weight=st.one_of(*sometimes, st.integers(0, 100)) if foreign else st.none(),
        paused=st.one_of(*sometimes, *sometimes, st.booleans()),
    )
    return st.lists(event, min_size=20, max_size=150)


@PROPERTY_SETTINGS
@given(spec=specs(), check_interval=check_intervals, run=events(foreign=False))
def test_random_shift_keeps_every_invariant(
    spec: TrafficShiftSpec, check_interval: timedelta, run: list[Event]
) -> None:
    """Steps in order, never skipped or repeated, never early; allowed phases and weights;
    a finished shift's route ends all-stable or all-canary."""
    world = World(spec, check_interval)
    for event in run:
        world.run(event)
    world.run(Event(after=timedelta(seconds=1), verdicts=(), paused=False))
    world.settle()
    invariants.check_all(world)
    invariants.finished_route_matches_phase(world)
    _report_coverage(world)


@PROPERTY_SETTINGS
@given(
    spec=specs(),
    check_interval=check_intervals,
    run=events(foreign=True),
    drift=st.sampled_from(["pause", "reassert"]),
)
def test_drift_never_moves_a_step(
    spec: TrafficShiftSpec, check_interval: timedelta, run: list[Event], drift: str
) -> None:
    """With someone else writing the route, the shift only pauses or writes its own weight."""
    world = World(
        spec, check_interval, Policy(drift="reassert" if drift == "reassert" else "pause")
    )
    for event in run:
        world.run(event)
    invariants.weights_are_allowed(world)
    invariants.one_step_at_a_time(world)
    invariants.phases_follow_allowed_edges(world)
    invariants.steps_wait_their_interval(world)
    invariants.drift_never_moves_a_step(world)
    _report_coverage(world)


def _report_coverage(world: World) -> None:
    """Which phases and transitions the runs reached (see --hypothesis-show-statistics)."""
    note_event(f"ended {world.phase}")
    for reason in sorted({t.reason for r in world.records for t in r.decision.transitions}):
        note_event(f"transition {reason}")


def _crash_schedule() -> st.SearchStrategy[dict[int, Crash]]:
    return st.dictionaries(st.integers(min_value=0, max_value=200), crashes, max_size=5)


@PROPERTY_SETTINGS
@given(
    spec=specs(),
    check_interval=check_intervals,
    gaps=st.lists(seconds, min_size=1, max_size=10),
    crash_at=_crash_schedule(),
)
def test_all_failing_checks_roll_back_after_failure_limit_checks(
    spec: TrafficShiftSpec,
    check_interval: timedelta,
    gaps: list[timedelta],
    crash_at: dict[int, Crash],
) -> None:
    failing = (GateVerdict.PASS, GateVerdict.FAIL)
    world = World(spec, check_interval)
    for index in range(500):
        if world.phase is Phase.ROLLED_BACK:
            break
        crash = crash_at.get(index, Crash.NONE)
        world.run(Event(after=gaps[index % len(gaps)], verdicts=failing, crash=crash))
    world.settle()
    assert world.phase is Phase.ROLLED_BACK
    assert world.checks_persisted() == spec.analysis.failure_limit
    assert world.vs_weight == 0
    assert world.status is not None
    assert world.status.current_step == 1
    invariants.check_all(world)


@PROPERTY_SETTINGS
@given(
    spec=specs(),
    check_interval=check_intervals,
    gaps=st.lists(seconds, min_size=1, max_size=10),
    crash_at=_crash_schedule(),
)
def test_all_passing_run_is_promoted_through_every_step(
    spec: TrafficShiftSpec,
    check_interval: timedelta,
    gaps: list[timedelta],
    crash_at: dict[int, Crash],
) -> None:
    world = World(spec, check_interval)
    for index in range(1500):
        if world.phase is Phase.PROMOTED:
            break
        crash = crash_at.get(index, Crash.NONE)
        world.run(Event(after=gaps[index % len(gaps)], crash=crash))
    world.settle()
    assert world.phase is Phase.PROMOTED
    assert world.vs_weight == 100
    walked = [weight for _, weight in world.our_writes]
    assert sorted(set(walked)) == sorted({*spec.steps, 100})
    assert world.now - world.our_writes[0][0] >= spec.interval * len(spec.steps)
    invariants.check_all(world)


@PROPERTY_SETTINGS
@given(
    spec=specs(),
    check_interval=check_intervals,
    gaps=st.lists(seconds, min_size=1, max_size=10),
    crash_at=_crash_schedule(),
)
def test_checks_that_never_settle_roll_back_after_the_deadline(
    spec: TrafficShiftSpec,
    check_interval: timedelta,
    gaps: list[timedelta],
    crash_at: dict[int, Crash],
) -> None:
    """Prometheus down for good: the shift holds, then rolls back once the deadline passes."""
    world = World(spec, check_interval)
    for index in range(1500):
        if world.phase is Phase.ROLLED_BACK:
            break
        crash = crash_at.get(index, Crash.NONE)
        world.run(Event(after=gaps[index % len(gaps)], verdicts=(GateVerdict.ERROR,), crash=crash))
    world.settle()
    assert world.phase is Phase.ROLLED_BACK
    assert world.vs_weight == 0
    first_check = min(r.now for r in world.records if r.checked)
    rollback = next(r for r in world.records if r.decision.status.phase is Phase.ROLLED_BACK)
    assert rollback.now - first_check > spec.analysis.progress_deadline
    assert rollback.decision.transitions[-1].reason == "ProgressDeadlineExceeded"
    invariants.check_all(world)
