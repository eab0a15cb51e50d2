"""OpenAPI v3 documents: the ``/openapi/v3`` index and one document per group/version.

kubectl reads these before every ``apply``: it looks for a PATCH operation tagged with the
object's ``x-kubernetes-group-version-kind`` that lists the ``fieldValidation`` parameter, and
only then leaves validation to the server (otherwise it refuses with validation on). Each
document therefore has the usual paths per resource, with those parameters, and the registered
schemas under ``components.schemas``. The index's ``?hash=`` changes whenever a document does,
so kubectl's cache never serves a stale schema after a CRD changes.
"""

from __future__ import annotations

import hashlib
import json

from .errors import JsonObject
from .registry import Registry, ResourceType

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def group_version_path(group: str, version: str) -> str:
    """The index key: ``api/v1`` or ``apis/{group}/{version}``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def schema_id(resource_type: ResourceType, version: str) -> str:
    """Reverse-DNS schema name, as the real server names them (io.istio.networking.v1.Kind)."""
    group = resource_type.group or "core"
    if resource_type.custom:
        prefix = ".".join(reversed(group.split(".")))
    else:
        prefix = "io.k8s.api." + group.split(".")[0]
    return f"{prefix}.{version}.{resource_type.kind}"


def _gvk(resource_type: ResourceType, version: str) -> JsonObject:
    return {"group": resource_type.group, "version": version, "kind": resource_type.kind}


def _operation(
    action: str, resource_type: ResourceType, version: str, schema_ref: str, with_params: bool
) -> JsonObject:
    operation: JsonObject = {
        "operationId": f"{action}{resource_type.kind}",
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": schema_ref}}},
            }
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(resource_type, version),
    }
    if with_params:
        operation["parameters"] = [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in _QUERY_PARAMS
        ]
    if action == "patch":
        patch_types = _PATCH_TYPES[:2] if resource_type.custom else _PATCH_TYPES
        operation["requestBody"] = {
            "content": {t: {"schema": {"type": "object"}} for t in patch_types},
            "required": True,
        }
    elif action in ("put", "post"):
        operation["requestBody"] = {
            "content": {"application/json": {"schema": {"$ref": schema_ref}}},
            "required": True,
        }
    return operation


def _paths(resource_type: ResourceType, version: str) -> dict[str, JsonObject]:
    base = f"/{group_version_path(resource_type.group, version)}"
    scope = f"{base}/namespaces/{{namespace}}" if resource_type.namespaced else base
    collection = f"{scope}/{resource_type.plural}"
    ref = f"#/components/schemas/{schema_id(resource_type, version)}"

    def ops(*actions: str) -> JsonObject:
        return {
            verb: _operation(action, resource_type, version, ref, action not in ("get", "list"))
            for verb, action in (a.split(":") for a in actions)
        }

    paths = {
        collection: ops("get:list", "post:post", "delete:deletecollection"),
        f"{collection}/{{name}}": ops("get:get", "put:put", "patch:patch", "delete:delete"),
    }
    info = resource_type.version(version)
    if info is not None and info.has_status:
        paths[f"{collection}/{{name}}/status"] = ops("get:get", "put:put", "patch:patch")
    if resource_type.namespaced:
        paths[f"{base}/{resource_type.plural}"] = ops("get:list")
    return paths


def _component(resource_type: ResourceType, version: str) -> JsonObject:
    info = resource_type.version(version)
    schema: JsonObject = dict((info.schema if info else None) or {"type": "object"})
    properties = dict(schema.get("properties") or {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = {"type": "object"}
    schema["properties"] = properties
    # kubectl apply computes a built-in's strategic patch from the component schema carrying
    # its GVK when there is one; our loose built-in schemas lack the patch strategies, so only
    # custom resources are tagged and kubectl uses its compiled-in types for built-ins.
    if resource_type.custom:
        schema["x-kubernetes-group-version-kind"] = [_gvk(resource_type, version)]
    return schema


def group_version_document(registry: Registry, group: str, version: str) -> JsonObject | None:
    served = registry.in_group_version(group, version)
    if not served:
        return None
    paths: dict[str, JsonObject] = {}
    for resource_type in served:
        paths.update(_paths(resource_type, version))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {schema_id(t, version): _component(t, version) for t in served}},
    }


def document_hash(document: JsonObject) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32].upper()


def index(registry: Registry) -> JsonObject:
    """``/openapi/v3``: one entry per served group/version, with a content hash in the URL."""
    entries: dict[str, JsonObject] = {}
    for group, versions in registry.groups().items():
        for version in versions:
            document = group_version_document(registry, group, version)
            if document is None:
                continue
            key = group_version_path(group, version)
            entries[key] = {
                "serverRelativeURL": f"/openapi/v3/{key}?hash={document_hash(document)}"
            }
    return {"paths": entries}


# kubectl up to 1.28 reads /openapi/v2 for apply, replace and edit, as protobuf (gnostic's
# openapi_v2.Document); a 404 there is an error to those versions, not "no schema". The sandbox
# serves a document with no definitions: kubectl then takes each built-in's patch strategy from
# its own compiled-in types and uses a JSON merge patch for custom resources, which is what it
# does for any type the document does not describe. Newer kubectl reads /openapi/v3 instead.
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"  # what kubectl asks
# What the answer is labelled: client-go parses the Content-Type, and `@` is not valid there.
V2_PROTOBUF_ANSWER = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
V2_TITLE = "weightgate sandbox"


def v2_document(version: str) -> JsonObject:
    return {"swagger": "2.0", "info": {"title": V2_TITLE, "version": version}, "paths": {}}


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2); lengths here stay under 128 bytes."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def v2_protobuf(version: str) -> bytes:
    """`v2_document` as openapi_v2.Document: swagger = 1, info = 2 (title = 1, version = 2)."""
    info = _field(1, V2_TITLE.encode()) + _field(2, version.encode())
    return _field(1, b"2.0") + _field(2, info)
