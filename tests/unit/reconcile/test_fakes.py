"""The FakeCluster keeps the API server's rules the tick relies on, or the tests above prove
nothing: stale resourceVersions conflict, a failing JSON patch `test` is refused, the status
subresource writes only the status."""

from __future__ import annotations

from typing import Any

import pytest

from controller.kube.errors import ConflictError, InvalidError, NotFoundError
from tests.unit.reconcile.builders import NAMESPACE, SHIFT_NAME, bookinfo_cluster, dest, split
from tests.unit.reconcile.fakes import SHIFT, VS, FakeCluster

ROUTE = "/spec/http/1/route"


def _managed(cluster: FakeCluster) -> Any:
    return cluster.get_virtual_service(NAMESPACE, "reviews")["spec"]["http"][1]["route"]


def test_patch_with_a_stale_resource_version_conflicts() -> None:
    cluster = bookinfo_cluster()
    vs = cluster.get_virtual_service(NAMESPACE, "reviews")
    cluster.edit(VS, NAMESPACE, "reviews", lambda o: o["metadata"].update(labels={"a": "b"}))
    operations = [
        {
            "op": "replace",
            "path": "/metadata/resourceVersion",
            "value": vs["metadata"]["resourceVersion"],
        },
        {"op": "replace", "path": ROUTE, "value": split(90)},
    ]

    with pytest.raises(ConflictError):
        cluster.patch_virtual_service(NAMESPACE, "reviews", operations)
    assert _managed(cluster) == [dest("v1")]


def test_patch_whose_test_op_fails_is_refused_as_invalid() -> None:
    cluster = bookinfo_cluster()
    operations = [
        {"op": "test", "path": ROUTE, "value": split(50)},
        {"op": "replace", "path": ROUTE, "value": split(90)},
    ]

    with pytest.raises(InvalidError, match="testing value"):
        cluster.patch_virtual_service(NAMESPACE, "reviews", operations)


def test_patch_applies_and_bumps_the_resource_version() -> None:
    cluster = bookinfo_cluster()
    before = cluster.get_virtual_service(NAMESPACE, "reviews")["metadata"]["resourceVersion"]

    answer = cluster.patch_virtual_service(
        NAMESPACE, "reviews", [{"op": "replace", "path": ROUTE, "value": split(90)}]
    )

    assert answer["metadata"]["resourceVersion"] != before
    assert cluster.get_virtual_service(NAMESPACE, "reviews")["spec"]["http"][1]["route"] == split(
        90
    )


def test_silent_write_answers_with_the_patch_but_stores_nothing() -> None:
    cluster = bookinfo_cluster()
    cluster.silent_writes = True

    answer = cluster.patch_virtual_service(
        NAMESPACE, "reviews", [{"op": "replace", "path": ROUTE, "value": split(90)}]
    )

    assert answer["spec"]["http"][1]["route"] == split(90)
    assert cluster.get_virtual_service(NAMESPACE, "reviews")["spec"]["http"][1]["route"] == [
        dest("v1")
    ]


def test_status_write_needs_the_current_version_and_writes_only_the_status() -> None:
    cluster = bookinfo_cluster()
    shift = cluster.get_shift(NAMESPACE, SHIFT_NAME)
    shift["spec"]["steps"] = [99]

    written = cluster.replace_shift_status({**shift, "status": {"phase": "Progressing"}})

    assert written["status"] == {"phase": "Progressing"}
    assert written["spec"]["steps"] != [99]
    with pytest.raises(ConflictError):
        cluster.replace_shift_status({**shift, "status": {"phase": "Holding"}})


def test_scripted_failures_hit_only_the_next_calls() -> None:
    cluster = bookinfo_cluster()
    cluster.fail_next("get_shift", NotFoundError("gone", 404))

    with pytest.raises(NotFoundError):
        cluster.get_shift(NAMESPACE, SHIFT_NAME)
    assert cluster.get_shift(NAMESPACE, SHIFT_NAME)["kind"] == SHIFT
