"""Leader election on a coordination.k8s.io/v1 Lease, so two replicas never drive the same
shifts at once.

Follows client-go's rules: the holder renews ``renewTime`` every ``retry_period``; a candidate
takes over only after it has seen the same lease record unchanged for ``lease_duration`` on its
*own* clock (so clock skew between nodes cannot cause two leaders); every write carries the
resourceVersion it read, so of two candidates racing for an expired lease exactly one wins (the
other gets 409). A leader that cannot renew within ``renew_deadline`` steps down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.kube.client import KubeClient
from controller.kube.errors import ConflictError, KubeError, NotFoundError
from controller.kube.resources import LEASES


class NotLeaderError(KubeError):
    """A write this replica was about to send while it does not hold the Lease (or cannot tell
    that it still does); it was not sent."""


def _micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseConfig:
    namespace: str
    name: str = "weightgate-controller"
    lease_duration: timedelta = timedelta(seconds=15)
    renew_deadline: timedelta = timedelta(seconds=10)
    retry_period: timedelta = timedelta(seconds=2)


class LeaderElector:
    """Call ``try_acquire_or_renew()`` every ``retry_period``; it says whether we lead now."""

    def __init__(
        self,
        client: KubeClient,
        config: LeaseConfig,
        identity: str,
        monotonic: Callable[[], float],
        wall: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.config = config
        self.identity = identity
        self._monotonic = monotonic
        self._wall = wall
        self._observed: tuple[str, str] | None = None  # (holder, renewTime) last seen
        self._observed_at = 0.0
        self._last_renewed = float("-inf")
        self.is_leader = False

    def try_acquire_or_renew(self) -> bool:
        try:
            self.is_leader = self._attempt()
        except KubeError:
            # Keep leading only while the last successful renew is within the deadline.
            within = (
                self._monotonic() - self._last_renewed < self.config.renew_deadline.total_seconds()
            )
            self.is_leader = self.is_leader and within
        return self.is_leader

    def _attempt(self) -> bool:
        try:
            lease = self.client.get(LEASES, self.config.namespace, self.config.name)
        except NotFoundError:
            return self._write(None)
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        record = (holder, str(spec.get("renewTime") or ""))
        now = self._monotonic()
        if record != self._observed:
            self._observed, self._observed_at = record, now
        if holder and holder != self.identity:
            duration = float(
                spec.get("leaseDurationSeconds") or self.config.lease_duration.total_seconds()
            )
            if now - self._observed_at < duration:
                return False  # someone else holds a lease we have not seen expire
        return self._write(lease)

    def _write(self, lease: dict[str, Any] | None) -> bool:
        now = self._wall()
        spec = dict((lease or {}).get("spec") or {})
        taking_over = spec.get("holderIdentity") != self.identity
        if taking_over:
            spec["acquireTime"] = _micro_time(now)
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if lease else 0)
        spec.update(
            holderIdentity=self.identity,
            renewTime=_micro_time(now),
            leaseDurationSeconds=int(self.config.lease_duration.total_seconds()),
        )
        try:
            if lease is None:
                self.client.create(
                    LEASES,
                    self.config.namespace,
                    {
                        "apiVersion": "coordination.k8s.io/v1",
                        "kind": "Lease",
                        "metadata": {"name": self.config.name, "namespace": self.config.namespace},
                        "spec": spec,
                    },
                )
            else:
                self.client.replace(LEASES, {**lease, "spec": spec})
        except ConflictError:
            return False  # another candidate wrote first; we will see its record next time
        self._last_renewed = self._monotonic()
        return True

    def leading_now(self) -> bool:
        """Leader, and the last renew is recent enough that the lease cannot have expired for
        the others: a replica frozen (SIGSTOP, a long GC pause) past its renew deadline stops
        acting the moment it wakes, before its renew thread has even run."""
        since = self._monotonic() - self._last_renewed
        return self.is_leader and since < self.config.renew_deadline.total_seconds()

    def release(self) -> None:
        """On clean shutdown: let a follower take over at once instead of after the duration."""
        if not self.is_leader:
            return
        try:
            lease = self.client.get(LEASES, self.config.namespace, self.config.name)
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                spec = {**lease["spec"], "holderIdentity": "", "leaseDurationSeconds": 1}
                self.client.replace(LEASES, {**lease, "spec": spec})
        except KubeError:
            pass  # the lease simply expires
        self.is_leader = False
