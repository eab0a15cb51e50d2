"""Optimistic concurrency and the Status errors clients branch on: 409, 404, AlreadyExists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from .conftest import STEPPERS, Kubectl, stepper


def _status(error: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    return body


def test_stale_update_from_python_client_is_409_conflict_status(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    """A PUT carrying an old resourceVersion is refused with a metav1 Status, reason Conflict."""
    stale = make_stepper("s1", [10])
    fresh = dict(stale, spec={"steps": [20]})
    custom.replace_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], "s1", fresh)
    stale["spec"] = {"steps": [30]}
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], "s1", stale)
    assert caught.value.status == 409
    status = _status(caught.value)
    assert status["kind"] == "Status"
    assert status["reason"] == "Conflict"
    assert status["details"]["name"] == "s1"
    assert "the object has been modified" in status["message"]
    live = custom.get_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], "s1")
    assert live["spec"]["steps"] == [20]


def test_kubectl_replace_of_a_stale_object_fails_with_conflict(
    kubectl: Kubectl, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    """kubectl replace of an object read before someone else's write reports the conflict."""
    make_stepper("s2", [10])
    stale = kubectl.json("get", "-n", namespace, "stepper", "s2")
    kubectl.run(
        "patch",
        "-n",
        namespace,
        "stepper",
        "s2",
        "--type",
        "merge",
        "-p",
        '{"spec":{"steps":[11]}}',
    )
    stale["spec"]["steps"] = [99]
    result = kubectl.run("replace", "-f", "-", stdin=yaml.safe_dump(stale), check=False)
    assert result.returncode != 0
    assert "Conflict" in result.stderr
    assert "the object has been modified" in result.stderr


def test_patch_carrying_a_stale_resource_version_is_409(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    """A merge patch with metadata.resourceVersion acts as a precondition."""
    created = make_stepper("s3", [10])
    old_rv = created["metadata"]["resourceVersion"]
    custom.patch_namespaced_custom_object(
        *STEPPERS[:2], namespace, STEPPERS[2], "s3", {"spec": {"steps": [12]}}
    )
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            *STEPPERS[:2],
            namespace,
            STEPPERS[2],
            "s3",
            {"metadata": {"resourceVersion": old_rv}, "spec": {"steps": [13]}},
        )
    assert caught.value.status == 409
    assert _status(caught.value)["reason"] == "Conflict"


def test_update_without_resource_version_of_a_custom_object_is_rejected(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    """Custom resources need a resourceVersion on PUT, as on a real server (422)."""
    make_stepper("s4", [10])
    body = stepper("s4", [11])
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], "s4", body)
    assert caught.value.status == 422
    assert "metadata.resourceVersion" in _status(caught.value)["message"]


def test_create_of_an_existing_name_is_409_already_exists(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    make_stepper("dup", [10])
    with pytest.raises(ApiException) as caught:
        make_stepper("dup", [10])
    assert caught.value.status == 409
    assert _status(caught.value)["reason"] == "AlreadyExists"


def test_get_of_a_missing_object_is_404_not_found_status(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any], namespace: str
) -> None:
    with pytest.raises(ApiException) as caught:
        custom.get_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], "missing")
    assert caught.value.status == 404
    status = _status(caught.value)
    assert status["reason"] == "NotFound"
    assert status["message"] == 'steppers.test.weightgate.dev "missing" not found'


def test_create_in_a_missing_namespace_is_404_namespace_not_found(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any]
) -> None:
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            *STEPPERS[:2], "no-such-ns", STEPPERS[2], stepper("x", [1])
        )
    assert caught.value.status == 404
    assert _status(caught.value)["message"] == 'namespaces "no-such-ns" not found'


def test_resource_versions_increase_across_the_whole_server(
    core: client.CoreV1Api, namespace: str
) -> None:
    """One global counter: every write gets a larger resourceVersion than the one before."""
    versions = []
    for name in ("a", "b", "c"):
        created = core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name))
        )
        versions.append(int(created.metadata.resource_version))
    assert versions == sorted(versions)
    assert len(set(versions)) == 3
    listed = core.list_namespaced_config_map(namespace)
    assert int(listed.metadata.resource_version) >= versions[-1]


def test_deleting_a_namespace_deletes_what_it_holds(
    core: client.CoreV1Api, kubectl: Kubectl, namespace: str
) -> None:
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="held"))
    )
    kubectl.run("delete", "namespace", namespace)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("held", namespace)
    assert caught.value.status == 404
