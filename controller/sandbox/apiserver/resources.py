"""The REST verbs on resources: get, list, create, update, patch, delete, deletecollection.

Each verb runs under the store lock from its precondition checks (exists, resourceVersion,
namespace) to its write, so concurrent clients see the same serialised history a real server
gives them. CRD and Namespace writes carry their side effects here: registering the CRD's type,
and deleting the objects a deleted CRD or Namespace owned.

Finalizers as a real server keeps them: deleting an object whose ``metadata.finalizers`` is not
empty only marks it (``deletionTimestamp`` set, generation bumped, a MODIFIED event, the object
answered); it stays readable and writable, except that no new finalizer may be added, and it
goes (a DELETED event) with the write that empties its finalizers.
"""

from __future__ import annotations

import copy
from typing import Any

from . import crds, objects
from .errors import (
    ApiError,
    Cause,
    JsonObject,
    bad_request,
    conflict,
    invalid,
    not_found,
    unsupported_patch,
)
from .listing import ListQuery, list_objects
from .patching import json_patch, merge_patch
from .registry import Registry, ResourceType
from .store import Store
from .strategic import strategic_merge_patch
from .writes import Target, WriteOptions, admit, admit_status

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
_CRD = ("apiextensions.k8s.io", "customresourcedefinitions")


def _check_no_new_finalizers(target: Target, new: JsonObject, old: JsonObject) -> None:
    before = set(old["metadata"].get("finalizers") or [])
    added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
    if added:
        shown = ", ".join(f'"{f}"' for f in added)
        raise invalid(
            target.type.kind,
            target.type.group,
            target.name,
            [
                Cause(
                    "FieldValueForbidden",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{shown}}}",
                    "metadata.finalizers",
                )
            ],
        )


def render(obj: JsonObject, target: Target) -> JsonObject:
    """The stored object as served at the requested version (conversion strategy None)."""
    obj["apiVersion"] = target.type.api_version(target.version)
    obj["kind"] = target.type.kind
    return obj


