"""A leader frozen (SIGSTOP) past its lease while the follower takes over: when it wakes
(SIGCONT) it acts on nothing and follows - whether it was frozen between ticks (no tick, gate
check, status write or event) or in the middle of one (the rest of that tick is not sent)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from controller.sandbox.apiserver.admin import inject_fault, list_faults
from controller.sandbox.stack import SandboxInfo
from tests.integration.leader.cluster import (
    assert_steps_once_in_order,
    create_shift,
    read_lease,
    shift_events,
    wait_for_holder,
    wait_for_status,
)
from tests.integration.leader.replicas import LEASE_SECONDS, RETRY_SECONDS, Pair
from tests.integration.sandbox_fixtures import poll

INTERVAL_SECONDS = 5
PROMOTION_TIMEOUT = 40.0
# The follower takes over a lease duration (and a retry or two) after the freeze, then advances
# once the step's interval, which began before the freeze, is over.
TAKEOVER_AND_ADVANCE_TIMEOUT = LEASE_SECONDS + 3 * RETRY_SECONDS + INTERVAL_SECONDS + 5
TAKEOVER_TIMEOUT = LEASE_SECONDS + 3 * RETRY_SECONDS
# How long the API stand-in holds the leader's first status write before applying it: ample
# time to freeze the leader while the write is in flight.
IN_FLIGHT_MS = 1500
TICK_ENDS = {"tick.done", "tick.failed"}
# Lines a tick that got past a fenced write would log (it sent or tried to send more).
WRITES_PAST_THE_FENCE = {"tick.done", "status.conflict", "confirm.deferred", "event.not_recorded"}


def test_a_leader_frozen_past_its_lease_writes_nothing_when_it_wakes_and_follows(
    start_pair: Callable[[], Pair], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    leader, follower = start_pair()
    name = create_shift(info, "frozen", INTERVAL_SECONDS)
    leader.wait_for("shift.transition", shift=name, reason="ShiftStarted")
    wait_for_status(info, name, "at step 1 and written", 10, currentStep=1, writePending=False)

    frozen_at = time.monotonic()
    leader.freeze()
    follower.wait_for(
        "shift.transition", TAKEOVER_AND_ADVANCE_TIMEOUT, shift=name, reason="StepAdvanced"
    )
    assert time.monotonic() - frozen_at >= LEASE_SECONDS  # frozen past its lease
    lease = read_lease(info)
    assert lease is not None
    assert lease.holder == follower.identity
    woke = leader.mark()
    leader.thaw()

    leader.wait_for("leader.changed", since=woke, leader=False)
    status = wait_for_status(info, name, "Promoted", PROMOTION_TIMEOUT, phase="Promoted")
    assert_steps_once_in_order(status, INTERVAL_SECONDS)
    assert leader.acting(since=woke) == []
    assert leader.steps_taken(name) == ["ShiftStarted"]
    assert follower.steps_taken(name) == ["StepAdvanced", "Promoted"]
    assert (leader.leader_gauge(), follower.leader_gauge()) == (0.0, 1.0)


def test_a_leader_frozen_mid_tick_sends_nothing_more_of_that_tick_when_it_wakes(
    start_pair: Callable[[], Pair], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    leader, follower = start_pair()
    # The leader's first status write (step 1 recorded, route not yet written) hangs in the API.
    inject_fault(
        info.api,
        verb="update",
        resource="trafficshifts/status",
        namespace=info.namespace,
        latency_ms=IN_FLIGHT_MS,
        count=1,
    )
    name = create_shift(info, "frozen-mid-tick", INTERVAL_SECONDS)
    poll("the leader's status write to be held", lambda: list_faults(info.api) == [], 10, 0.02)
    leader.freeze()
    assert not leader.find("tick.done", shift=name), "frozen too late: the write was answered"

    wait_for_holder(info, {follower.identity}, TAKEOVER_TIMEOUT)
    # The write landed while the leader slept; the follower finishes the route write it records.
    wait_for_status(info, name, "at step 1 and written", 10, currentStep=1, writePending=False)
    woke, thawed_at = leader.mark(), datetime.now(UTC).replace(microsecond=0)
    leader.thaw()

    ended = poll(
        "the tick the leader was frozen in to end",
        lambda: [r for r in leader.records(woke) if r.get("event") in TICK_ENDS] or None,
        20,
    )
    assert ended[0]["event"] == "tick.failed", leader.records(woke)
    assert ended[0]["error"].startswith("NotLeaderError"), ended
    status = wait_for_status(info, name, "Promoted", PROMOTION_TIMEOUT, phase="Promoted")
    assert_steps_once_in_order(status, INTERVAL_SECONDS)
    sent_late = [
        reason
        for reason, created in shift_events(info, name)
        if reason in ("ShiftStarted", "WriteNotConfirmed") and created >= thawed_at
    ]
    assert sent_late == []  # the old leader's announcement of step 1 and its stale route write
    assert [r for r in leader.records(woke) if r.get("event") in WRITES_PAST_THE_FENCE] == []
    assert follower.steps_taken(name) == ["StepAdvanced", "Promoted"]
