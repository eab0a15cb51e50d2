"""Watches: every change in order for the Python client and kubectl -w; 410 for old versions."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from controller.sandbox.apiserver import write_kubeconfig
from controller.sandbox.apiserver.process import ApiServerProcess

from .conftest import STEPPERS, Kubectl


def _collect(stream: Iterator[dict[str, Any]], into: list[tuple[str, str, str]], want: int) -> None:
    for event in stream:
        obj = event["object"]
        into.append((event["type"], obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))
        if len(into) >= want:
            return


def _changes(custom: client.CustomObjectsApi, namespace: str) -> None:
    args = (*STEPPERS[:2], namespace, STEPPERS[2])
    custom.create_namespaced_custom_object(
        *args,
        {
            "apiVersion": "test.weightgate.dev/v1",
            "kind": "Stepper",
            "metadata": {"name": "w2"},
            "spec": {"steps": [1]},
        },
    )
    custom.patch_namespaced_custom_object(*args, "w1", {"spec": {"steps": [50]}})
    custom.patch_namespaced_custom_object_status(*args, "w1", {"status": {"phase": "Ready"}})
    custom.delete_namespaced_custom_object(*args, "w2")


EXPECTED = [
    ("MODIFIED", "w1"),
    ("ADDED", "w2"),
    ("MODIFIED", "w1"),
    ("MODIFIED", "w1"),
    ("DELETED", "w2"),
]


def test_python_client_watch_sees_every_change_in_order(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    make_stepper("w1", [10])
    listed = custom.list_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2])
    custom.patch_namespaced_custom_object(
        *STEPPERS[:2], namespace, STEPPERS[2], "w1", {"metadata": {"labels": {"seen": "yes"}}}
    )
    events: list[tuple[str, str, str]] = []
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        *STEPPERS[:2],
        namespace,
        STEPPERS[2],
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=10,
    )
    collector = threading.Thread(target=_collect, args=(stream, events, len(EXPECTED)))
    collector.start()
    _changes(custom, namespace)
    collector.join(timeout=15)
    assert [(kind, name) for kind, name, _ in events] == EXPECTED
    versions = [int(rv) for _, _, rv in events]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)


def test_watch_without_resource_version_starts_with_the_current_objects(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    make_stepper("existing", [10])
    events: list[tuple[str, str, str]] = []
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        *STEPPERS[:2],
        namespace,
        STEPPERS[2],
        timeout_seconds=2,
    )
    _collect(stream, events, 1)
    assert events[0][:2] == ("ADDED", "existing")


def test_watch_times_out_after_timeout_seconds(core: client.CoreV1Api, namespace: str) -> None:
    started = time.monotonic()
    events = list(
        watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version="1", timeout_seconds=1
        )
    )
    elapsed = time.monotonic() - started
    assert events == []
    assert 0.9 <= elapsed < 5


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


def _wait_for(lines: queue.Queue[str], seen: list[str], count: int, deadline: float) -> None:
    while len(seen) < count and time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.2))
        except queue.Empty:
            continue


def test_kubectl_get_watch_sees_every_change_in_order(
    kubectl: Kubectl,
    custom: client.CustomObjectsApi,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    """kubectl get -w --output-watch-events in the background, read with a deadline."""
    make_stepper("w1", [10])
    process = subprocess.Popen(
        kubectl.argv("get", "-n", namespace, "steppers", "-w", "--output-watch-events"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        _wait_for(lines, seen, 2, time.monotonic() + 10)
        assert seen[0].split()[:2] == ["EVENT", "NAME"]
        assert seen[1].split()[:2] == ["ADDED", "w1"]
        custom.patch_namespaced_custom_object(
            *STEPPERS[:2], namespace, STEPPERS[2], "w1", {"metadata": {"labels": {"x": "y"}}}
        )
        _changes(custom, namespace)
        _wait_for(lines, seen, 2 + len(EXPECTED), time.monotonic() + 10)
    finally:
        process.terminate()
        process.wait(timeout=10)
    observed = [tuple(line.split()[:2]) for line in seen[2:]]
    assert observed == EXPECTED
    assert seen[-2].split()[:3] == ["MODIFIED", "w1", "Ready"]


@pytest.fixture(scope="module")
def short_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    """A server that keeps only 3 watch events, so older resourceVersions expire fast."""
    with ApiServerProcess(history_limit=3) as process:
        path = write_kubeconfig(tmp_path_factory.mktemp("short") / "config", process.url)
        yield config.new_client_from_config(config_file=str(path))


def _write_five(core: client.CoreV1Api) -> str:
    first = core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="old"), data={"n": "0"})
    )
    for number in range(1, 5):
        core.patch_namespaced_config_map("old", "default", {"data": {"n": str(number)}})
    return str(first.metadata.resource_version)


def test_watch_from_a_too_old_resource_version_gets_410(short_history: client.ApiClient) -> None:
    """The server sends an ERROR event with a 410 Status; the client raises ApiException(410)."""
    core = client.CoreV1Api(short_history)
    old = _write_five(core)
    response = core.list_namespaced_config_map(
        "default", watch=True, resource_version=old, timeout_seconds=2, _preload_content=False
    )
    first = json.loads(response.readline())
    assert first["type"] == "ERROR"
    assert first["object"]["code"] == 410
    assert first["object"]["reason"] == "Expired"
    with pytest.raises(ApiException) as caught:
        list(
            watch.Watch().stream(
                core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=2
            )
        )
    assert caught.value.status == 410


def test_exact_list_at_a_too_old_resource_version_is_http_410(
    short_history: client.ApiClient,
) -> None:
    core = client.CoreV1Api(short_history)
    core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="exact"))
    )
    listed = core.list_namespaced_config_map("default")
    rv = listed.metadata.resource_version
    same = core.list_namespaced_config_map(
        "default", resource_version=rv, resource_version_match="Exact"
    )
    assert [i.metadata.name for i in same.items] == [i.metadata.name for i in listed.items]
    for number in range(5):
        core.patch_namespaced_config_map("exact", "default", {"data": {"n": str(number)}})
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map(
            "default", resource_version=rv, resource_version_match="Exact"
        )
    assert caught.value.status == 410
