"""Fakes at the daemon's own seams: the job table, the shift source, and shift objects."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from controller.kube.client import WatchEvent
from controller.scheduler import ShiftKey


def shift(
    name: str = "reviews-v3",
    namespace: str = "bookinfo",
    *,
    generation: int = 1,
    phase: str | None = None,
    observed: int | None = None,
    pending: bool = False,
    version: str = "1",
) -> dict[str, Any]:
    """A TrafficShift as the API returns it; ``phase`` None means no status yet."""
    obj: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": generation,
            "resourceVersion": version,
        },
        "spec": {"virtualService": "reviews"},
    }
    if phase is not None:
        obj["status"] = {
            "phase": phase,
            "observedGeneration": generation if observed is None else observed,
            "writePending": pending,
        }
    return obj


@dataclass
class RecordingTable:
    """A JobTable that records the calls made to it, in order."""

    calls: list[tuple[str, ShiftKey]] = field(default_factory=list)

    def add(self, key: ShiftKey) -> None:
        self.calls.append(("add", key))

    def remove(self, key: ShiftKey) -> None:
        self.calls.append(("remove", key))

    def run_now(self, key: ShiftKey) -> None:
        self.calls.append(("run_now", key))


class ScriptDoneError(Exception):
    """The scripted source has nothing more to play; the watcher is stopped."""


@dataclass
class ScriptedSource:
    """A ShiftSource that plays a script: each ``list_shifts`` call takes the next list result
    (or raises it), each ``watch_shifts`` call the next watch (a list of events, optionally
    ending in an exception). When a call finds its script empty, it sets ``stop`` (and a list
    raises ``ScriptDoneError``, so no empty list result removes jobs)."""

    stop: threading.Event
    lists: list[tuple[list[dict[str, Any]], str] | Exception] = field(default_factory=list)
    watches: list[list[WatchEvent | Exception]] = field(default_factory=list)
    listed_namespaces: list[str | None] = field(default_factory=list)
    watched_from: list[str] = field(default_factory=list)

    def list_shifts(self, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        self.listed_namespaces.append(namespace)
        if not self.lists:
            self.stop.set()
            raise ScriptDoneError
        result = self.lists.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def watch_shifts(self, namespace: str | None, resource_version: str) -> Iterator[WatchEvent]:
        self.watched_from.append(resource_version)
        if not self.watches:
            self.stop.set()
            return
        for item in self.watches.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item
