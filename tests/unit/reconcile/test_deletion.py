"""Deleting a shift never leaves its canary exposed by accident: the daemon's finalizer is added
before the first weight write, a delete mid-shift rolls the route back (spec.onDelete:
rollback) or leaves it (keep) with a Warning, and the finalizer then goes, as it does once a
shift ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from controller.api.trafficshift import FINALIZER
from controller.kube.errors import NotFoundError
from controller.reconcile import Dependencies, finalizing
from controller.reconcile.finalizing import DELETE_ALERT_GRACE, alerts_overdue
from tests.unit.reconcile.builders import (
    NAMESPACE,
    SHIFT_NAME,
    bookinfo_cluster,
    dest,
    make_deps,
    managed_route,
    shift_manifest,
    split,
    tick,
)
from tests.unit.reconcile.fakes import SHIFT, FakeCluster, FakePrometheus


def daemon_deps(cluster: FakeCluster, prometheus: FakePrometheus | None = None) -> Dependencies:
    return replace(make_deps(cluster, prometheus), finalizers=True)


def stored_finalizers(cluster: FakeCluster) -> list[str]:
    return list(cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["metadata"].get("finalizers") or [])


def gone(cluster: FakeCluster) -> bool:
    try:
        cluster.get_shift(NAMESPACE, SHIFT_NAME)
    except NotFoundError:
        return True
    return False


def test_the_finalizer_is_added_before_the_first_weight_write() -> None:
    cluster = bookinfo_cluster()
    tick(daemon_deps(cluster), 0)
    methods = cluster.methods_called()
    assert methods.index("patch_shift") < methods.index("patch_virtual_service")
    assert stored_finalizers(cluster) == [FINALIZER]
    assert managed_route(cluster) == split(90)


def test_without_the_finalizers_setting_a_tick_adds_none() -> None:
    """Dependencies.finalizers is the switch (the daemon and `weightgate run` set it)."""
    cluster = bookinfo_cluster()
    tick(make_deps(cluster), 0)
    assert "patch_shift" not in cluster.methods_called()
    assert stored_finalizers(cluster) == []


def test_other_finalizers_are_kept() -> None:
    manifest = shift_manifest()
    manifest["metadata"]["finalizers"] = ["example.com/audit"]
    cluster = bookinfo_cluster(manifest)
    tick(daemon_deps(cluster), 0)
    assert stored_finalizers(cluster) == ["example.com/audit", FINALIZER]


def test_deleting_mid_shift_rolls_the_route_back_then_lets_the_delete_finish() -> None:
    cluster = bookinfo_cluster()
    deps = daemon_deps(cluster)
    tick(deps, 0)
    cluster.mark_deleted(NAMESPACE, SHIFT_NAME)
    assert not gone(cluster)

    outcome = tick(deps, 1)

    assert managed_route(cluster) == [dest("v1")]
    assert "RolledBackOnDelete" in cluster.event_reasons()
    rolled = next(e for e in cluster.events if e.reason == "RolledBackOnDelete")
    assert rolled.warning
    assert "spec.onDelete: rollback" in rolled.message
    assert "step 1/3 (10% to canary 'v3')" in rolled.message
    assert outcome.transitions[0].alert_event is not None  # the rollback alert is owed
    # The route was written, read back, the status recorded: then the object went.
    methods = cluster.methods_called()
    assert methods.index("patch_virtual_service") < len(methods) - 1
    assert methods[-1] == "patch_shift"
    assert gone(cluster)


def test_on_delete_keep_leaves_the_route_and_says_so() -> None:
    cluster = bookinfo_cluster(shift_manifest(onDelete="keep"))
    deps = daemon_deps(cluster)
    tick(deps, 0)
    patches = len(cluster.calls_of("patch_virtual_service"))
    cluster.mark_deleted(NAMESPACE, SHIFT_NAME)

    tick(deps, 1)

    assert len(cluster.calls_of("patch_virtual_service")) == patches
    assert managed_route(cluster) == split(90)
    kept = next(e for e in cluster.events if e.reason == "DeletedRouteKept")
    assert "spec.onDelete: keep" in kept.message
    assert gone(cluster)


def test_a_finished_shift_lets_go_of_its_finalizer() -> None:
    cluster = bookinfo_cluster(shift_manifest(steps=[100], interval="10s"))
    deps = daemon_deps(cluster, FakePrometheus.healthy(error_rate=5.0))
    tick(deps, 0)
    assert stored_finalizers(cluster) == [FINALIZER]
    for seconds in (10, 20, 30):
        tick(deps, seconds)
    assert cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["status"]["phase"] == "RolledBack"
    assert stored_finalizers(cluster) == []  # a later delete needs no controller
    assert managed_route(cluster) == [dest("v1")]


def test_a_shift_deleted_while_invalid_lets_go_with_a_warning_and_writes_no_route() -> None:
    cluster = bookinfo_cluster()
    deps = daemon_deps(cluster)
    tick(deps, 0)
    cluster.delete("VirtualService", NAMESPACE, "reviews")
    cluster.mark_deleted(NAMESPACE, SHIFT_NAME)

    tick(deps, 1)

    warning = next(e for e in cluster.events if e.reason == "DeletedWhileInvalid")
    assert "not found" in warning.message
    assert "had 10% of the traffic and still has it" in warning.message
    assert gone(cluster)


def test_a_shift_being_deleted_without_our_finalizer_is_left_alone() -> None:
    manifest = shift_manifest()
    manifest["metadata"]["finalizers"] = ["example.com/audit"]
    cluster = bookinfo_cluster(manifest)
    cluster.mark_deleted(NAMESPACE, SHIFT_NAME)
    outcome = tick(daemon_deps(cluster), 0)
    assert outcome.phase is None
    assert cluster.calls_of("patch_virtual_service") == []
    assert cluster.calls_of("patch_shift") == []


def test_a_new_finalizer_is_never_added_to_a_shift_being_deleted() -> None:
    manifest = shift_manifest()
    manifest["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    cluster = FakeCluster()
    cluster.put(manifest)
    obj = cluster.get_shift(NAMESPACE, SHIFT_NAME)
    assert finalizing.add(cluster, obj) is obj
    assert cluster.calls_of("patch_shift") == []


@pytest.mark.parametrize(
    ("deleted_at", "overdue"),
    [
        (None, False),
        ("2024-05-01T12:00:00Z", False),
        ("2024-05-01T11:50:00Z", True),
        ("garbage", True),
    ],
)
def test_alerts_hold_a_delete_for_at_most_the_grace(deleted_at: str | None, overdue: bool) -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=1)
    meta = {"name": "x", "namespace": "y"}
    if deleted_at is not None:
        meta["deletionTimestamp"] = deleted_at
    assert alerts_overdue({"metadata": meta}, now) is overdue
    assert timedelta(minutes=10) == DELETE_ALERT_GRACE
