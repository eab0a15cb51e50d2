"""A leader that dies or stops mid-shift: killed, the follower waits out the Lease (not a
moment less) and finishes the shift without taking a step twice; stopped cleanly with SIGTERM,
it releases the Lease and the follower takes over well within a lease duration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from controller.sandbox.stack import SandboxInfo
from tests.integration.leader.cluster import (
    assert_steps_once_in_order,
    create_shift,
    read_lease,
    wait_for_holder,
    wait_for_status,
)
from tests.integration.leader.replicas import LEASE_SECONDS, RETRY_SECONDS, Pair

INTERVAL_SECONDS = 5
PROMOTION_TIMEOUT = 40.0
# Scheduling and request latency on a busy machine, on top of the election's own timing.
SLACK_SECONDS = 0.5


def test_a_killed_leaders_shift_is_finished_by_the_follower_after_one_lease_duration(
    start_pair: Callable[[], Pair], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    leader, follower = start_pair()
    name = create_shift(info, "sigkill", INTERVAL_SECONDS)
    leader.wait_for("shift.transition", shift=name, reason="ShiftStarted")
    leader.kill()
    last = read_lease(info)
    assert last is not None
    assert last.holder == leader.identity

    taken = wait_for_holder(info, {follower.identity}, LEASE_SECONDS + 3 * RETRY_SECONDS)
    assert taken.acquired is not None
    assert last.renewed is not None
    unheld = (taken.acquired - last.renewed).total_seconds()
    # Not before the lease expired on the follower's clock; then at its next retry.
    assert LEASE_SECONDS <= unheld <= LEASE_SECONDS + RETRY_SECONDS + SLACK_SECONDS, unheld
    assert taken.transitions == 1

    status = wait_for_status(info, name, "Promoted", PROMOTION_TIMEOUT, phase="Promoted")
    assert_steps_once_in_order(status, INTERVAL_SECONDS)
    assert leader.steps_taken(name) == ["ShiftStarted"]
    assert follower.steps_taken(name) == ["StepAdvanced", "Promoted"]
    assert follower.find("leader.changed", leader=True)
    assert follower.leader_gauge() == 1.0


def test_a_leader_stopped_with_sigterm_releases_the_lease_for_an_immediate_takeover(
    start_pair: Callable[[], Pair], clean_sandbox: SandboxInfo
) -> None:
    info = clean_sandbox
    leader, follower = start_pair()
    name = create_shift(info, "sigterm", INTERVAL_SECONDS)
    leader.wait_for("shift.transition", shift=name, reason="ShiftStarted")
    follower_log = follower.mark()

    terminated_at = datetime.now(UTC)
    assert leader.terminate(timeout=15) == 0
    taken = wait_for_holder(info, {follower.identity}, LEASE_SECONDS)
    assert taken.acquired is not None
    handover = (taken.acquired - terminated_at).total_seconds()
    # Without the release the follower could not lead before the last renew (at most a retry
    # period before SIGTERM) plus the lease duration: 5s here. Released, it leads at its next
    # retry.
    assert handover < LEASE_SECONDS - 2 * RETRY_SECONDS, handover
    assert taken.transitions == 1
    assert leader.find("controller.stopped")

    follower.wait_for("gate.checked", since=follower_log, shift=name)  # and it drives the shift
    assert follower.leader_gauge() == 1.0
