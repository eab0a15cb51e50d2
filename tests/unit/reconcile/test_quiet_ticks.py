"""Quiet ticks under batched rounds and the watch cache: a tick that would decide the same nothing
again is skipped, and nothing that could change a decision is ever skipped.

A tick is skipped only when the last tick of the very same resolved Target (same shift,
VirtualService and DestinationRule resourceVersions) wrote, sent and decided nothing from a
settled status, and no gate result is takeable on the board. A posted result, an edit of any of
the three objects, a Holding phase (its deadline runs on the clock), a pending write or a
pending alert each make the tick run in full.
"""

from __future__ import annotations

from dataclasses import replace

from controller.analysis.batched import evaluate_batch
from controller.api.status import GateStatus, GateVerdict, Phase
from controller.reconcile.board import GateBoard
from controller.reconcile.ports import Dependencies
from controller.reconcile.target import TargetMemo
from controller.reconcile.tick import quiet_now
from tests.unit.reconcile.builders import (
    CHECK_INTERVAL,
    NAMESPACE,
    SHIFT_NAME,
    at,
    bookinfo_cluster,
    make_deps,
    shift_manifest,
    stored_status,
    tick,
)
from tests.unit.reconcile.fakes import SHIFT, VS, FakeCluster
from tests.unit.reconcile.test_sequential_tick import SEQUENTIAL, Counters

KEY = (NAMESPACE, SHIFT_NAME)


def batched(cluster: FakeCluster, counters: Counters) -> Dependencies:
    deps = make_deps(cluster, counters)  # type: ignore[arg-type]
    return replace(deps, board=GateBoard(), memo=TargetMemo())


def round_at(deps: Dependencies, counters: Counters, seconds: float) -> None:
    assert deps.board is not None
    requests = deps.board.requests(CHECK_INTERVAL)
    result = evaluate_batch(requests, client=counters, now=at(seconds))
    deps.board.post(result.statuses, at(seconds), result.evidence, result.snapshots)


def started() -> tuple[FakeCluster, Counters, Dependencies]:
    """A sequential shift at step 1 whose gates pass, checked once through the board."""
    counters = Counters()
    cluster = bookinfo_cluster(shift_manifest(analysis=SEQUENTIAL, interval="10m"))
    deps = batched(cluster, counters)
    tick(deps, 0)  # starts: step 1
    tick(deps, 1)  # confirms the write, registers
    for seconds in (10, 20):
        counters.serve("v1", 270)
        counters.serve("v3", 30)
        round_at(deps, counters, seconds)
        tick(deps, seconds + 0.5)  # takes the round's result
    assert all(g.verdict is GateVerdict.PASS for g in stored_status(cluster).gates)
    tick(deps, 21)  # a tick with nothing to take
    return cluster, counters, deps


def registered(deps: Dependencies) -> object:
    assert deps.board is not None
    [request] = deps.board.requests(CHECK_INTERVAL)
    return request


def test_a_tick_with_nothing_new_after_a_quiet_one_is_skipped() -> None:
    cluster, _, deps = started()
    request, before = registered(deps), list(cluster.calls)
    outcome = tick(deps, 22)
    made = [c.method for c in cluster.calls[len(before) :]]
    # the reads that tell the memo nothing changed, and nothing else: no decision was made
    # (a full tick registers a new request for the next round), no write, no event
    assert made == ["get_shift", "get_virtual_service", "get_destination_rule"]
    assert registered(deps) is request
    assert outcome.phase is Phase.PROGRESSING
    assert outcome.status == stored_status(cluster)


def test_a_tick_after_a_full_tick_that_changed_something_runs_in_full() -> None:
    """The control for the test above: the first tick after a taken result is not skipped."""
    _, counters, deps = started()
    counters.serve("v1", 270)
    counters.serve("v3", 30)
    round_at(deps, counters, 30)
    request = registered(deps)
    tick(deps, 30.5)  # takes the result
    assert registered(deps) is not request


