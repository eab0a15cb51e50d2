"""Per-object rules a real API server applies on every write, independent of storage.

Owns: name validation, the system metadata set on create and kept on update (uid,
creationTimestamp, generation), when generation bumps, what the status subresource keeps apart,
and the kind-specific defaults of built-ins (Secret ``stringData``, Namespace phase).
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import uuid
from datetime import UTC, datetime

from .errors import Cause, JsonObject
from .registry import ResourceType

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RBAC_GROUP = "rbac.authorization.k8s.io"
SYSTEM_METADATA = ("uid", "creationTimestamp", "generation", "resourceVersion", "selfLink")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name_problem(resource_type: ResourceType, name: str) -> str:
    if resource_type.group == _RBAC_GROUP:
        bad = "/" in name or "%" in name or name in (".", "..")
        return 'may not contain "/" or "%"' if bad else ""
    if resource_type.kind == "Namespace" and resource_type.group == "":
        ok = len(name) <= 63 and _LABEL.match(name) is not None
        what, allowed = "label", "'-'"
    else:
        ok = len(name) <= 253 and _SUBDOMAIN.match(name) is not None
        what, allowed = "subdomain", "'-' or '.'"
    if ok:
        return ""
    return (
        f"a lowercase RFC 1123 {what} must consist of lower case alphanumeric characters, "
        f"{allowed}, and must start and end with an alphanumeric character"
    )


def name_causes(resource_type: ResourceType, name: str) -> list[Cause]:
    """Why ``name`` is not a valid name for this type (empty when it is)."""
    if not name:
        message = "Required value: name or generateName is required"
        return [Cause("FieldValueRequired", message, "metadata.name")]
    problem = _name_problem(resource_type, name)
    if not problem:
        return []
    return [Cause("FieldValueInvalid", f'Invalid value: "{name}": {problem}', "metadata.name")]


def generated_name(prefix: str) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(5))


def stamp_new(obj: JsonObject) -> None:
    """System metadata of a freshly created object."""
    metadata = obj["metadata"]
    for key in SYSTEM_METADATA:
        metadata.pop(key, None)
    metadata.pop("managedFields", None)
    metadata.pop("deletionTimestamp", None)
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = now_rfc3339()
    metadata["generation"] = 1


def carry_system_metadata(new: JsonObject, old: JsonObject) -> None:
    """Updates cannot change uid, creationTimestamp or generation; they come from the old object."""
    metadata, old_metadata = new["metadata"], old["metadata"]
    metadata.pop("managedFields", None)
    for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
        if key in old_metadata:
            metadata[key] = old_metadata[key]
        else:
            metadata.pop(key, None)


def _generation_view(obj: JsonObject, has_status: bool) -> object:
    if "spec" in obj:
        return obj.get("spec")
    skipped = {"metadata", "apiVersion", "kind"} | ({"status"} if has_status else set())
    return {k: v for k, v in obj.items() if k not in skipped}


def bump_generation(new: JsonObject, old: JsonObject, has_status: bool) -> None:
    """Generation counts spec changes (any non-metadata change for objects without a spec)."""
    if "spec" in new or "spec" in old:
        changed = new.get("spec") != old.get("spec")
    else:
        changed = _generation_view(new, has_status) != _generation_view(old, has_status)
    if changed:
        new["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1


def keep_status_apart(new: JsonObject, old: JsonObject | None) -> None:
    """Writes to the main resource never change status when a status subresource exists."""
    if old is not None and "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    else:
        new.pop("status", None)


def only_status_from(body: JsonObject, old: JsonObject) -> JsonObject:
    """A status write: the old object with just the status taken from the body."""
    result = copy.deepcopy(old)
    if "status" in body:
        result["status"] = copy.deepcopy(body["status"])
    else:
        result.pop("status", None)
    return result


def apply_kind_defaults(resource_type: ResourceType, obj: JsonObject) -> None:
    """What a real server's defaulting does for the built-ins that need it."""
    if resource_type.group != "":
        return
    if resource_type.kind == "Secret":
        string_data = obj.pop("stringData", None) or {}
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj.setdefault("type", "Opaque")
    elif resource_type.kind == "Namespace":
        metadata = obj["metadata"]
        metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = metadata["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
