"""Leader election over a real (sandbox) API server: one leader at a time, takeover only after
the lease went unrenewed for its duration on the candidate's own clock, fast handover on
release, and exactly one winner when two candidates race for an expired lease."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.kube.client import KubeClient, load_configuration
from controller.kube.lease import LeaderElector, LeaseConfig
from controller.kube.resources import LEASES
from controller.sandbox.apiserver import ApiServer, write_kubeconfig


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def monotonic(self) -> float:
        return self.seconds

    def wall(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[KubeClient]:
    with ApiServer() as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
        kube = KubeClient(load_configuration(kubeconfig), timeout_seconds=5)
        yield kube
        kube.close()


def elector(client: KubeClient, clock: Clock, identity: str) -> LeaderElector:
    return LeaderElector(
        client, LeaseConfig(namespace="default"), identity, clock.monotonic, clock.wall
    )


def test_first_candidate_leads_and_the_second_follows(client: KubeClient) -> None:
    clock = Clock()
    a, b = elector(client, clock, "a"), elector(client, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    lease = client.get(LEASES, "default", "weightgate-controller")
    assert lease["spec"]["holderIdentity"] == "a"


def test_takeover_only_after_the_lease_duration_unrenewed(client: KubeClient) -> None:
    clock = Clock()
    a, b = elector(client, clock, "a"), elector(client, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    clock.seconds += 10
    assert a.try_acquire_or_renew()  # renewed: b must start counting again
    clock.seconds += 10
    assert not b.try_acquire_or_renew()
    clock.seconds += 16  # a stopped renewing 26s ago, b saw the renewal 16s ago
    assert b.try_acquire_or_renew()
    lease = client.get(LEASES, "default", "weightgate-controller")
    assert lease["spec"]["holderIdentity"] == "b"
    assert lease["spec"]["leaseTransitions"] == 1
    assert not a.try_acquire_or_renew()  # the old leader steps down when it sees b


def test_release_hands_over_without_waiting(client: KubeClient) -> None:
    clock = Clock()
    a, b = elector(client, clock, "a"), elector(client, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.release()
    assert not a.is_leader
    assert b.try_acquire_or_renew()


def test_two_candidates_racing_for_an_expired_lease_make_one_leader(client: KubeClient) -> None:
    clock = Clock()
    a, b, c = (elector(client, clock, name) for name in "abc")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert not c.try_acquire_or_renew()
    clock.seconds += 20
    # Both read the same expired record; the second write carries a stale resourceVersion.
    lease = client.get(LEASES, "default", "weightgate-controller")
    assert b._write(lease) is True
    assert c._write(lease) is False
    assert client.get(LEASES, "default", "weightgate-controller")["spec"]["holderIdentity"] == "b"


def test_a_leader_frozen_past_its_renew_deadline_stops_acting_before_renewing(
    client: KubeClient,
) -> None:
    """SIGSTOP then SIGCONT: the ticks' should-run check fails at once on the leader's own
    clock, before its renew thread has run (and discovered the new holder)."""
    clock = Clock()
    a = elector(client, clock, "a")
    assert a.try_acquire_or_renew()
    assert a.leading_now()
    clock.seconds += 9
    assert a.leading_now()
    clock.seconds += 2  # 11s since the last renew: past the 10s renew deadline
    assert a.is_leader  # the renew thread has not run yet...
    assert not a.leading_now()  # ...but no tick may act on it