def test_a_posted_result_is_taken_by_the_next_tick() -> None:
    cluster, counters, deps = started()
    counters.serve("v1", 270)
    counters.serve("v3", 30, errors=12)  # a bad canary now
    round_at(deps, counters, 30)
    outcome = tick(deps, 30.5)
    assert outcome.gates
    assert stored_status(cluster).phase is Phase.ROLLED_BACK


def test_an_edit_of_the_virtual_service_makes_the_tick_run_in_full() -> None:
    cluster, _, deps = started()

    def drift(vs: dict) -> None:  # type: ignore[type-arg]
        vs["spec"]["http"][1]["route"][0]["weight"] = 60
        vs["spec"]["http"][1]["route"][1]["weight"] = 40

    cluster.edit(VS, NAMESPACE, "reviews", drift)
    tick(deps, 22)
    status = stored_status(cluster)
    assert status.phase is Phase.PAUSED  # drift noticed at once (the default policy pauses)


def test_an_edit_of_the_shift_makes_the_tick_run_in_full() -> None:
    cluster, _, deps = started()

    def pause(shift: dict) -> None:  # type: ignore[type-arg]
        shift["spec"]["paused"] = True
        shift["metadata"]["generation"] = 2

    cluster.edit(SHIFT, NAMESPACE, SHIFT_NAME, pause)
    tick(deps, 22)
    assert stored_status(cluster).phase is Phase.PAUSED


def test_a_holding_shift_is_never_skipped_so_its_deadline_runs() -> None:
    counters = Counters()
    analysis = {**SEQUENTIAL, "progressDeadline": "30s"}
    cluster = bookinfo_cluster(shift_manifest(analysis=analysis, interval="10m"))
    deps = batched(cluster, counters)
    tick(deps, 0)
    tick(deps, 1)
    assert deps.board is not None
    unsettled = GateStatus(name="error-rate", verdict=GateVerdict.ERROR, value=None)
    deps.board.post({KEY: [unsettled, unsettled.model_copy(update={"name": "latency-p99"})]}, at(5))
    tick(deps, 5.5)
    assert stored_status(cluster).phase is Phase.HOLDING
    for seconds in range(6, 40):
        tick(deps, seconds)
    assert stored_status(cluster).phase is Phase.ROLLED_BACK


def test_the_memo_forgets_quiet_shifts_with_their_targets() -> None:
    cluster, _, deps = started()
    assert deps.memo is not None
    obj = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)
    target = deps.memo.resolve(cluster, obj, deps.profiles)  # a memo hit: the same Target
    assert deps.memo.is_quiet(target)
    deps.memo.forget(NAMESPACE, SHIFT_NAME)
    assert not deps.memo.is_quiet(target)
    again = deps.memo.resolve(cluster, obj, deps.profiles)
    assert again is not target
    assert not deps.memo.is_quiet(again)


def test_the_scheduler_probe_sees_the_same_quiet_from_the_stores_alone() -> None:
    """`quiet_now` answers from cached objects (no request) what the tick would decide: quiet
    after a quiet tick, not once a result is takeable or an object changed."""
    cluster, counters, deps = started()
    assert quiet_now(deps, cluster, NAMESPACE, SHIFT_NAME, at(22))
    counters.serve("v1", 270)
    counters.serve("v3", 30)
    round_at(deps, counters, 30)
    assert not quiet_now(deps, cluster, NAMESPACE, SHIFT_NAME, at(30.5))
    tick(deps, 30.5)
    tick(deps, 31)
    assert quiet_now(deps, cluster, NAMESPACE, SHIFT_NAME, at(32))
    cluster.edit(VS, NAMESPACE, "reviews", lambda vs: vs["metadata"].update(labels={"x": "y"}))
    assert not quiet_now(deps, cluster, NAMESPACE, SHIFT_NAME, at(33))


def test_without_batched_rounds_and_a_memo_the_probe_never_says_quiet() -> None:
    cluster, _, deps = started()
    assert not quiet_now(replace(deps, memo=None), cluster, NAMESPACE, SHIFT_NAME, at(22))
    assert not quiet_now(replace(deps, board=None), cluster, NAMESPACE, SHIFT_NAME, at(22))
