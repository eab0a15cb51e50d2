"""The CRD is generated from the models, committed up to date, structural, and agrees with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from controller.api.crd import GENERATED_HEADER, crd_manifest
from controller.api.trafficshift import TrafficShift
from tests.unit.api.test_trafficshift import VALID, with_change

CRD_PATH = Path(__file__).resolve().parents[3] / "config" / "crd" / "trafficshift.yaml"
FORBIDDEN_IN_STRUCTURAL = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "const", "title"}


def schema() -> dict[str, Any]:
    version = crd_manifest()["spec"]["versions"][0]
    return dict(version["schema"]["openAPIV3Schema"])


def walk_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        keys = set(node)
        for key, value in node.items():
            keys |= (
                walk_keys(value)
                if key != "properties"
                else set().union(*(walk_keys(v) for v in value.values()))
            )
        return keys
    if isinstance(node, list):
        return set().union(*(walk_keys(v) for v in node)) if node else set()
    return set()


def test_committed_crd_is_up_to_date() -> None:
    """Regenerate with `make crd` when this fails."""
    expected = GENERATED_HEADER + yaml.safe_dump(crd_manifest(), sort_keys=False)
    assert CRD_PATH.read_text(encoding="utf-8") == expected, "run `make crd` and commit"


def test_crd_identity_subresource_and_printer_columns() -> None:
    crd = crd_manifest()
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "trafficshifts.weightgate.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["shortNames"] == ["tshift"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = [c["name"].upper() for c in version["additionalPrinterColumns"]]
    assert columns == ["PHASE", "WEIGHT", "STEP", "AGE"]


def test_schema_is_structural() -> None:
    assert not walk_keys(schema()) & FORBIDDEN_IN_STRUCTURAL


def test_every_object_node_has_a_type() -> None:
    def check(node: dict[str, Any], path: str) -> None:
        assert "type" in node, f"{path} has no type"
        for name, child in node.get("properties", {}).items():
            check(child, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            check(node["items"], f"{path}[]")

    check(schema(), "")


def openapi_validator() -> jsonschema.Draft4Validator:
    # OpenAPI 3.0 schemas are close to draft 4 (boolean exclusiveMinimum); `nullable` is
    # emulated by dropping nulls before validation.
    return jsonschema.Draft4Validator(schema())


def test_valid_shift_passes_the_crd_schema() -> None:
    manifest = TrafficShift.model_validate(VALID).to_manifest()
    assert list(openapi_validator().iter_errors(manifest)) == []


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("spec.steps", [50, 120]),
        ("spec.interval", "30 seconds"),
        ("spec.paused", "yes"),
        ("spec.analysis.onNoData", "ignore"),
        ("spec.analysis.failureLimit", 0),
    ],
)
def test_crd_schema_rejects_what_the_models_reject(change: str, value: Any) -> None:
    doc = with_change(change, value)
    assert list(openapi_validator().iter_errors(doc)), f"schema accepted {change}={value!r}"
