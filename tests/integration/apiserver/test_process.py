"""The server as a process: state file across restarts, clean exit on SIGTERM."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

from kubernetes import client, config

from controller.sandbox.apiserver import write_kubeconfig
from controller.sandbox.apiserver.process import ApiServerProcess


def _core(url: str, tmp_path: Path) -> client.CoreV1Api:
    path = write_kubeconfig(tmp_path / f"config-{urlsplit(url).port}", url)
    return client.CoreV1Api(config.new_client_from_config(config_file=str(path)))


def test_state_file_keeps_objects_and_resource_versions_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with ApiServerProcess(state_file=state) as first:
        core = _core(first.url, tmp_path)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="bookinfo")))
        created = core.create_namespaced_config_map(
            "bookinfo",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name="kept"), data={"a": "1"}),
        )
    assert json.loads(state.read_text())["resourceVersion"] >= 2
    with ApiServerProcess(state_file=state) as second:
        core = _core(second.url, tmp_path)
        kept = core.read_namespaced_config_map("kept", "bookinfo")
        assert kept.data == {"a": "1"}
        assert kept.metadata.uid == created.metadata.uid
        assert kept.metadata.resource_version == created.metadata.resource_version
        updated = core.patch_namespaced_config_map("kept", "bookinfo", {"data": {"a": "2"}})
        assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)


def test_crds_in_the_state_file_are_served_again_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    with ApiServerProcess(state_file=state) as first:
        api = client.ApiextensionsV1Api(_core(first.url, tmp_path).api_client)
        api.create_custom_resource_definition(body=crd)
        custom = client.CustomObjectsApi(api.api_client)
        custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", widget)
    with ApiServerProcess(state_file=state) as second:
        custom = client.CustomObjectsApi(_core(second.url, tmp_path).api_client)
        listed = custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
        assert [i["metadata"]["name"] for i in listed["items"]] == ["w"]


def test_sigterm_exits_cleanly_and_frees_the_port(tmp_path: Path) -> None:
    """Exit code 0 within the timeout even with a watch open; the port can be bound again."""
    process = ApiServerProcess(log_file=tmp_path / "server.log").start()
    port = urlsplit(process.url).port
    assert port is not None
    watch = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        watch.request("GET", "/api/v1/namespaces?watch=true")
        response = watch.getresponse()
        assert response.status == 200
        assert process.stop(timeout=5) == 0
        response.read()
        with socket.socket() as probe:
            # As a restarted server would: TIME_WAIT leftovers are fine, a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
            probe.listen()
    finally:
        watch.close()
        process.close()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_ready_file_holds_the_url_of_a_listening_server(tmp_path: Path) -> None:
    with ApiServerProcess() as process:
        version = client.VersionApi(_core(process.url, tmp_path).api_client).get_code()
        assert version.major == "1"
        assert process.url.startswith("http://127.0.0.1:")
