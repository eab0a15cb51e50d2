"""CachedCluster over a recording cluster: which reads come from the stores, which from the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from controller.kube.cached import CachedCluster, CacheStores, cache_stores
from controller.kube.errors import ConflictError, KubeError, UnavailableError
from controller.kube.resources import DESTINATION_RULES, VIRTUAL_SERVICES, Resource

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OPS = [{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 80}]


def obj(kind: str, name: str, version: str, namespace: str = "bookinfo") -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, "resourceVersion": version}
    return {"kind": kind, "metadata": meta, "spec": {}}


@dataclass
class RecordingCluster:
    """KubeCluster's methods over a dict of live objects; records each call, and raises the
    next queued error of a method instead of answering when one is queued."""

    virtual_services: Resource = VIRTUAL_SERVICES
    destination_rules: Resource = DESTINATION_RULES
    live: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, list[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def _called(self, method: str, name: str) -> None:
        self.calls.append((method, name))
        queued = self.failures.get(method)
        if queued:
            raise queued.pop(0)

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        self._called("get_shift", name)
        return self.live[("TrafficShift", namespace, name)]

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        self._called("get_virtual_service", name)
        return self.live[("VirtualService", namespace, name)]

    def get_destination_rule(self, namespace: str, name: str) -> dict[str, Any]:
        self._called("get_destination_rule", name)
        return self.live[("DestinationRule", namespace, name)]

    def patch_virtual_service(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self._called("patch_virtual_service", name)
        return obj("VirtualService", name, "11", namespace)

    def replace_shift_status(self, shift: dict[str, Any]) -> dict[str, Any]:
        self._called("replace_shift_status", shift["metadata"]["name"])
        return {**shift, "metadata": {**shift["metadata"], "resourceVersion": "21"}}

    def patch_shift(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self._called("patch_shift", name)
        return obj("TrafficShift", name, "23", namespace)

    def record_event(
        self, shift: dict[str, Any], *, reason: str, message: str, warning: bool, now: datetime
    ) -> None:
        self._called("record_event", reason)


@pytest.fixture
def cluster() -> RecordingCluster:
    live = {
        ("TrafficShift", "bookinfo", "reviews-v3"): obj("TrafficShift", "reviews-v3", "22"),
        ("VirtualService", "bookinfo", "reviews"): obj("VirtualService", "reviews", "12"),
    }
    return RecordingCluster(live=live)


@pytest.fixture
def stores(cluster: RecordingCluster) -> CacheStores:
    made = cache_stores(cluster)  # the fake stands in for KubeCluster
    made.shifts.sync("bookinfo", [obj("TrafficShift", "reviews-v3", "20")])
    made.virtual_services.sync(
        "bookinfo", [obj("VirtualService", "reviews", "10"), obj("VirtualService", "ratings", "4")]
    )
    made.destination_rules.sync("bookinfo", [obj("DestinationRule", "reviews", "7")])
    return made


@pytest.fixture
def cached(cluster: RecordingCluster, stores: CacheStores) -> CachedCluster:
    return CachedCluster(cluster, stores)  # the fake stands in for KubeCluster


def version(found: dict[str, Any]) -> str:
    return str(found["metadata"]["resourceVersion"])


def test_the_stores_use_the_clusters_istio_resources(stores: CacheStores) -> None:
    assert stores.virtual_services.resource is VIRTUAL_SERVICES
    assert stores.destination_rules.resource is DESTINATION_RULES
    assert stores.shifts.resource.kind == "TrafficShift"


def test_reads_come_from_the_stores_without_calling_the_cluster(
    cached: CachedCluster, cluster: RecordingCluster
) -> None:
    assert version(cached.get_shift("bookinfo", "reviews-v3")) == "20"
    assert version(cached.get_virtual_service("bookinfo", "reviews")) == "10"
    assert version(cached.get_destination_rule("bookinfo", "reviews")) == "7"
    assert cluster.calls == []


@pytest.mark.parametrize("failure", [None, ConflictError("409"), UnavailableError("down")])
def test_after_a_patch_the_next_vs_read_goes_to_the_cluster_once_and_is_stored(
    cached: CachedCluster,
    cluster: RecordingCluster,
    stores: CacheStores,
    failure: KubeError | None,
) -> None:
    if failure is None:
        assert version(cached.patch_virtual_service("bookinfo", "reviews", OPS)) == "11"
        assert version(stores.virtual_services.get("bookinfo", "reviews")) == "11"
    else:
        cluster.failures["patch_virtual_service"] = [failure]
        with pytest.raises(type(failure)):
            cached.patch_virtual_service("bookinfo", "reviews", OPS)
    assert version(cached.get_virtual_service("bookinfo", "reviews")) == "12"
    assert version(stores.virtual_services.get("bookinfo", "reviews")) == "12"
    assert version(cached.get_virtual_service("bookinfo", "reviews")) == "12"
    assert cluster.calls == [
        ("patch_virtual_service", "reviews"),
        ("get_virtual_service", "reviews"),
    ]


def test_a_patch_sends_only_that_virtual_services_next_read_to_the_cluster(
    cached: CachedCluster, cluster: RecordingCluster
) -> None:
    cached.patch_virtual_service("bookinfo", "reviews", OPS)
    assert version(cached.get_virtual_service("bookinfo", "ratings")) == "4"
    assert cluster.calls == [("patch_virtual_service", "reviews")]


def test_a_failing_direct_vs_read_is_tried_again_on_the_next_read(
    cached: CachedCluster, cluster: RecordingCluster
) -> None:
    cached.patch_virtual_service("bookinfo", "reviews", OPS)
    cluster.failures["get_virtual_service"] = [UnavailableError("down")]
    with pytest.raises(UnavailableError):
        cached.get_virtual_service("bookinfo", "reviews")
    assert version(cached.get_virtual_service("bookinfo", "reviews")) == "12"
    assert version(cached.get_virtual_service("bookinfo", "reviews")) == "12"
    assert [method for method, _ in cluster.calls].count("get_virtual_service") == 2


def test_a_status_write_stores_the_written_object(
    cached: CachedCluster, cluster: RecordingCluster, stores: CacheStores
) -> None:
    shift = stores.shifts.get("bookinfo", "reviews-v3")
    written = cached.replace_shift_status({**shift, "status": {"phase": "Progressing"}})
    assert version(written) == "21"
    found = cached.get_shift("bookinfo", "reviews-v3")
    assert found is written
    assert cluster.calls == [("replace_shift_status", "reviews-v3")]


def test_a_conflicting_status_write_sends_one_shift_read_to_the_cluster(
    cached: CachedCluster, cluster: RecordingCluster, stores: CacheStores
) -> None:
    cluster.failures["replace_shift_status"] = [ConflictError("409: the object was modified")]
    with pytest.raises(ConflictError):
        cached.replace_shift_status(stores.shifts.get("bookinfo", "reviews-v3"))
    assert version(cached.get_shift("bookinfo", "reviews-v3")) == "22"
    assert version(stores.shifts.get("bookinfo", "reviews-v3")) == "22"
    assert version(cached.get_shift("bookinfo", "reviews-v3")) == "22"
    assert cluster.calls == [
        ("replace_shift_status", "reviews-v3"),
        ("get_shift", "reviews-v3"),
    ]


def test_a_status_write_failing_otherwise_keeps_reading_the_store(
    cached: CachedCluster, cluster: RecordingCluster, stores: CacheStores
) -> None:
    cluster.failures["replace_shift_status"] = [UnavailableError("API server unreachable")]
    with pytest.raises(UnavailableError):
        cached.replace_shift_status(stores.shifts.get("bookinfo", "reviews-v3"))
    assert version(cached.get_shift("bookinfo", "reviews-v3")) == "20"
    assert cluster.calls == [("replace_shift_status", "reviews-v3")]


def test_a_failing_direct_shift_read_is_tried_again_on_the_next_read(
    cached: CachedCluster, cluster: RecordingCluster, stores: CacheStores
) -> None:
    cluster.failures["replace_shift_status"] = [ConflictError("409")]
    cluster.failures["get_shift"] = [UnavailableError("down")]
    with pytest.raises(ConflictError):
        cached.replace_shift_status(stores.shifts.get("bookinfo", "reviews-v3"))
    with pytest.raises(UnavailableError):
        cached.get_shift("bookinfo", "reviews-v3")
    assert version(cached.get_shift("bookinfo", "reviews-v3")) == "22"
    assert [method for method, _ in cluster.calls].count("get_shift") == 2


def test_events_are_recorded_through_the_cluster(
    cached: CachedCluster, cluster: RecordingCluster, stores: CacheStores
) -> None:
    shift = stores.shifts.get("bookinfo", "reviews-v3")
    cached.record_event(shift, reason="Progressing", message="step 2", warning=False, now=NOW)
    assert cluster.calls == [("record_event", "Progressing")]
