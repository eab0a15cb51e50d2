"""The invariants every simulated shift must keep, checked over a `World`'s record."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

from controller.api.status import Phase
from controller.rollout import Action
from tests.unit.rollout.simulation import World

# Phase edges with the spec's identity and generation fixed (spec changes have their own tests).
ALLOWED_EDGES: dict[Phase | None, set[Phase]] = {
    None: {Phase.PROGRESSING, Phase.PAUSED},
    Phase.PENDING: {Phase.PENDING, Phase.PROGRESSING, Phase.PAUSED},
    Phase.PROGRESSING: {
        Phase.PROGRESSING,
        Phase.HOLDING,
        Phase.PAUSED,
        Phase.PROMOTED,
        Phase.ROLLED_BACK,
    },
    Phase.HOLDING: {Phase.HOLDING, Phase.PROGRESSING, Phase.PAUSED, Phase.ROLLED_BACK},
    Phase.PAUSED: {Phase.PAUSED, Phase.PROGRESSING},
    Phase.PROMOTED: {Phase.PROMOTED},
    Phase.ROLLED_BACK: {Phase.ROLLED_BACK},
}


def check_all(world: World) -> None:
    weights_are_allowed(world)
    one_step_at_a_time(world)
    phases_follow_allowed_edges(world)
    route_walks_the_steps_in_order(world)
    steps_wait_their_interval(world)


def weights_are_allowed(world: World) -> None:
    allowed = {0, 100, *world.spec.steps}
    for record in world.records:
        assert record.decision.weight in allowed, record
        assert record.decision.status.canary_weight in allowed, record


def one_step_at_a_time(world: World) -> None:
    """No decide moves more than one step; the persisted step never skips or goes back."""
    for record in world.records:
        before = record.before.current_step if record.before is not None else 0
        assert record.decision.status.current_step - before in (0, 1), record
    steps = [status.current_step for status in world.persisted]
    for earlier, later in pairwise(steps):
        assert later - earlier in (0, 1), steps


def phases_follow_allowed_edges(world: World) -> None:
    phases: list[Phase | None] = [None, *(status.phase for status in world.persisted)]
    for earlier, later in pairwise(phases):
        assert later in ALLOWED_EDGES[earlier], (earlier, later)


def route_walks_the_steps_in_order(world: World) -> None:
    """Our writes, repeats merged, are a prefix of the steps, then maybe 0 or 100 to finish."""
    walked = _merge_repeats([weight for _, weight in world.our_writes])
    if walked and walked[-1] == 0:
        walked = walked[:-1]
    steps = list(world.spec.steps)
    promoted = _merge_repeats([*steps, 100])
    assert walked == steps[: len(walked)] or walked == promoted, (walked, steps)


def steps_wait_their_interval(world: World) -> None:
    """Every advance (next step or promotion) comes at least `interval` after the previous
    step's weight went live on the route."""
    for record in world.records:
        before = record.before
        if before is None or before.current_step < 1 or before.write_pending:
            continue
        after = record.decision
        if after.action is not Action.PROMOTE and after.status.current_step == before.current_step:
            continue
        live_since = _went_live(world, before.current_step)
        assert live_since is not None, (
            f"advanced from step {before.current_step} before it was live"
        )
        assert record.now - live_since >= world.spec.interval, (record.now, live_since)


def drift_never_moves_a_step(world: World) -> None:
    """While someone else's weight is on the route, the shift neither steps nor writes a new
    weight: it pauses, or writes its own recorded weight back."""
    for record in world.records:
        before = record.before
        if before is None or before.write_pending or before.phase not in _JUDGED:
            continue
        if record.live_weight == before.canary_weight:
            continue
        decision = record.decision
        assert decision.status.current_step == before.current_step, record
        if decision.action is Action.NONE:
            assert decision.status.phase is Phase.PAUSED, record
        else:
            assert (decision.action, decision.weight) == (Action.SET_WEIGHT, before.canary_weight)


def finished_route_matches_phase(world: World) -> None:
    """Once settled, a rolled-back shift's route is all stable, a promoted one's all canary."""
    if world.phase is Phase.ROLLED_BACK:
        assert world.vs_weight == 0
    if world.phase is Phase.PROMOTED:
        assert world.vs_weight == 100


_JUDGED = (Phase.PROGRESSING, Phase.HOLDING)


def _went_live(world: World, step: int) -> datetime | None:
    """When the route first carried `step`'s weight after the shift decided to take it."""
    decided = min(
        (
            r.now
            for r in world.records
            if r.decision.status.current_step == step
            and (r.before.current_step if r.before else 0) == step - 1
        ),
        default=None,
    )
    if decided is None:
        return None
    weight = world.spec.steps[step - 1]
    return next((t for t, w in world.route_changes if w == weight and t >= decided), None)


def _merge_repeats(weights: list[int]) -> list[int]:
    merged: list[int] = []
    for weight in weights:
        if not merged or merged[-1] != weight:
            merged.append(weight)
    return merged
