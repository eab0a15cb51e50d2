"""Fixtures for the leader-election acceptance tests: a pair of controller replicas racing for
one Lease (both always stopped after the test), with the shared sandbox state - reviews route,
faults, our TrafficShifts and the Lease - reset before and after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.sandbox.stack import SandboxInfo
from tests.integration.leader.cluster import reset_shared_state, wait_for_holder
from tests.integration.leader.replicas import START_TIMEOUT, Pair, Replica

HERE = Path(__file__).parent
IDENTITIES = ("replica-a", "replica-b")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here drives the whole sandbox, so it all carries the integration mark."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def clean_sandbox(sandbox: SandboxInfo) -> Iterator[SandboxInfo]:
    reset_shared_state(sandbox)
    try:
        yield sandbox
    finally:
        reset_shared_state(sandbox)


@pytest.fixture
def start_pair(clean_sandbox: SandboxInfo, tmp_path: Path) -> Iterator[Callable[[], Pair]]:
    """Starts two replicas at once; returns (leader, follower) once the Lease names one of them
    and both watch. Every replica started is killed after the test, frozen or not."""
    started: list[Replica] = []

    def start() -> Pair:
        replicas = [Replica(clean_sandbox, who, tmp_path / f"{who}.log") for who in IDENTITIES]
        started.extend(replicas)
        for replica in replicas:
            replica.wait_ready()
        lease = wait_for_holder(clean_sandbox, set(IDENTITIES), START_TIMEOUT)
        leader = next(r for r in replicas if r.identity == lease.holder)
        follower = next(r for r in replicas if r is not leader)
        return leader, follower

    try:
        yield start
    finally:
        # Before the state reset, so no replica can act on the route while it is put back.
        for replica in started:
            replica.kill()
