"""Turning an apiextensions.k8s.io/v1 CustomResourceDefinition into a served ResourceType.

Owns the checks a real server makes before accepting a CRD (name is ``plural.group``, names and
versions present, exactly one storage version) and the status it reports back once the CRD is
established, so ``kubectl wait --for condition=established`` works.
"""

from __future__ import annotations

from typing import Any

from .errors import Cause, JsonObject, invalid
from .registry import PrinterColumn, ResourceType, VersionInfo, sort_kube_versions

_CRD_KIND = "CustomResourceDefinition"
_CRD_GROUP = "apiextensions.k8s.io"


def _crd_invalid(name: str, causes: list[Cause]) -> Exception:
    return invalid(_CRD_KIND, _CRD_GROUP, name, causes)


def _required(field: str) -> Cause:
    return Cause("FieldValueRequired", "Required value", field)


def check_crd(crd: JsonObject) -> None:
    """Raise 422 Invalid when the CRD could not be served."""
    name = str(crd.get("metadata", {}).get("name", ""))
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[Cause] = []
    group, plural = spec.get("group"), names.get("plural")
    for field, value in (
        ("spec.group", group),
        ("spec.names.plural", plural),
        ("spec.names.kind", names.get("kind")),
        ("spec.scope", spec.get("scope")),
    ):
        if not value:
            causes.append(_required(field))
    if group and plural and name != f"{plural}.{group}":
        causes.append(
            Cause(
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                "metadata.name",
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        causes.append(_required("spec.versions"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            Cause(
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
                "spec.versions",
            )
        )
    if causes:
        raise _crd_invalid(name, causes)


def _columns(raw: list[JsonObject]) -> tuple[PrinterColumn, ...]:
    return tuple(
        PrinterColumn(
            name=str(c.get("name", "")),
            type=str(c.get("type", "string")),
            json_path=str(c.get("jsonPath", "")),
            description=str(c.get("description", "")),
            priority=int(c.get("priority", 0)),
            format=str(c.get("format", "")),
        )
        for c in raw
    )


def _version_info(version: JsonObject, spec: JsonObject) -> VersionInfo:
    # Top-level spec.validation / subresources are the v1beta1 shape; v1 keeps them per version.
    schema = (version.get("schema") or spec.get("validation") or {}).get("openAPIV3Schema")
    subresources: Any = version.get("subresources") or spec.get("subresources") or {}
    columns = version.get("additionalPrinterColumns") or spec.get("additionalPrinterColumns")
    return VersionInfo(
        name=str(version["name"]),
        schema=schema,
        printer_columns=_columns(columns or []),
        has_status="status" in subresources,
    )


def resource_type_of(crd: JsonObject) -> ResourceType:
    """The ResourceType a checked CRD serves (its served versions only)."""
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec.get("versions", []) if v.get("served", True)]
    order = sort_kube_versions(str(v["name"]) for v in served)
    infos = sorted((_version_info(v, spec) for v in served), key=lambda i: order.index(i.name))
    return ResourceType(
        group=str(spec["group"]),
        plural=str(names["plural"]),
        singular=str(names.get("singular") or str(names["kind"]).lower()),
        kind=str(names["kind"]),
        namespaced=spec.get("scope") == "Namespaced",
        versions=tuple(infos),
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        custom=True,
        list_kind=str(names.get("listKind") or ""),
    )


def established_status(crd: JsonObject, now: str) -> JsonObject:
    """The status a real server reports for a CRD whose names were accepted."""
    spec = crd["spec"]
    condition = {"status": "True", "lastTransitionTime": now}
    return {
        "acceptedNames": dict(spec["names"]),
        "conditions": [
            {
                **condition,
                "type": "NamesAccepted",
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                **condition,
                "type": "Established",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
        "storedVersions": [str(v["name"]) for v in spec.get("versions", []) if v.get("storage")],
    }
