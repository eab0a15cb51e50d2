"""Fault injection from Python (admin endpoint) and from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from controller.sandbox.apiserver.admin import clear_faults, inject_fault, list_faults
from controller.sandbox.apiserver.process import ApiServerProcess

from .conftest import STEPPERS, Kubectl


@pytest.fixture(autouse=True)
def no_faults_left(server: ApiServerProcess) -> None:
    clear_faults(server.url)


def _patch(custom: client.CustomObjectsApi, namespace: str, value: int) -> dict[str, Any]:
    patched: dict[str, Any] = custom.patch_namespaced_custom_object(
        *STEPPERS[:2], namespace, STEPPERS[2], "f", {"spec": {"steps": [value]}}
    )
    return patched


def test_next_two_patches_answer_503_then_patches_succeed(
    server: ApiServerProcess,
    custom: client.CustomObjectsApi,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    make_stepper("f", [1])
    inject_fault(server.url, verb="patch", resource="steppers", status=503, count=2)
    for attempt in (2, 3):
        with pytest.raises(ApiException) as caught:
            _patch(custom, namespace, attempt)
        assert caught.value.status == 503
        assert json.loads(caught.value.body)["reason"] == "ServiceUnavailable"
    assert _patch(custom, namespace, 4)["spec"]["steps"] == [4]
    assert list_faults(server.url) == []


def test_faults_match_only_their_verb_resource_and_name(
    server: ApiServerProcess,
    custom: client.CustomObjectsApi,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    make_stepper("f", [1])
    inject_fault(server.url, verb="patch", resource="steppers", name="other", status=500, count=1)
    inject_fault(server.url, verb="get", resource="steppers/status", status=500, count=1)
    assert _patch(custom, namespace, 2)["spec"]["steps"] == [2]
    custom.get_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], "f")
    assert len(list_faults(server.url)) == 2


def test_forbidden_fault_reads_like_rbac_in_kubectl(
    server: ApiServerProcess,
    kubectl: Kubectl,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    make_stepper("f", [1])
    inject_fault(server.url, verb="get", resource="steppers.test.weightgate.dev", status=403)
    result = kubectl.run("get", "-n", namespace, "stepper", "f", check=False)
    assert result.returncode != 0
    assert "Forbidden" in result.stderr
    assert 'cannot get resource "steppers"' in result.stderr
    assert kubectl.run("get", "-n", namespace, "stepper", "f").returncode == 0


def test_latency_fault_delays_the_matching_request(
    server: ApiServerProcess, core: client.CoreV1Api, namespace: str
) -> None:
    inject_fault(server.url, verb="list", resource="configmaps", latency_ms=400, count=1)
    started = time.monotonic()
    core.list_namespaced_config_map(namespace)
    slow = time.monotonic() - started
    started = time.monotonic()
    core.list_namespaced_config_map(namespace)
    fast = time.monotonic() - started
    assert slow >= 0.4
    assert fast < 0.4


def test_probabilistic_fault_is_replayable_with_a_seed(
    server: ApiServerProcess, core: client.CoreV1Api, namespace: str
) -> None:
    """With the same seed the same requests fail; some but not all of them do."""

    def outcomes() -> list[int]:
        inject_fault(
            server.url,
            verb="list",
            resource="configmaps",
            status=500,
            count=None,
            probability=0.5,
            seed=7,
        )
        codes = []
        for _ in range(20):
            try:
                core.list_namespaced_config_map(namespace)
                codes.append(200)
            except ApiException as error:
                codes.append(error.status)
        clear_faults(server.url)
        return codes

    first, second = outcomes(), outcomes()
    assert first == second
    assert 0 < first.count(500) < 20


def test_fault_command_line_injects_a_conflict(
    server: ApiServerProcess,
    custom: client.CustomObjectsApi,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    make_stepper("f", [1])
    command = [
        sys.executable,
        "-m",
        "controller.sandbox.apiserver",
        "fault",
        "--url",
        server.url,
        "--verb",
        "patch",
        "--resource",
        "steppers",
        "--status",
        "409",
        "--count",
        "1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == 409
    with pytest.raises(ApiException) as caught:
        _patch(custom, namespace, 2)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["reason"] == "Conflict"
    assert _patch(custom, namespace, 3)["spec"]["steps"] == [3]


def test_fault_command_line_rejects_an_unknown_verb(server: ApiServerProcess) -> None:
    command = [
        sys.executable,
        "-m",
        "controller.sandbox.apiserver",
        "fault",
        "--url",
        server.url,
        "--verb",
        "frobnicate",
        "--status",
        "500",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert "unknown verb 'frobnicate'" in result.stderr
