"""Patch types through kubectl and the Python client: merge, JSON, strategic (415 on CRs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml
from kubernetes import client

from .conftest import STEPPERS, Kubectl

JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def raw_patch(
    custom: client.CustomObjectsApi, path: str, content_type: str, body: Any
) -> requests.Response:
    """A PATCH as any HTTP client sends it, with a content type the generated client would not
    send for this body (the server's answer is what is tested)."""
    return requests.patch(
        f"{custom.api_client.configuration.host}/apis/test.weightgate.dev/v1/{path}",
        data=json.dumps(body),
        headers={"Content-Type": content_type},
        timeout=10,
    )


def test_kubectl_merge_patch_changes_only_the_named_fields(
    kubectl: Kubectl, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    make_stepper("m1", [10, 20], mode="auto")
    kubectl.run(
        "patch",
        "-n",
        namespace,
        "stepper",
        "m1",
        "--type",
        "merge",
        "-p",
        '{"spec":{"steps":[30],"mode":null}}',
    )
    live = kubectl.json("get", "-n", namespace, "stepper", "m1")
    assert live["spec"] == {"steps": [30]}


def test_kubectl_json_patch_applies_operations_in_order(
    kubectl: Kubectl, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    make_stepper("j1", [10, 20])
    operations = [
        {"op": "test", "path": "/spec/steps/0", "value": 10},
        {"op": "replace", "path": "/spec/steps/0", "value": 15},
        {"op": "add", "path": "/spec/steps/-", "value": 40},
        {"op": "add", "path": "/spec/mode", "value": "manual"},
    ]
    kubectl.run(
        "patch", "-n", namespace, "stepper", "j1", "--type", "json", "-p", json.dumps(operations)
    )
    live = kubectl.json("get", "-n", namespace, "stepper", "j1")
    assert live["spec"] == {"steps": [15, 20, 40], "mode": "manual"}


def test_json_patch_with_a_failing_test_is_rejected_and_changes_nothing(
    kubectl: Kubectl,
    custom: client.CustomObjectsApi,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    """A failed ``test`` op is 422 and none of the patch's other operations are applied."""
    created = make_stepper("j2", [10])
    operations = [
        {"op": "replace", "path": "/spec/steps/0", "value": 50},
        {"op": "test", "path": "/spec/steps/0", "value": 10},
    ]
    result = kubectl.run(
        "patch",
        "-n",
        namespace,
        "stepper",
        "j2",
        "--type",
        "json",
        "-p",
        json.dumps(operations),
        check=False,
    )
    assert result.returncode != 0
    assert "testing value /spec/steps/0 failed" in result.stderr
    answer = raw_patch(custom, f"namespaces/{namespace}/steppers/j2", JSON_PATCH, operations)
    assert answer.status_code == 422
    live = custom.get_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], "j2")
    assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_strategic_merge_patch_on_a_virtualservice_is_415(
    kubectl: Kubectl, istio_crds: Path, namespace: str
) -> None:
    """Custom resources take no strategic merge patch, as on a real API server."""
    kubectl.run(
        "apply",
        "-n",
        namespace,
        "-f",
        str(istio_crds / "bookinfo" / "virtual-service-reviews-v3.yaml"),
    )
    result = kubectl.run(
        "patch",
        "-n",
        namespace,
        "virtualservice",
        "reviews",
        "--type",
        "strategic",
        "-p",
        '{"spec":{"hosts":["other"]}}',
        check=False,
    )
    assert result.returncode != 0
    assert "UnsupportedMediaType" in result.stderr or "unknown format" in result.stderr
    assert "application/strategic-merge-patch+json is not supported" in result.stderr


def test_strategic_merge_patch_from_the_python_client_on_a_custom_object_is_415(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    make_stepper("sm", [10])
    answer = raw_patch(
        custom, f"namespaces/{namespace}/steppers/sm", STRATEGIC, {"spec": {"steps": [1]}}
    )
    assert answer.status_code == 415
    assert answer.json()["reason"] == "UnsupportedMediaType"


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "reviews-v3", "labels": {"app": "reviews"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "reviews"}},
        "template": {
            "metadata": {"labels": {"app": "reviews"}},
            "spec": {
                "containers": [
                    {
                        "name": "reviews",
                        "image": "reviews:v3",
                        "ports": [{"containerPort": 9080}],
                        "env": [{"name": "LOG_DIR", "value": "/tmp/logs"}],
                    },
                    {"name": "sidecar", "image": "proxy:1"},
                ]
            },
        },
    },
}


def test_kubectl_apply_updates_a_deployment_with_strategic_merge(
    kubectl: Kubectl, namespace: str
) -> None:
    """Built-ins take kubectl apply's strategic patch: containers merge by name."""
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(DEPLOYMENT))
    changed = json.loads(json.dumps(DEPLOYMENT))
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "reviews:v4"
    changed["spec"]["replicas"] = 3
    result = kubectl.run("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(changed))
    assert "configured" in result.stdout
    assert "warning" not in result.stderr.lower()
    live = kubectl.json("get", "-n", namespace, "deployment", "reviews-v3")
    containers = live["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["reviews", "sidecar"]
    assert containers[0]["image"] == "reviews:v4"
    assert containers[0]["env"] == [{"name": "LOG_DIR", "value": "/tmp/logs"}]
    assert live["spec"]["replicas"] == 3
    assert live["metadata"]["generation"] == 2


def test_kubectl_label_and_annotate_patch_metadata(
    kubectl: Kubectl, core: client.CoreV1Api, namespace: str
) -> None:
    kubectl.run("label", "namespace", namespace, "istio-injection=enabled")
    kubectl.run("annotate", "namespace", namespace, "owner=sre")
    live = core.read_namespace(namespace)
    assert live.metadata.labels["istio-injection"] == "enabled"
    assert live.metadata.annotations["owner"] == "sre"
