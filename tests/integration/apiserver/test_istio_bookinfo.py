"""Istio's traffic-shifting task through real kubectl: CRDs, then the three VirtualService files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from .conftest import Kubectl

TUTORIAL_ORDER = (
    "virtual-service-all-v1.yaml",
    "virtual-service-reviews-50-v3.yaml",
    "virtual-service-reviews-v3.yaml",
)


def _reviews_spec(path: Path) -> dict[str, object]:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    spec: dict[str, object] = next(
        d["spec"] for d in documents if d["metadata"]["name"] == "reviews"
    )
    return spec


def test_istio_crds_register_virtualservice_in_every_served_version(
    kubectl: Kubectl, istio_crds: Path
) -> None:
    """kubectl apply of the Istio CRDs makes vs/dr resolvable in v1, v1beta1 and v1alpha3."""
    resources = kubectl.run("api-resources", "--api-group=networking.istio.io").stdout
    assert "virtualservices" in resources
    assert "vs" in resources
    assert "destinationrules" in resources
    versions = kubectl.run("api-versions").stdout.split()
    for version in ("v1", "v1beta1", "v1alpha3"):
        assert f"networking.istio.io/{version}" in versions


def test_bookinfo_virtualservices_apply_in_tutorial_order_and_read_back_equal(
    kubectl: Kubectl, istio_crds: Path, namespace: str
) -> None:
    """Each tutorial file applies (create, then update) and kubectl reads back the file's spec."""
    bookinfo = istio_crds / "bookinfo"
    for file_name in TUTORIAL_ORDER:
        path = bookinfo / file_name
        applied = kubectl.run("apply", "-n", namespace, "-f", str(path))
        assert "virtualservice.networking.istio.io/reviews" in applied.stdout
        live = yaml.safe_load(
            kubectl.run("get", "-n", namespace, "virtualservice", "reviews", "-o", "yaml").stdout
        )
        assert live["spec"] == _reviews_spec(path), file_name
        annotations = live["metadata"]["annotations"]
        assert "kubectl.kubernetes.io/last-applied-configuration" in annotations
    assert live["metadata"]["generation"] == 3


def test_virtualservice_is_served_in_v1alpha3_as_well_as_v1(
    kubectl: Kubectl, istio_crds: Path, namespace: str, custom: client.CustomObjectsApi
) -> None:
    """An object written in v1 reads back in v1alpha3 with the same spec (conversion None)."""
    kubectl.run("apply", "-n", namespace, "-f", str(istio_crds / "bookinfo" / TUTORIAL_ORDER[1]))
    old = custom.get_namespaced_custom_object(
        "networking.istio.io", "v1alpha3", namespace, "virtualservices", "reviews"
    )
    assert old["apiVersion"] == "networking.istio.io/v1alpha3"
    assert old["spec"] == _reviews_spec(istio_crds / "bookinfo" / TUTORIAL_ORDER[1])


def test_kubectl_get_prints_the_crd_printer_columns(
    kubectl: Kubectl, istio_crds: Path, namespace: str
) -> None:
    """kubectl get vs shows the CRD's additionalPrinterColumns (GATEWAYS, HOSTS, AGE)."""
    kubectl.run("apply", "-n", namespace, "-f", str(istio_crds / "bookinfo" / TUTORIAL_ORDER[0]))
    lines = kubectl.run("get", "-n", namespace, "vs").stdout.splitlines()
    assert lines[0].split() == ["NAME", "GATEWAYS", "HOSTS", "AGE"]
    reviews = next(line for line in lines if line.startswith("reviews "))
    assert '["reviews"]' in reviews


def test_destinationrules_apply_from_the_bookinfo_manifest(
    kubectl: Kubectl, istio_crds: Path, namespace: str
) -> None:
    """The bookinfo DestinationRules validate against the real Istio schema and read back."""
    kubectl.run(
        "apply", "-n", namespace, "-f", str(istio_crds / "bookinfo" / "destination-rule-all.yaml")
    )
    rule = kubectl.json("get", "-n", namespace, "dr", "reviews")
    assert [s["name"] for s in rule["spec"]["subsets"]] == ["v1", "v2", "v3"]


def test_an_invalid_virtualservice_is_rejected_with_the_field_path(
    kubectl: Kubectl, istio_crds: Path, namespace: str
) -> None:
    """A string weight fails the Istio schema: 422 naming spec.http[0].route[0].weight."""
    bad = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "bad"},
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": "fifty"}]}
            ],
        },
    }
    result = kubectl.run(
        "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(bad), check=False
    )
    assert result.returncode != 0
    assert "spec.http[0].route[0].weight" in result.stderr
    assert "must be of type integer" in result.stderr


@pytest.mark.parametrize("alias", ["virtualservices", "virtualservice", "vs"])
def test_kubectl_resolves_virtualservice_names_and_short_names(
    kubectl: Kubectl, istio_crds: Path, namespace: str, alias: str
) -> None:
    """Plural, singular and short name all resolve through discovery."""
    result = kubectl.run("get", "-n", namespace, alias)
    assert result.returncode == 0
