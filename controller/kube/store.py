"""An informer-style store: the latest known copy of every object of one kind, kept by a watch.

Owns ``ObjectStore``: filled by a list (``sync``), kept current by watch events (``apply``) and
by the objects our own writes return (``put``), read by ticks (``get``) without an API request.
Objects are shared, never copied: callers treat them as read-only (every writer in this code
base builds a new object instead of changing one).

Ordering. A watch event can arrive after our own write returned a newer copy of the same object
(the event of an earlier write, still in flight). A store that simply took the last thing it
was given would step back in time, so an update replaces the stored copy only when its
resourceVersion is not older. Kubernetes documents resourceVersions as opaque; they are compared
as integers only when both are (etcd's revisions are, and so are the sandbox's), and otherwise the
update is taken as newer, which is what an informer without our writes would do anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from controller.kube.errors import KubeError, NotFoundError
from controller.kube.resources import Resource

Key = tuple[str, str]


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def is_older(candidate: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether ``candidate`` is known to be an older copy than ``stored``."""
    new, old = _version(candidate), _version(stored)
    return new.isdigit() and old.isdigit() and int(new) < int(old)


class ObjectStore:
    """Thread-safe; one per resource kind (and per watched namespace set)."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self._objects: dict[Key, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._listed: set[str | None] = set()  # namespaces listed so far (None: all)

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

    def synced(self, namespace: str) -> bool:
        """Whether ``namespace`` was listed: only then does a missing object mean "not found"."""
        with self._lock:
            return None in self._listed or namespace in self._listed

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        """The stored copy; NotFoundError only once the namespace was listed (before that a
        missing object proves nothing, and a KubeError makes the caller retry later)."""
        with self._lock:
            found = self._objects.get((namespace, name))
            listed = None in self._listed or namespace in self._listed
        if found is None and not listed:
            raise KubeError(
                f"{self.resource.plural} in namespace {namespace} are not in the watch cache yet "
                "(the first list has not finished); retrying"
            )
        if found is None:
            raise NotFoundError(
                f"{self.resource.kind} {namespace}/{name} not found (in the watch cache)"
            )
        return found

    def put(self, obj: dict[str, Any]) -> None:
        """Store a copy the API returned (a read or a write), unless a newer one is stored."""
        key = key_of(obj)
        with self._lock:
            stored = self._objects.get(key)
            if stored is None or not is_older(obj, stored):
                self._objects[key] = obj

    def apply(self, event_type: str, obj: dict[str, Any]) -> None:
        """One watch event (ADDED, MODIFIED, DELETED; others are ignored)."""
        if event_type in ("ADDED", "MODIFIED"):
            self.put(obj)
        elif event_type == "DELETED":
            with self._lock:
                stored = self._objects.get(key_of(obj))
                if stored is not None and not is_older(obj, stored):
                    del self._objects[key_of(obj)]

    def sync(self, namespace: str | None, items: Iterable[dict[str, Any]]) -> None:
        """Replace what is stored for ``namespace`` (None: all) with a fresh list."""
        fresh = {key_of(obj): obj for obj in items}
        with self._lock:
            for key in [k for k in self._objects if namespace in (None, k[0])]:
                if key not in fresh:
                    del self._objects[key]
            for key, obj in fresh.items():
                stored = self._objects.get(key)
                if stored is None or not is_older(obj, stored):
                    self._objects[key] = obj
            self._listed.add(namespace)
