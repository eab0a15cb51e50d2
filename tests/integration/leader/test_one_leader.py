"""Two replicas started together: the Lease names one, and only that one runs ticks and moves
the shift; the other watches, says it is not the leader on /metrics, and never acts."""

from __future__ import annotations

from collections.abc import Callable

from controller.sandbox.stack import SandboxInfo
from tests.integration.leader.cluster import (
    assert_steps_once_in_order,
    create_shift,
    read_lease,
    wait_for_status,
)
from tests.integration.leader.replicas import Pair

INTERVAL_SECONDS = 5
PROMOTION_TIMEOUT = 40.0


def test_of_two_replicas_only_the_lease_holder_ticks_and_moves_the_shift(
    start_pair: Callable[[], Pair], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    leader, follower = start_pair()
    name = create_shift(info, "one-leader", INTERVAL_SECONDS)

    status = wait_for_status(info, name, "Promoted", PROMOTION_TIMEOUT, phase="Promoted")
    assert_steps_once_in_order(status, INTERVAL_SECONDS)

    lease = read_lease(info)
    assert lease is not None
    assert (lease.holder, lease.transitions) == (leader.identity, 0)  # never changed hands
    assert leader.steps_taken(name) == ["ShiftStarted", "StepAdvanced", "Promoted"]
    assert leader.find("tick.done", shift=name)
    assert follower.acting() == []
    assert follower.find("job.added", shift=name)  # it watched the shift all along
    assert (leader.leader_gauge(), follower.leader_gauge()) == (1.0, 0.0)
    assert leader.find("leader.changed", leader=True)
    assert not follower.find("leader.changed")
