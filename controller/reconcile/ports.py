"""What one reconcile tick needs from the outside world, as small Protocols.

``controller.kube.cluster.KubeCluster`` implements ``Cluster`` against a real API server; unit
tests hand in fakes at this seam. Prometheus is reached through ``analysis.client.QueryClient``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from controller.alerts import AlertDispatch, AlertSettings
from controller.analysis.client import QueryClient
from controller.api.profile import GateProfile
from controller.reconcile.board import GateBoard

if TYPE_CHECKING:
    from controller.reconcile.target import TargetMemo
from controller.rollout import Policy


class Reads(Protocol):
    """The reads of a tick (a watch cache's stores answer them too)."""

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_destination_rule(self, namespace: str, name: str) -> dict[str, Any]: ...


class Cluster(Reads, Protocol):
    def patch_virtual_service(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]: ...

    def replace_shift_status(self, shift: dict[str, Any]) -> dict[str, Any]:
        """PUT the status subresource at the object's resourceVersion (ConflictError if stale)."""
        ...

    def patch_shift(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """JSON patch of the TrafficShift itself: only its finalizers, guarded by the
        resourceVersion the operations carry (ConflictError if stale)."""
        ...

    def record_event(
        self, shift: dict[str, Any], *, reason: str, message: str, warning: bool, now: datetime
    ) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    """Everything a tick uses besides the time: wired once by the CLI."""

    cluster: Cluster
    prometheus: QueryClient
    profiles: Mapping[str, GateProfile]
    policy: Policy
    check_interval: timedelta
    alerts: AlertDispatch | None = None  # None: alerts are queued in the status, never sent
    alert_settings: AlertSettings = field(default_factory=AlertSettings)
    # Set: gates are judged in batched rounds (controller.rounds) and ticks take the results
    # from here. None: each tick queries Prometheus for its own shift when a check is due.
    board: GateBoard | None = None
    # Set (with a watch-cache cluster): resolved Targets are reused while nothing changed.
    memo: TargetMemo | None = None
    # True (the daemon, and `weightgate run`): keep a finalizer on shifts whose canary may have
    # traffic, so a delete carries out spec.onDelete (controller.reconcile.finalizing).
    finalizers: bool = False
    # Set: only shifts in these namespaces may carry their own PromQL (settings
    # custom_query_namespaces); None: every namespace may.
    custom_query_namespaces: frozenset[str] | None = None
