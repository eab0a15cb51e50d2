"""Schema validation of custom resources (422 with field paths) and fieldValidation modes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from .conftest import STEPPERS, Kubectl, stepper


def _create(
    custom: client.CustomObjectsApi, namespace: str, body: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        *STEPPERS[:2], namespace, STEPPERS[2], body, **kwargs
    )
    return created


def test_out_of_range_step_from_python_client_is_422_naming_the_field(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any], namespace: str
) -> None:
    with pytest.raises(ApiException) as caught:
        _create(custom, namespace, stepper("bad", [10, 150]))
    assert caught.value.status == 422
    status = json.loads(caught.value.body)
    assert status["reason"] == "Invalid"
    assert status["message"] == (
        'Stepper.test.weightgate.dev "bad" is invalid: spec.steps[1]: Invalid value: 150: '
        "spec.steps[1] in body should be less than or equal to 100"
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": (
                "Invalid value: 150: spec.steps[1] in body should be less than or equal to 100"
            ),
            "field": "spec.steps[1]",
        }
    ]


def test_invalid_object_from_kubectl_reports_every_failed_field(
    kubectl: Kubectl, steps_crd: dict[str, Any], namespace: str
) -> None:
    body = stepper("bad2", [0, "x"], mode="sometimes")
    result = kubectl.run(
        "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(body), check=False
    )
    assert result.returncode != 0
    assert 'The Stepper "bad2" is invalid' in result.stderr
    assert "spec.steps[0]: Invalid value: 0" in result.stderr
    assert 'spec.steps[1]: Invalid value: "string"' in result.stderr
    assert 'spec.mode: Unsupported value: "sometimes"' in result.stderr


def test_missing_required_field_and_too_many_items_are_422(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any], namespace: str
) -> None:
    body = {
        "apiVersion": "test.weightgate.dev/v1",
        "kind": "Stepper",
        "metadata": {"name": "empty"},
        "spec": {"mode": "auto"},
    }
    with pytest.raises(ApiException) as missing:
        _create(custom, namespace, body)
    assert json.loads(missing.value.body)["details"]["causes"][0]["field"] == "spec.steps"
    with pytest.raises(ApiException) as too_many:
        _create(custom, namespace, stepper("many", [1, 2, 3, 4, 5, 6]))
    cause = json.loads(too_many.value.body)["details"]["causes"][0]
    assert cause["reason"] == "FieldValueTooMany"


def test_strict_field_validation_rejects_unknown_fields(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any], namespace: str
) -> None:
    """fieldValidation=Strict: a field the schema does not declare is a 400 BadRequest."""
    body = stepper("strict", [10])
    body["spec"]["colour"] = "blue"
    with pytest.raises(ApiException) as caught:
        _create(custom, namespace, body, field_validation="Strict")
    assert caught.value.status == 400
    assert 'unknown field "spec.colour"' in json.loads(caught.value.body)["message"]


def test_kubectl_apply_validates_strictly_by_default(
    kubectl: Kubectl, steps_crd: dict[str, Any], namespace: str
) -> None:
    body = stepper("strict2", [10])
    body["spec"]["colour"] = "blue"
    result = kubectl.run(
        "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(body), check=False
    )
    assert result.returncode != 0
    assert 'unknown field "spec.colour"' in result.stderr


@pytest.mark.parametrize("mode", ["Warn", "Ignore"])
def test_warn_and_ignore_accept_unknown_fields_and_prune_them(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any], namespace: str, mode: str
) -> None:
    body = stepper(f"lenient-{mode.lower()}", [10])
    body["spec"]["colour"] = "blue"
    created = _create(custom, namespace, body, field_validation=mode)
    assert "colour" not in created["spec"]


def test_preserve_unknown_fields_keeps_undeclared_fields_under_strict(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any], namespace: str
) -> None:
    created = _create(
        custom,
        namespace,
        stepper("free", [10], extra={"any": {"thing": 1}}),
        field_validation="Strict",
    )
    assert created["spec"]["extra"] == {"any": {"thing": 1}}


def test_strict_rejects_unknown_top_level_fields_of_built_ins(
    core: client.CoreV1Api, kubectl: Kubectl, namespace: str
) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "typo"},
        "dat": {"a": "b"},
    }
    result = kubectl.run(
        "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(manifest), check=False
    )
    assert result.returncode != 0
    assert 'unknown field "dat"' in result.stderr


def test_an_invalid_crd_is_rejected(kubectl: Kubectl) -> None:
    """The CRD's name must be plural.group, as a real server insists."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "wrong.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "things", "kind": "Thing"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        },
    }
    result = kubectl.run("apply", "-f", "-", stdin=json.dumps(crd), check=False)
    assert result.returncode != 0
    assert 'must be spec.names.plural+"."+spec.group' in result.stderr


def test_deleting_a_crd_removes_its_objects_and_its_endpoint(
    kubectl: Kubectl, custom: client.CustomObjectsApi, namespace: str
) -> None:
    crd = json.loads(
        json.dumps(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "gadgets.example.com"},
                "spec": {
                    "group": "example.com",
                    "scope": "Namespaced",
                    "names": {"plural": "gadgets", "kind": "Gadget"},
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
        )
    )
    kubectl.run("apply", "-f", "-", stdin=json.dumps(crd))
    custom.create_namespaced_custom_object(
        "example.com",
        "v1",
        namespace,
        "gadgets",
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
    )
    kubectl.run("delete", "crd", "gadgets.example.com")
    with pytest.raises(ApiException) as caught:
        custom.list_namespaced_custom_object("example.com", "v1", namespace, "gadgets")
    assert caught.value.status == 404
    kubectl.run("apply", "-f", "-", stdin=json.dumps(crd))
    listed = custom.list_namespaced_custom_object("example.com", "v1", namespace, "gadgets")
    assert listed["items"] == []


def test_make_stepper_fixture_creates_valid_objects(
    make_stepper: Callable[..., dict[str, Any]],
) -> None:
    """The valid baseline the 422 tests compare against is accepted."""
    created = make_stepper("ok", [1, 100], mode="manual")
    assert created["spec"] == {"steps": [1, 100], "mode": "manual"}
