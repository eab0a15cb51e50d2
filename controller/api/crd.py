"""Generating the TrafficShift CustomResourceDefinition from the pydantic models.

The models are the single source of truth; this turns their JSON Schema into the structural
OpenAPI v3 schema Kubernetes requires: ``$ref`` inlined, ``Optional`` as ``nullable``, ``const``
as a one-value ``enum``, draft-2020 exclusive bounds in OpenAPI 3.0 form, no ``additionalProperties:
false`` beside ``properties``, and metadata left to the API server. Defaults are not applied by
the API server (the controller applies them), but are stated in each description.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from controller.api.base import API_GROUP, API_VERSION
from controller.api.durations import format_duration
from controller.api.trafficshift import KIND, PLURAL, SHORT_NAME, TrafficShift

GENERATED_HEADER = (
    "# Generated from controller/api by `weightgate crd` (make crd). Do not edit by hand:\n"
    "# tests/unit/api/test_crd.py fails when this file is stale.\n"
)

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Weight", "type": "integer", "jsonPath": ".status.canaryWeight"},
    {"name": "Step", "type": "integer", "jsonPath": ".status.currentStep"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

_DROPPED_KEYS = {"title", "default", "$defs"}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    return {k: _resolve(v, defs) for k, v in node.items()}


_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def _shown_default(default: Any) -> str:
    if isinstance(default, bool):
        return str(default).lower()
    iso = _ISO_DURATION.match(str(default))
    if iso:  # pydantic writes timedelta defaults in ISO 8601; users write 30s / 5m
        hours, minutes, seconds = (int(g or 0) for g in iso.groups())
        return format_duration(timedelta(hours=hours, minutes=minutes, seconds=seconds))
    return str(default)


def _describe_default(node: dict[str, Any]) -> None:
    default = node.get("default")
    if default is None or default == "" or isinstance(default, dict | list):
        return
    shown = _shown_default(default)
    text = node.get("description", "").rstrip()
    node["description"] = f"{text} Default: {shown}.".strip()


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {type: null}]`` -> X with ``nullable: true``."""
    options = node.get("anyOf")
    if not isinstance(options, list):
        return node
    non_null = [o for o in options if o.get("type") != "null"]
    if len(non_null) != 1 or len(non_null) == len(options):
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    return {**non_null[0], **rest, "nullable": True}


def _structural(node: Any) -> Any:
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    _describe_default(node)
    node = _nullable(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "additionalProperties" and isinstance(value, bool):
            continue
        else:
            out[key] = _structural(value)
    return out


def openapi_schema() -> dict[str, Any]:
    """The structural openAPIV3Schema of the TrafficShift CRD."""
    raw = TrafficShift.model_json_schema(by_alias=True, mode="validation")
    schema: dict[str, Any] = _structural(_resolve(raw, raw.get("$defs", {})))
    properties = schema["properties"]
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = {"type": "object"}
    properties["status"].pop("nullable", None)
    schema["required"] = ["spec"]
    schema["description"] = (
        "TrafficShift moves one VirtualService route from a stable to a canary subset in "
        "steps, advancing only while Prometheus gates pass, and rolls back when they fail."
    )
    return schema


def crd_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": [SHORT_NAME],
                "categories": ["all", "weightgate"],
            },
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }
