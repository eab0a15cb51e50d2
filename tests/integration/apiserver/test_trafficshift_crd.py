"""The project's own TrafficShift CRD (config/crd/) served by the sandbox, with its schema."""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from .conftest import REPO, Kubectl

CRD_DIR = REPO / "config" / "crd"
SAMPLE = REPO / "config" / "samples" / "bookinfo-reviews-v3.yaml"
TRAFFICSHIFTS = ("weightgate.dev", "v1alpha1", "trafficshifts")


@pytest.fixture(scope="module")
def trafficshift_crd(kubectl: Kubectl) -> None:
    result = kubectl.run("apply", "-f", str(CRD_DIR))
    assert "customresourcedefinition.apiextensions.k8s.io/trafficshifts.weightgate.dev" in (
        result.stdout
    )
    kubectl.run(
        "apply", "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo}\n"
    )


def test_kubectl_applies_the_sample_trafficshift_and_prints_its_columns(
    kubectl: Kubectl, trafficshift_crd: None
) -> None:
    kubectl.run("apply", "-f", str(SAMPLE))
    applied = kubectl.json("get", "-n", "bookinfo", "trafficshift", "reviews-v3")
    assert applied["spec"]["steps"] == yaml.safe_load(SAMPLE.read_text())["spec"]["steps"]
    header = kubectl.run("get", "-n", "bookinfo", "tshift").stdout.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "WEIGHT", "STEP", "AGE"]


def test_an_out_of_range_step_is_422_naming_spec_steps(
    kubectl: Kubectl, custom: client.CustomObjectsApi, trafficshift_crd: None
) -> None:
    shift = yaml.safe_load(SAMPLE.read_text())
    shift["metadata"]["name"] = "bad-steps"
    shift["spec"]["steps"] = [50, 150]
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            *TRAFFICSHIFTS[:2], "bookinfo", TRAFFICSHIFTS[2], shift
        )
    assert caught.value.status == 422
    status = json.loads(caught.value.body)
    assert status["message"].startswith(
        'TrafficShift.weightgate.dev "bad-steps" is invalid: spec.steps[1]: Invalid value: 150'
    )
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.steps[1]"]
    result = kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(shift), check=False)
    assert result.returncode != 0
    assert "spec.steps[1]" in result.stderr


def test_a_trafficshift_missing_required_fields_is_422(
    custom: client.CustomObjectsApi, trafficshift_crd: None
) -> None:
    shift = {
        "apiVersion": "weightgate.dev/v1alpha1",
        "kind": "TrafficShift",
        "metadata": {"name": "empty"},
        "spec": {"virtualService": "reviews"},
    }
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            *TRAFFICSHIFTS[:2], "bookinfo", TRAFFICSHIFTS[2], shift
        )
    assert caught.value.status == 422
    fields = {c["field"] for c in json.loads(caught.value.body)["details"]["causes"]}
    assert {"spec.stable", "spec.canary", "spec.steps"} <= fields