class Resources:
    """CRUD semantics over one Store and Registry."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry

    def _current(self, target: Target) -> JsonObject:
        obj = self.store.get(target.type.group, target.type.plural, target.namespace, target.name)
        if obj is None:
            raise not_found(target.type.plural, target.type.group, target.name)
        return obj

    def _require_namespace(self, target: Target) -> None:
        if (
            target.type.namespaced
            and self.store.get("", "namespaces", "", target.namespace) is None
        ):
            raise not_found("namespaces", "", target.namespace)

    def get(self, target: Target) -> JsonObject:
        return render(self._current(target), target)

    def list(self, target: Target, query: ListQuery) -> JsonObject:
        return list_objects(self.store, target, query, render)

    def create(self, target: Target, body: Any, options: WriteOptions) -> JsonObject:
        with self.store.locked():
            if isinstance(body, dict) and (body.get("metadata") or {}).get("resourceVersion"):
                raise bad_request("resourceVersion should not be set on objects to be created")
            self._require_namespace(target)
            obj = admit(target, body, None, options)
            name = obj["metadata"]["name"]
            key = (target.type.group, target.type.plural)
            if self.store.get(*key, target.namespace, name) is not None:
                raise ApiError(
                    409,
                    f'{target.type.resource} "{name}" already exists',
                    reason="AlreadyExists",
                    details={"name": name, "group": target.type.group, "kind": target.type.plural},
                )
            return render(self._commit(target, obj, options), target)

    def update(self, target: Target, body: Any, options: WriteOptions) -> JsonObject:
        with self.store.locked():
            old = self._current(target)
            sent = (
                (body.get("metadata") or {}).get("resourceVersion")
                if isinstance(body, dict)
                else ""
            )
            self._check_precondition(target, old, str(sent or ""))
            return render(self._write_over(target, body, old, options), target)

    def patch(
        self, target: Target, content_type: str, patch: Any, options: WriteOptions
    ) -> JsonObject:
        with self.store.locked():
            old = self._current(target)
            patched = self._apply_patch(target.type, content_type, render(old, target), patch)
            if not isinstance(patched, dict):
                raise bad_request("the patched object must be a JSON object")
            sent = str((patched.get("metadata") or {}).get("resourceVersion") or "")
            if sent and sent != old["metadata"]["resourceVersion"]:
                raise conflict(target.type.plural, target.type.group, target.name)
            if (
                patched.get("metadata", {}).get("uid", old["metadata"]["uid"])
                != old["metadata"]["uid"]
            ):
                raise conflict(
                    target.type.plural,
                    target.type.group,
                    target.name,
                    "Precondition failed: UID in the patch does not match the object's UID",
                )
            return render(self._write_over(target, patched, old, options), target)

    def _apply_patch(
        self, resource_type: ResourceType, content_type: str, current: JsonObject, patch: Any
    ) -> Any:
        accepted = [JSON_PATCH, MERGE_PATCH] + ([] if resource_type.custom else [STRATEGIC_PATCH])
        if content_type == MERGE_PATCH:
            return merge_patch(current, patch)
        if content_type == JSON_PATCH:
            return json_patch(current, patch)
        if content_type == STRATEGIC_PATCH and not resource_type.custom:
            return strategic_merge_patch(current, patch)
        raise unsupported_patch(accepted)

    def _check_precondition(self, target: Target, old: JsonObject, sent: str) -> None:
        if not sent and target.type.custom:
            raise ApiError(
                422,
                f'{target.type.kind}.{target.type.group} "{target.name}" is invalid: '
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                details={
                    "name": target.name,
                    "group": target.type.group,
                    "kind": target.type.kind,
                    "causes": [
                        {
                            "reason": "FieldValueInvalid",
                            "message": "Invalid value: 0x0: must be specified for an update",
                            "field": "metadata.resourceVersion",
                        }
                    ],
                },
            )
        if sent and sent != old["metadata"]["resourceVersion"]:
            raise conflict(target.type.plural, target.type.group, target.name)

    def _write_over(
        self, target: Target, body: Any, old: JsonObject, options: WriteOptions
    ) -> JsonObject:
        if target.subresource == "status":
            obj = admit_status(target, body, old, options)
        else:
            obj = admit(target, body, old, options)
        if old["metadata"].get("deletionTimestamp"):
            _check_no_new_finalizers(target, obj, old)
            if not obj["metadata"].get("finalizers") and not options.dry_run:
                obj["metadata"].pop("finalizers", None)
                removed = self.store.remove(
                    target.type.group, target.type.plural, target.namespace, target.name
                )
                return removed or obj
        return self._commit(target, obj, options)

    def _commit(self, target: Target, obj: JsonObject, options: WriteOptions) -> JsonObject:
        group, plural = target.type.group, target.type.plural
        if (group, plural) == _CRD and target.subresource != "status":
            crds.check_crd(obj)
            self._check_crd_names(obj)
            obj["status"] = crds.established_status(obj, objects.now_rfc3339())
        if options.dry_run:
            obj["metadata"].setdefault("resourceVersion", str(self.store.resource_version))
            return obj
        stored = self.store.put(group, plural, obj)
        if (group, plural) == _CRD:
            self.registry.register_crd(obj["metadata"]["name"], crds.resource_type_of(stored))
        return stored

    def _check_crd_names(self, crd: JsonObject) -> None:
        spec = crd["spec"]
        if self.registry.crd_conflict(
            crd["metadata"]["name"], spec["group"], spec["names"]["plural"]
        ):
            raise bad_request(
                f"{spec['names']['plural']}.{spec['group']} is already served by another "
                "resource type: choose another plural or group"
            )

    def delete(self, target: Target, options: JsonObject, dry_run: bool) -> JsonObject:
        with self.store.locked():
            old = self._current(target)
            preconditions = options.get("preconditions") or {}
            for key in ("uid", "resourceVersion"):
                wanted = preconditions.get(key)
                if wanted and wanted != old["metadata"].get(key):
                    raise conflict(
                        target.type.plural,
                        target.type.group,
                        target.name,
                        f"Precondition failed: {key} in precondition: {wanted}, {key} in object "
                        f"meta: {old['metadata'].get(key)}",
                    )
            if dry_run:
                return render(old, target)
            if old["metadata"].get("finalizers"):
                return render(self._mark_deleted(target, old), target)
            self._delete_owned(target.type, old)
            removed = self.store.remove(
                target.type.group, target.type.plural, target.namespace, target.name
            )
            return render(removed or old, target)

    def _mark_deleted(self, target: Target, old: JsonObject) -> JsonObject:
        """The object stays until its finalizers are removed; a second delete changes nothing."""
        if old["metadata"].get("deletionTimestamp"):
            return old
        marked = copy.deepcopy(old)
        metadata = marked["metadata"]
        metadata["deletionTimestamp"] = objects.now_rfc3339()
        metadata["deletionGracePeriodSeconds"] = 0
        metadata["generation"] = int(metadata.get("generation") or 1) + 1
        return self.store.put(target.type.group, target.type.plural, marked)

    def _delete_owned(self, resource_type: ResourceType, obj: JsonObject) -> None:
        """A CRD takes its custom objects with it; a Namespace takes everything in it."""
        name = obj["metadata"]["name"]
        if (resource_type.group, resource_type.plural) == _CRD:
            served = self.registry.unregister_crd(name)
            if served is not None:
                for item in self.store.objects(served.group, served.plural):
                    namespace = item["metadata"].get("namespace", "")
                    self.store.remove(
                        served.group, served.plural, namespace, item["metadata"]["name"]
                    )
        elif resource_type.kind == "Namespace" and resource_type.group == "":
            for owned in self.registry.all():
                if owned.namespaced:
                    for item in self.store.objects(owned.group, owned.plural, name):
                        self.store.remove(owned.group, owned.plural, name, item["metadata"]["name"])

    def delete_collection(self, target: Target, query: ListQuery, dry_run: bool) -> JsonObject:
        with self.store.locked():
            listed = self.list(target, query)
            for item in listed["items"]:
                one = Target(
                    target.type,
                    target.version,
                    item["metadata"].get("namespace", ""),
                    item["metadata"]["name"],
                )
                self.delete(one, {}, dry_run)
            return listed
