"""Finalizers as a real API server keeps them: a delete only marks the object (200 with the
object, deletionTimestamp, generation bumped, MODIFIED), the object stays writable but takes no new
finalizer, and the write that empties its finalizers deletes it (DELETED)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from .conftest import STEPPERS, Kubectl


def test_a_delete_waits_for_finalizers_and_the_last_removal_deletes(
    custom: client.CustomObjectsApi,
    kubectl: Kubectl,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    args = (*STEPPERS[:2], namespace, STEPPERS[2])
    created = make_stepper("guarded", [10])
    custom.patch_namespaced_custom_object(
        *args, "guarded", {"metadata": {"finalizers": ["example.com/a", "example.com/b"]}}
    )
    start = created["metadata"]["resourceVersion"]

    deleted = custom.delete_namespaced_custom_object(*args, "guarded")
    assert deleted["metadata"]["deletionTimestamp"]
    marked = custom.get_namespaced_custom_object(*args, "guarded")
    assert marked["metadata"]["deletionTimestamp"] == deleted["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["generation"] == created["metadata"]["generation"] + 1
    # A second delete changes nothing.
    again = custom.delete_namespaced_custom_object(*args, "guarded")
    assert again["metadata"]["resourceVersion"] == marked["metadata"]["resourceVersion"]

    # Still writable: its status, and removing one finalizer.
    custom.patch_namespaced_custom_object_status(*args, "guarded", {"status": {"phase": "x"}})
    custom.patch_namespaced_custom_object(
        *args, "guarded", {"metadata": {"finalizers": ["example.com/b"]}}
    )
    # No new finalizer on an object being deleted.
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            *args, "guarded", {"metadata": {"finalizers": ["example.com/b", "example.com/c"]}}
        )
    assert caught.value.status == 422
    assert "no new finalizers can be added" in json.loads(caught.value.body)["message"]

    # kubectl with --wait=false sees it Terminating; the last removal deletes it.
    listed = kubectl.run("get", "-n", namespace, "steppers", "guarded", "-o", "json").stdout
    assert json.loads(listed)["metadata"]["finalizers"] == ["example.com/b"]
    patch = [{"op": "remove", "path": "/metadata/finalizers/0"}]
    kubectl.run(
        "patch", "-n", namespace, "stepper", "guarded", "--type=json", "-p", json.dumps(patch)
    )
    with pytest.raises(ApiException) as missing:
        custom.get_namespaced_custom_object(*args, "guarded")
    assert missing.value.status == 404

    events = [
        (e["type"], e["object"]["metadata"].get("deletionTimestamp") is not None)
        for e in watch.Watch().stream(
            custom.list_namespaced_custom_object,
            *args,
            resource_version=start,
            timeout_seconds=2,
        )
    ]
    assert events[:2] == [("MODIFIED", False), ("MODIFIED", True)]  # finalizers set, marked
    assert events[-1] == ("DELETED", True)
    assert [kind for kind, _ in events].count("DELETED") == 1


def test_an_object_without_finalizers_goes_at_once(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    args = (*STEPPERS[:2], namespace, STEPPERS[2])
    make_stepper("plain", [10])
    custom.delete_namespaced_custom_object(*args, "plain")
    with pytest.raises(ApiException) as missing:
        custom.get_namespaced_custom_object(*args, "plain")
    assert missing.value.status == 404
