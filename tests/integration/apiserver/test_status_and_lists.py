"""Status subresource, generation, label/field selectors and Table output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from .conftest import STEPPERS, Kubectl


def _get(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = custom.get_namespaced_custom_object(
        *STEPPERS[:2], namespace, STEPPERS[2], name
    )
    return obj


def test_status_writes_change_only_status_and_keep_generation(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    make_stepper("st", [10])
    patched = custom.patch_namespaced_custom_object_status(
        *STEPPERS[:2],
        namespace,
        STEPPERS[2],
        "st",
        {"status": {"phase": "Progressing"}, "spec": {"steps": [99]}},
    )
    assert patched["status"] == {"phase": "Progressing"}
    assert patched["spec"]["steps"] == [10]
    assert patched["metadata"]["generation"] == 1
    current = _get(custom, namespace, "st")
    current["status"]["phase"] = "Succeeded"
    replaced = custom.replace_namespaced_custom_object_status(
        *STEPPERS[:2], namespace, STEPPERS[2], "st", current
    )
    assert replaced["status"]["phase"] == "Succeeded"
    fetched = custom.get_namespaced_custom_object_status(
        *STEPPERS[:2], namespace, STEPPERS[2], "st"
    )
    assert fetched["status"]["phase"] == "Succeeded"


def test_main_resource_writes_ignore_status(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    """With the status subresource, status in a create or update body is dropped."""
    body = {
        "apiVersion": "test.weightgate.dev/v1",
        "kind": "Stepper",
        "metadata": {"name": "ign"},
        "spec": {"steps": [1]},
        "status": {"phase": "Fake"},
    }
    created = custom.create_namespaced_custom_object(*STEPPERS[:2], namespace, STEPPERS[2], body)
    assert "status" not in created
    custom.patch_namespaced_custom_object_status(
        *STEPPERS[:2], namespace, STEPPERS[2], "ign", {"status": {"phase": "Real"}}
    )
    patched = custom.patch_namespaced_custom_object(
        *STEPPERS[:2], namespace, STEPPERS[2], "ign", {"status": {"phase": "Overwritten"}}
    )
    assert patched["status"] == {"phase": "Real"}


def test_a_stale_status_update_is_409(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    stale = make_stepper("sst", [10])
    custom.patch_namespaced_custom_object(
        *STEPPERS[:2], namespace, STEPPERS[2], "sst", {"spec": {"steps": [11]}}
    )
    stale["status"] = {"phase": "Late"}
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object_status(
            *STEPPERS[:2], namespace, STEPPERS[2], "sst", stale
        )
    assert caught.value.status == 409


def test_generation_bumps_on_spec_changes_only(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    assert make_stepper("gen", [10])["metadata"]["generation"] == 1
    args = (*STEPPERS[:2], namespace, STEPPERS[2], "gen")
    labelled = custom.patch_namespaced_custom_object(*args, {"metadata": {"labels": {"a": "b"}}})
    assert labelled["metadata"]["generation"] == 1
    same = custom.patch_namespaced_custom_object(*args, {"spec": {"steps": [10]}})
    assert same["metadata"]["generation"] == 1
    changed = custom.patch_namespaced_custom_object(*args, {"spec": {"steps": [20]}})
    assert changed["metadata"]["generation"] == 2
    status = custom.patch_namespaced_custom_object_status(*args, {"status": {"phase": "x"}})
    assert status["metadata"]["generation"] == 2


def test_generation_of_objects_without_spec_counts_data_changes(
    core: client.CoreV1Api, namespace: str
) -> None:
    created = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="g"), data={"a": "1"})
    )
    assert created.metadata.generation == 1
    relabelled = core.patch_namespaced_config_map(
        "g", namespace, {"metadata": {"labels": {"x": "y"}}}
    )
    assert relabelled.metadata.generation == 1
    changed = core.patch_namespaced_config_map("g", namespace, {"data": {"a": "2"}})
    assert changed.metadata.generation == 2


def test_system_metadata_is_set_and_kept(
    custom: client.CustomObjectsApi, make_stepper: Callable[..., dict[str, Any]], namespace: str
) -> None:
    created = make_stepper("meta", [10])
    metadata = created["metadata"]
    assert metadata["uid"]
    assert metadata["creationTimestamp"].endswith("Z")
    updated = custom.patch_namespaced_custom_object(
        *STEPPERS[:2],
        namespace,
        STEPPERS[2],
        "meta",
        {"metadata": {"uid": metadata["uid"]}, "spec": {"steps": [2]}},
    )
    assert updated["metadata"]["uid"] == metadata["uid"]
    assert updated["metadata"]["creationTimestamp"] == metadata["creationTimestamp"]
    assert int(updated["metadata"]["resourceVersion"]) > int(metadata["resourceVersion"])


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=web", ["a", "b"]),
        ("tier==web", ["a", "b"]),
        ("tier!=web", ["c", "d"]),
        ("tier in (db,cache)", ["c"]),
        ("tier notin (web)", ["c", "d"]),
        ("canary", ["b"]),
        ("!canary", ["a", "c", "d"]),
        ("tier=web,canary", ["b"]),
    ],
)
def test_label_selectors_select_like_the_real_server(
    core: client.CoreV1Api, namespace: str, selector: str, expected: list[str]
) -> None:
    labels = {
        "a": {"tier": "web"},
        "b": {"tier": "web", "canary": "true"},
        "c": {"tier": "db"},
        "d": {},
    }
    for name, value in labels.items():
        core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=value))
        )
    listed = core.list_namespaced_config_map(namespace, label_selector=selector)
    assert [item.metadata.name for item in listed.items] == expected


def test_field_selector_and_list_across_namespaces(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pick-me"))
    )
    everywhere = core.list_config_map_for_all_namespaces(field_selector="metadata.name=pick-me")
    assert [(i.metadata.namespace, i.metadata.name) for i in everywhere.items] == [
        (namespace, "pick-me")
    ]
    scoped = core.list_config_map_for_all_namespaces(
        field_selector=f"metadata.namespace={namespace},metadata.name!=pick-me"
    )
    assert scoped.items == []


def test_kubectl_get_table_shows_crd_columns_and_label_selection(
    kubectl: Kubectl,
    custom: client.CustomObjectsApi,
    make_stepper: Callable[..., dict[str, Any]],
    namespace: str,
) -> None:
    make_stepper("tab", [1])
    custom.patch_namespaced_custom_object_status(
        *STEPPERS[:2], namespace, STEPPERS[2], "tab", {"status": {"phase": "Ready"}}
    )
    lines = kubectl.run("get", "-n", namespace, "stp").stdout.splitlines()
    assert lines[0].split() == ["NAME", "PHASE"]
    assert lines[1].split() == ["tab", "Ready"]
    all_namespaces = kubectl.run("get", "steppers", "-A", "-l", "nothing=here").stderr
    assert "No resources found" in all_namespaces


def test_python_client_load_kube_config_accepts_the_written_kubeconfig(
    kubectl: Kubectl,
) -> None:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubectl.kubeconfig), client_configuration=configuration)
    api = client.VersionApi(client.ApiClient(configuration))
    assert api.get_code().git_version.startswith("v1.")
