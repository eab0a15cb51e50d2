"""KubeClient against a real HTTP API server (the sandbox's): every verb the controller uses,
each error status mapped to our error type, and a streamed watch, so that the client's own
request path (not the generated ``call_api``, whose signature changed in kubernetes 35) is
proven on whichever generation of the package is installed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.kube.client import KubeClient, load_configuration
from controller.kube.errors import (
    ConflictError,
    GoneError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)
from controller.kube.resources import LEASES
from controller.sandbox.apiserver import ApiServer, write_kubeconfig

NS = "default"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[KubeClient]:
    with ApiServer(history_limit=5) as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
        kube = KubeClient(load_configuration(kubeconfig), timeout_seconds=5)
        yield kube
        kube.close()


def lease(name: str, holder: str = "a") -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"holderIdentity": holder},
    }


def test_create_get_list_replace_and_both_patches_round_trip(client: KubeClient) -> None:
    created = client.create(LEASES, NS, lease("one"))
    assert created["metadata"]["resourceVersion"]
    assert client.get(LEASES, NS, "one")["spec"] == {"holderIdentity": "a"}

    items, version = client.list_objects(LEASES, NS)
    assert [item["metadata"]["name"] for item in items] == ["one"]
    assert version

    replaced = client.replace(LEASES, {**created, "spec": {"holderIdentity": "b"}})
    assert replaced["spec"]["holderIdentity"] == "b"

    patched = client.json_patch(
        LEASES,
        NS,
        "one",
        [
            {"op": "test", "path": "/spec/holderIdentity", "value": "b"},
            {"op": "replace", "path": "/spec/holderIdentity", "value": "c"},
        ],
    )
    assert patched["spec"]["holderIdentity"] == "c"
    merged = client.merge_patch(LEASES, NS, "one", {"spec": {"leaseDurationSeconds": 15}})
    assert merged["spec"] == {"holderIdentity": "c", "leaseDurationSeconds": 15}


def test_each_error_status_is_our_error_type_with_the_servers_message(
    client: KubeClient,
) -> None:
    with pytest.raises(NotFoundError, match=r"get Lease default/missing: HTTP 404: .*missing"):
        client.get(LEASES, NS, "missing")

    created = client.create(LEASES, NS, lease("two"))
    with pytest.raises(ConflictError, match="HTTP 409"):
        client.create(LEASES, NS, lease("two"))
    client.replace(LEASES, {**created, "spec": {"holderIdentity": "b"}})
    with pytest.raises(ConflictError, match=r"update Lease default/two: HTTP 409"):
        client.replace(LEASES, {**created, "spec": {"holderIdentity": "stale"}})

    failing_test = [{"op": "test", "path": "/spec/holderIdentity", "value": "nobody"}]
    with pytest.raises(InvalidError, match=r"patch Lease default/two: HTTP 422"):
        client.json_patch(LEASES, NS, "two", failing_test)
    assert client.get(LEASES, NS, "two")["spec"]["holderIdentity"] == "b"


def test_a_watch_streams_events_in_order_and_a_too_old_version_is_gone(
    client: KubeClient,
) -> None:
    _, start = client.list_objects(LEASES, NS)
    created = client.create(LEASES, NS, lease("three"))
    client.replace(LEASES, {**created, "spec": {"holderIdentity": "b"}})
    events = client.watch(LEASES, NS, start, timeout_seconds=1)
    seen = [(event.type, event.object["spec"]["holderIdentity"]) for event in events]
    assert seen[:2] == [("ADDED", "a"), ("MODIFIED", "b")]

    for index in range(8):  # more changes than the server's history keeps (5)
        client.merge_patch(LEASES, NS, "three", {"spec": {"leaseDurationSeconds": index + 1}})
    with pytest.raises(GoneError, match="too old resource version"):
        list(client.watch(LEASES, NS, start, timeout_seconds=1))


def test_an_unreachable_server_is_unavailable_after_one_timeout(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    kube = KubeClient(load_configuration(kubeconfig), timeout_seconds=2)
    try:
        with pytest.raises(UnavailableError, match="get Lease default/x: API server unreachable"):
            kube.get(LEASES, NS, "x")
        with pytest.raises(UnavailableError, match="watch leases"):
            list(kube.watch(LEASES, NS, "1", timeout_seconds=1))
    finally:
        kube.close()
