"""Istio's networking CRDs and the bookinfo start state, as the sandbox registers them.

A real cluster has Istio's own CRDs; the sandbox needs the two weightgate touches
(VirtualService, DestinationRule), served at networking.istio.io v1, v1beta1 and v1alpha3 like a
current Istio. The schemas here are written for the sandbox: they type the fields weightgate and
the mesh read (hosts, http routes, destinations, weights, subsets) and keep every other field, so
manifests written for a real Istio apply unchanged.
"""

from __future__ import annotations

from typing import Any

ISTIO_GROUP = "networking.istio.io"
SERVED_VERSIONS = ("v1", "v1beta1", "v1alpha3")
STORAGE_VERSION = "v1"
BOOKINFO_NAMESPACE = "bookinfo"


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _strings() -> dict[str, Any]:
    return {"type": "array", "items": _string()}


def _open_object(**properties: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if properties:
        node["properties"] = properties
    return node


def _destination() -> dict[str, Any]:
    port = _open_object(number={"type": "integer", "minimum": 0, "maximum": 4294967295})
    node = _open_object(host=_string(), subset=_string(), port=port)
    node["required"] = ["host"]
    return node


def _route_destinations() -> dict[str, Any]:
    entry = _open_object(
        destination=_destination(),
        weight={"type": "integer", "minimum": 0, "maximum": 100},
    )
    entry["required"] = ["destination"]
    return {"type": "array", "items": entry}


def virtual_service_schema() -> dict[str, Any]:
    http_route = _open_object(
        name=_string(),
        match={"type": "array", "items": _open_object()},
        route=_route_destinations(),
        timeout=_string(),
        retries=_open_object(),
        fault=_open_object(),
        mirror=_destination(),
        headers=_open_object(),
    )
    spec = _open_object(
        hosts=_strings(),
        gateways=_strings(),
        exportTo=_strings(),
        http={"type": "array", "items": http_route},
        tcp={"type": "array", "items": _open_object(route=_route_destinations())},
        tls={"type": "array", "items": _open_object(route=_route_destinations())},
    )
    return _open_object(spec=spec, status=_open_object())


def destination_rule_schema() -> dict[str, Any]:
    subset = _open_object(
        name=_string(),
        labels={"type": "object", "additionalProperties": _string()},
        trafficPolicy=_open_object(),
    )
    subset["required"] = ["name"]
    spec = _open_object(
        host=_string(),
        subsets={"type": "array", "items": subset},
        trafficPolicy=_open_object(),
        exportTo=_strings(),
    )
    spec["required"] = ["host"]
    return _open_object(spec=spec, status=_open_object())


def _crd(kind: str, plural: str, short: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{ISTIO_GROUP}"},
        "spec": {
            "group": ISTIO_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short],
                "categories": ["istio-io", "networking-istio-io"],
            },
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": version == STORAGE_VERSION,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema},
                }
                for version in SERVED_VERSIONS
            ],
        },
    }


def istio_crds() -> list[dict[str, Any]]:
    return [
        _crd("VirtualService", "virtualservices", "vs", virtual_service_schema()),
        _crd("DestinationRule", "destinationrules", "dr", destination_rule_schema()),
    ]


def bookinfo_start_state(namespace: str = BOOKINFO_NAMESPACE) -> list[dict[str, Any]]:
    """Istio's traffic-shifting start: reviews subsets v1/v2/v3, all traffic on v1."""
    group_version = f"{ISTIO_GROUP}/{STORAGE_VERSION}"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": group_version,
            "kind": "DestinationRule",
            "metadata": {"name": "reviews", "namespace": namespace},
            "spec": {
                "host": "reviews",
                "subsets": [
                    {"name": version, "labels": {"version": version}}
                    for version in ("v1", "v2", "v3")
                ],
            },
        },
        {
            "apiVersion": group_version,
            "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": namespace},
            "spec": {
                "hosts": ["reviews"],
                "http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}],
            },
        },
    ]
