"""A leader frozen (SIGSTOP) past its lease while the follower takes over and advances: when it
wakes (SIGCONT) it acts on nothing - no tick, gate check, status write or event - and follows."""

from __future__ import annotations

import time
from collections.abc import Callable

from controller.sandbox.stack import SandboxInfo
from tests.integration.leader.cluster import (
    assert_steps_once_in_order,
    create_shift,
    read_lease,
    wait_for_status,
)
from tests.integration.leader.conftest import Pair
from tests.integration.leader.replicas import LEASE_SECONDS, RETRY_SECONDS

INTERVAL_SECONDS = 5
PROMOTION_TIMEOUT = 40.0
# The follower takes over a lease duration (and a retry or two) after the freeze, then advances
# once the step's interval, which began before the freeze, is over.
TAKEOVER_AND_ADVANCE_TIMEOUT = LEASE_SECONDS + 3 * RETRY_SECONDS + INTERVAL_SECONDS + 5


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
