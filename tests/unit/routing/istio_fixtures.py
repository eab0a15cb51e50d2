"""Test access to the shared Istio fixtures: bookinfo manifests and the VirtualService schema.

The fixtures live in `<repo>/../shared/fixtures/istio`; tests that need them skip with a reason
when a clone has no shared folder beside it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ISTIO = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "istio"
BOOKINFO = ISTIO / "bookinfo"

needs_istio_fixtures = pytest.mark.skipif(
    not ISTIO.is_dir(), reason=f"shared Istio fixtures not found at {ISTIO}"
)

_INT32 = (-(2**31), 2**31 - 1)


def bookinfo_doc(file_name: str, name: str, kind: str = "VirtualService") -> dict[str, Any]:
    """The document of `kind` named `name` in a (multi-document) bookinfo YAML file."""
    with (BOOKINFO / file_name).open() as stream:
        docs = [doc for doc in yaml.safe_load_all(stream) if doc]
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{file_name} has {len(matches)} {kind} named {name}"
    doc: dict[str, Any] = matches[0]
    return doc


@functools.cache
def vs_spec_validator() -> jsonschema.Draft7Validator:
    """A validator of VirtualService specs built from the v1 openAPIV3Schema of Istio's CRD.

    `x-kubernetes-*` keys are dropped. Unknown fields are rejected, as `kubectl apply` does with
    strict field validation, so a misspelt key (`weigth`) fails instead of passing silently.
    """
    with (ISTIO / "crds" / "virtualservices.yaml").open() as stream:
        crd = yaml.safe_load(stream)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = _structural(version["schema"]["openAPIV3Schema"]["properties"]["spec"])
    checker = jsonschema.FormatChecker()
    checker.checks("int32")(lambda value: not isinstance(value, int) or _in_int32(value))
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def _in_int32(value: int) -> bool:
    return _INT32[0] <= value <= _INT32[1]


def _structural(node: Any) -> Any:
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _structural(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out
