"""The legacy discovery documents: /version, /api, /api/v1, /apis, /apis/{group}[/{version}].

kubectl and client-go ask for aggregated discovery first (``as=APIGroupDiscoveryList`` in the
Accept header) and fall back to these documents when the answer's Content-Type is plain
``application/json``, which is what the sandbox always sends.
"""

from __future__ import annotations

import hashlib

from .errors import JsonObject
from .registry import ALL_VERBS, Registry, ResourceType

SERVER_VERSION: JsonObject = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-weightgate-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> JsonObject:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group_entry(group: str, versions: list[str]) -> JsonObject:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: Registry) -> JsonObject:
    groups = registry.groups()
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g, groups[g]) for g in sorted(groups) if g],
    }


def api_group(registry: Registry, group: str) -> JsonObject | None:
    versions = registry.groups().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def _resource_entries(resource_type: ResourceType, version: str) -> list[JsonObject]:
    storage_hash = hashlib.sha256(resource_type.resource.encode()).hexdigest()[:12]
    entry: JsonObject = {
        "name": resource_type.plural,
        "singularName": resource_type.singular,
        "namespaced": resource_type.namespaced,
        "kind": resource_type.kind,
        "verbs": list(ALL_VERBS),
        "storageVersionHash": storage_hash,
    }
    if resource_type.short_names:
        entry["shortNames"] = list(resource_type.short_names)
    if resource_type.categories:
        entry["categories"] = list(resource_type.categories)
    entries = [entry]
    info = resource_type.version(version)
    if info is not None and info.has_status:
        entries.append(
            {
                "name": f"{resource_type.plural}/status",
                "singularName": "",
                "namespaced": resource_type.namespaced,
                "kind": resource_type.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return entries


def api_resource_list(registry: Registry, group: str, version: str) -> JsonObject | None:
    served = registry.in_group_version(group, version)
    if not served:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [e for t in served for e in _resource_entries(t, version)],
    }
