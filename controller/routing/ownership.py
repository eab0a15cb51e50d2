"""Who manages which route: one active TrafficShift per http route, recorded on the
VirtualService itself.

The annotation ``weightgate.dev/owners`` holds a JSON object from route key to the name of the
TrafficShift (in the VirtualService's namespace) that manages that route. The key is the
route's name when it has one (it survives reordering), else its place, ``http[1]``. A shift
claims its route in the same guarded patch that first moves traffic, and releases it in the
patch that promotes or rolls back, so the record and the route can never disagree for long: a
second writer gets a 409 and reads the claim. Keeping it on the VirtualService (not in a
controller's memory) makes restarts, replicas and future shards agree.

Pure like the rest of ``routing``: this module reads a VirtualService dict and returns JSON
patch operations; whether an owner is still active is for the caller to find out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controller.routing.model import ManagedRoute

OWNERS_ANNOTATION = "weightgate.dev/owners"
_OWNERS_PATH = "/metadata/annotations/" + OWNERS_ANNOTATION.replace("~", "~0").replace("/", "~1")


def route_key(managed: ManagedRoute) -> str:
    """The key of the managed route in the owners record."""
    return managed.name if managed.name else f"http[{managed.index}]"


def owners(virtual_service: Mapping[str, Any]) -> dict[str, str]:
    """The owners record; {} when there is none. A record that is not a JSON object of strings
    (edited by hand) is read as far as it is valid: only string entries count."""
    annotations = (virtual_service.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(OWNERS_ANNOTATION)
    if not isinstance(raw, str):
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): v for k, v in parsed.items() if isinstance(v, str) and v}


def owner_of(virtual_service: Mapping[str, Any], managed: ManagedRoute) -> str | None:
    return owners(virtual_service).get(route_key(managed))


def _write(virtual_service: Mapping[str, Any], record: dict[str, str]) -> list[dict[str, Any]]:
    annotations = (virtual_service.get("metadata") or {}).get("annotations")
    if not record:
        if isinstance(annotations, dict) and OWNERS_ANNOTATION in annotations:
            return [{"op": "remove", "path": _OWNERS_PATH}]
        return []
    value = json.dumps(record, sort_keys=True, separators=(",", ":"))
    if not isinstance(annotations, dict):
        return [{"op": "add", "path": "/metadata/annotations", "value": {OWNERS_ANNOTATION: value}}]
    return [{"op": "add", "path": _OWNERS_PATH, "value": value}]


def claim(
    virtual_service: Mapping[str, Any], managed: ManagedRoute, shift: str
) -> list[dict[str, Any]]:
    """Patch operations that record `shift` as the route's owner; [] when it is already."""
    record = owners(virtual_service)
    if record.get(route_key(managed)) == shift:
        return []
    return _write(virtual_service, {**record, route_key(managed): shift})


def release(
    virtual_service: Mapping[str, Any], managed: ManagedRoute, shift: str
) -> list[dict[str, Any]]:
    """Patch operations that drop `shift`'s claim on the route; [] when it holds none."""
    record = owners(virtual_service)
    if record.get(route_key(managed)) != shift:
        return []
    return _write(virtual_service, {k: v for k, v in record.items() if k != route_key(managed)})
