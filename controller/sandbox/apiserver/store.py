"""The object store: objects by group/plural/namespace/name, the global resourceVersion and the
bounded event history that watches are served from.

Every write takes the next resourceVersion (one counter for the whole server, as etcd's revision)
and appends an ADDED/MODIFIED/DELETED event. The history keeps the last ``history_limit`` events;
a watch or exact list from a resourceVersion older than the oldest kept event gets 410 Expired.
Callers get deep copies, so nothing outside can change stored objects behind the lock.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import JsonObject, gone

TypeKey = tuple[str, str]
ObjectKey = tuple[str, str]


@dataclass(frozen=True)
class WatchEvent:
    """One change, with the object before it (None for ADDED) to rebuild older states."""

    rv: int
    type: str
    group: str
    plural: str
    obj: JsonObject
    previous: JsonObject | None

    @property
    def namespace(self) -> str:
        return str(self.obj.get("metadata", {}).get("namespace", ""))


def object_key(obj: JsonObject) -> ObjectKey:
    metadata = obj.get("metadata", {})
    return (str(metadata.get("namespace", "")), str(metadata.get("name", "")))


class Store:
    """In-memory objects plus history, guarded by one condition variable."""

    def __init__(self, history_limit: int = 1000) -> None:
        self.changed = threading.Condition(threading.RLock())
        self._objects: dict[TypeKey, dict[ObjectKey, JsonObject]] = {}
        self._history: deque[WatchEvent] = deque()
        self._history_limit = max(1, history_limit)
        self._rv = 0
        self._compacted_rv = 0
        self.on_change: Callable[[], None] | None = None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store lock across a read-check-write sequence."""
        with self.changed:
            yield

    @property
    def resource_version(self) -> int:
        with self.changed:
            return self._rv

    @property
    def compacted_rv(self) -> int:
        with self.changed:
            return self._compacted_rv

    def get(self, group: str, plural: str, namespace: str, name: str) -> JsonObject | None:
        with self.changed:
            obj = self._objects.get((group, plural), {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def objects(self, group: str, plural: str, namespace: str | None = None) -> list[JsonObject]:
        """Objects of one type (in one namespace, or all when None), ordered by namespace/name."""
        with self.changed:
            bucket = self._objects.get((group, plural), {})
            return [
                copy.deepcopy(bucket[key])
                for key in sorted(bucket)
                if namespace is None or key[0] == namespace
            ]

    def put(self, group: str, plural: str, obj: JsonObject) -> JsonObject:
        """Store ``obj`` under the next resourceVersion; emits ADDED or MODIFIED."""
        with self.changed:
            bucket = self._objects.setdefault((group, plural), {})
            key = object_key(obj)
            previous = bucket.get(key)
            stored = copy.deepcopy(obj)
            self._rv += 1
            stored.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
            bucket[key] = stored
            kind = "ADDED" if previous is None else "MODIFIED"
            self._record(WatchEvent(self._rv, kind, group, plural, stored, previous))
            return copy.deepcopy(stored)

    def remove(self, group: str, plural: str, namespace: str, name: str) -> JsonObject | None:
        """Delete one object; the DELETED event carries the deletion's resourceVersion."""
        with self.changed:
            previous = self._objects.get((group, plural), {}).pop((namespace, name), None)
            if previous is None:
                return None
            self._rv += 1
            gone_obj = copy.deepcopy(previous)
            gone_obj["metadata"]["resourceVersion"] = str(self._rv)
            self._record(WatchEvent(self._rv, "DELETED", group, plural, gone_obj, previous))
            return copy.deepcopy(gone_obj)

    def _record(self, event: WatchEvent) -> None:
        self._history.append(event)
        while len(self._history) > self._history_limit:
            self._compacted_rv = self._history.popleft().rv
        self.changed.notify_all()
        if self.on_change is not None:
            self.on_change()

    def check_not_expired(self, rv: int) -> None:
        with self.changed:
            if rv < self._compacted_rv:
                raise gone(f"too old resource version: {rv} ({self._compacted_rv})")

    def events_after(self, rv: int, group: str, plural: str) -> list[WatchEvent]:
        """Events of one type newer than ``rv``; 410 when some of them were already dropped."""
        with self.changed:
            self.check_not_expired(rv)
            return [
                e for e in self._history if e.rv > rv and e.group == group and e.plural == plural
            ]

    def list_at(self, group: str, plural: str, rv: int) -> list[JsonObject]:
        """The objects of one type as they were at ``rv``, rebuilt by undoing later events."""
        with self.changed:
            self.check_not_expired(rv)
            state = {object_key(o): o for o in self.objects(group, plural)}
            for event in reversed(self._history):
                if event.rv <= rv:
                    break
                if event.group != group or event.plural != plural:
                    continue
                key = object_key(event.obj)
                if event.previous is None:
                    state.pop(key, None)
                else:
                    state[key] = copy.deepcopy(event.previous)
            return [state[key] for key in sorted(state)]

    def snapshot(self) -> JsonObject:
        """Everything a restarted server needs: the counter and every object."""
        with self.changed:
            return {
                "resourceVersion": self._rv,
                "objects": [
                    {"group": group, "plural": plural, "object": obj}
                    for (group, plural), bucket in self._objects.items()
                    for obj in bucket.values()
                ],
            }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Load a snapshot; history starts empty, so older watches get 410 as after compaction."""
        with self.changed:
            self._objects.clear()
            self._history.clear()
            for entry in snapshot.get("objects", []):
                bucket = self._objects.setdefault((entry["group"], entry["plural"]), {})
                bucket[object_key(entry["object"])] = entry["object"]
            self._rv = int(snapshot.get("resourceVersion", 0))
            self._compacted_rv = self._rv
