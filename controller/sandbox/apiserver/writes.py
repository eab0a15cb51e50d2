"""Admission of one write: the checks and defaults between a request body and the store.

Given the body a client sent (or a patched object) and the object it replaces, ``admit`` returns
the object to store: kind and apiVersion checked, namespace and name checked against the URL,
schema validated and pruned (fieldValidation Strict/Warn/Ignore), system metadata stamped or
carried over, status kept apart when the type has a status subresource, generation bumped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from . import objects
from .errors import JsonObject, bad_request, invalid
from .registry import ResourceType
from .validation import validate_object

FIELD_VALIDATION_MODES = ("Strict", "Warn", "Ignore")


@dataclass(frozen=True)
class Target:
    """Which resource a request addresses."""

    type: ResourceType
    version: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def has_status(self) -> bool:
        info = self.type.version(self.version)
        return info is not None and info.has_status


@dataclass
class WriteOptions:
    """Per-request write settings from the query string; warnings collect on the way."""

    field_validation: str = "Warn"
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)


def _check_type(target: Target, body: JsonObject) -> None:
    resource_type = target.type
    kind, api_version = body.get("kind"), body.get("apiVersion")
    expected = resource_type.api_version(target.version)
    if kind and kind != resource_type.kind:
        raise bad_request(
            f"the kind of the object ({kind}) does not match the kind served at this URL "
            f"({resource_type.kind}): send it to the {kind} endpoint instead"
        )
    if api_version and api_version != expected and resource_type.custom:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({expected})"
        )


def _check_identity(target: Target, obj: JsonObject) -> None:
    metadata = obj["metadata"]
    if target.type.namespaced:
        namespace = metadata.get("namespace") or target.namespace
        if namespace != target.namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                f"request ({namespace!r} in the object, {target.namespace!r} in the URL)"
            )
        metadata["namespace"] = target.namespace
    else:
        metadata.pop("namespace", None)
    if target.name and metadata.get("name") != target.name:
        raise bad_request(
            f"the name of the object ({metadata.get('name')}) does not match the name on the URL "
            f"({target.name})"
        )


def _validate(target: Target, obj: JsonObject, options: WriteOptions) -> JsonObject:
    info = target.type.version(target.version)
    outcome = validate_object(obj, info.schema if info else None)
    name = str(obj["metadata"].get("name", ""))
    causes = objects.name_causes(target.type, name) + outcome.causes
    if outcome.unknown and options.field_validation == "Strict":
        unknown = ", ".join(f'unknown field "{path}"' for path in outcome.unknown)
        kind = target.type.kind
        raise bad_request(
            f'{kind} in version "{target.version}" cannot be handled as a {kind}: '
            f"strict decoding error: {unknown}"
        )
    if outcome.unknown and options.field_validation == "Warn":
        options.warnings.extend(f'unknown field "{path}"' for path in outcome.unknown)
    if causes:
        raise invalid(target.type.kind, target.type.group, name, causes)
    pruned: JsonObject = outcome.value
    return pruned


def admit(target: Target, body: Any, old: JsonObject | None, options: WriteOptions) -> JsonObject:
    """The object to store for a create (``old`` None) or an update of ``old``."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object (a Kubernetes resource)")
    _check_type(target, body)
    obj = copy.deepcopy(body)
    obj["apiVersion"] = target.type.api_version(target.version)
    obj["kind"] = target.type.kind
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise bad_request("metadata must be a JSON object")
    if old is None and not metadata.get("name") and metadata.get("generateName"):
        metadata["name"] = objects.generated_name(str(metadata["generateName"]))
    _check_identity(target, obj)
    if target.has_status:
        objects.keep_status_apart(obj, old)
    objects.apply_kind_defaults(target.type, obj)
    obj = _validate(target, obj, options)
    if old is None:
        objects.stamp_new(obj)
    else:
        objects.carry_system_metadata(obj, old)
        objects.bump_generation(obj, old, target.has_status)
    return obj


def admit_status(target: Target, body: Any, old: JsonObject, options: WriteOptions) -> JsonObject:
    """The object to store for a write to ``/status``: only the status changes."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object (a Kubernetes resource)")
    _check_type(target, body)
    merged = objects.only_status_from(body, old)
    merged["apiVersion"] = target.type.api_version(target.version)
    result = _validate(target, merged, options)
    objects.carry_system_metadata(result, old)
    return result
