"""``GET /admin/requests``: every API request counted once, by verb and resource, and the admin
endpoint itself never counted."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client, watch

from controller.sandbox.apiserver.admin import REQUESTS_PATH, request_counts
from controller.sandbox.apiserver.process import ApiServerProcess

from .conftest import Kubectl


def _delta(before: dict[str, Any], after: dict[str, Any], plural: str) -> dict[str, int]:
    old = before["byResourceVerb"].get(plural, {})
    new = after["byResourceVerb"].get(plural, {})
    return {verb: new[verb] - old.get(verb, 0) for verb in new if new[verb] != old.get(verb, 0)}


def test_each_client_call_counts_once_under_its_verb_and_resource(
    server: ApiServerProcess, core: client.CoreV1Api, namespace: str
) -> None:
    before = request_counts(server.url)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="counted"), data={"a": "1"})
    core.create_namespaced_config_map(namespace, body)
    current = core.read_namespaced_config_map("counted", namespace)
    core.list_namespaced_config_map(namespace)
    current.data = {"a": "2"}
    core.replace_namespaced_config_map("counted", namespace, current)
    core.patch_namespaced_config_map("counted", namespace, {"data": {"a": "3"}})
    for _event in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, timeout_seconds=1
    ):
        pass
    core.delete_namespaced_config_map("counted", namespace)
    after = request_counts(server.url)

    assert _delta(before, after, "configmaps") == {
        "create": 1,
        "get": 1,
        "list": 1,
        "update": 1,
        "patch": 1,
        "watch": 1,
        "delete": 1,
    }
    assert after["total"] - before["total"] == 7
    assert after["byVerb"]["watch"] - before["byVerb"].get("watch", 0) == 1


def test_admin_reads_are_not_counted_and_only_get_is_allowed(server: ApiServerProcess) -> None:
    first = request_counts(server.url)
    second = request_counts(server.url)
    assert second == first
    request = urllib.request.Request(server.url + REQUESTS_PATH, data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
    assert request_counts(server.url) == first


def test_kubectl_discovery_counts_as_non_resource_and_its_list_as_one_list(
    server: ApiServerProcess, kubectl: Kubectl, namespace: str
) -> None:
    before = request_counts(server.url)
    kubectl.run("get", "configmaps", "-n", namespace)
    after = request_counts(server.url)
    assert _delta(before, after, "configmaps") == {"list": 1}
    assert after["nonResource"] > before["nonResource"]  # a fresh cache dir: discovery first
    resource_requests = sum(after["byResource"].values()) - sum(before["byResource"].values())
    non_resource = after["nonResource"] - before["nonResource"]
    assert after["total"] - before["total"] == resource_requests + non_resource
