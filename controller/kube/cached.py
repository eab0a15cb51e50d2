"""The cluster as ticks see it with a watch cache: reads from stores, writes to the API.

Owns ``CachedCluster`` (the reconcile loop's ``Cluster`` port over three ``ObjectStore``s and a
``KubeCluster``) and ``cache_stores``. A tick that changes nothing costs no API request; the API
sees the writes a transition makes, and a read only where a stale copy could mislead:

- after we patch a VirtualService, or a patch of it fails, the next read of it goes to the API
  (the write's read-back must be independent of what we sent, and a 409 means our copy is old);
- after a status write of a TrafficShift fails with 409, its next read goes to the API too, so the
  tick's redo works from the object that won rather than from the copy that lost.

Objects our writes return are stored at once, so the next tick starts from them even before the
watch delivers the same change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.kube.cluster import KubeCluster
from controller.kube.errors import ConflictError
from controller.kube.resources import TRAFFIC_SHIFTS
from controller.kube.store import Key, ObjectStore, key_of


@dataclass(frozen=True)
class CacheStores:
    shifts: ObjectStore
    virtual_services: ObjectStore
    destination_rules: ObjectStore

    def all(self) -> tuple[ObjectStore, ...]:
        return (self.shifts, self.virtual_services, self.destination_rules)


def cache_stores(cluster: KubeCluster) -> CacheStores:
    return CacheStores(
        ObjectStore(TRAFFIC_SHIFTS),
        ObjectStore(cluster.virtual_services),
        ObjectStore(cluster.destination_rules),
    )


class _ReadThrough:
    """Keys whose next read must go to the API."""

    def __init__(self) -> None:
        self._keys: set[Key] = set()
        self._lock = threading.Lock()

    def mark(self, key: Key) -> None:
        with self._lock:
            self._keys.add(key)

    def wanted(self, key: Key) -> bool:
        with self._lock:
            return key in self._keys

    def done(self, key: Key) -> None:
        with self._lock:
            self._keys.discard(key)


class StoreReads:
    """The stores alone: the tick's reads answered with no request, ever (for a probe that runs
    on the scheduler's own thread, which must never wait on the API)."""

    def __init__(self, stores: CacheStores) -> None:
        self.stores = stores

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        return self.stores.shifts.get(namespace, name)

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        return self.stores.virtual_services.get(namespace, name)

    def get_destination_rule(self, namespace: str, name: str) -> dict[str, Any]:
        return self.stores.destination_rules.get(namespace, name)


class CachedCluster:
    """Implements ``controller.reconcile.ports.Cluster``."""

    def __init__(self, cluster: KubeCluster, stores: CacheStores) -> None:
        self.cluster = cluster
        self.stores = stores
        self._fresh_shifts = _ReadThrough()
        self._fresh_services = _ReadThrough()

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        key = (namespace, name)
        if not self._fresh_shifts.wanted(key):
            return self.stores.shifts.get(namespace, name)
        obj = self.cluster.get_shift(namespace, name)  # a failed read stays wanted
        self.stores.shifts.put(obj)
        self._fresh_shifts.done(key)
        return obj

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        key = (namespace, name)
        if not self._fresh_services.wanted(key):
            return self.stores.virtual_services.get(namespace, name)
        obj = self.cluster.get_virtual_service(namespace, name)
        self.stores.virtual_services.put(obj)
        self._fresh_services.done(key)
        return obj

    def get_destination_rule(self, namespace: str, name: str) -> dict[str, Any]:
        return self.stores.destination_rules.get(namespace, name)

    def patch_virtual_service(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self._fresh_services.mark((namespace, name))  # whatever happens, read it back for real
        patched = self.cluster.patch_virtual_service(namespace, name, operations)
        self.stores.virtual_services.put(patched)
        return patched

    def replace_shift_status(self, shift: dict[str, Any]) -> dict[str, Any]:
        try:
            written = self.cluster.replace_shift_status(shift)
        except ConflictError:
            self._fresh_shifts.mark(key_of(shift))
            raise
        self.stores.shifts.put(written)
        return written

    def patch_shift(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        try:
            patched = self.cluster.patch_shift(namespace, name, operations)
        except ConflictError:
            self._fresh_shifts.mark((namespace, name))
            raise
        self.stores.shifts.put(patched)
        return patched

    def record_event(
        self, shift: dict[str, Any], *, reason: str, message: str, warning: bool, now: datetime
    ) -> None:
        self.cluster.record_event(shift, reason=reason, message=message, warning=warning, now=now)
