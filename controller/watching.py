"""Following objects: list, then watch from the list's resourceVersion, feeding every event to
a sink (the job bookkeeping for TrafficShifts, the watch cache's stores for every kind).

Owns ``Watcher`` (one per kind and watched namespace, or per kind for all namespaces),
``ShiftWatcher`` (TrafficShifts into the jobs, and into the cache when there is one), and the
small ``ShiftSource`` seam over the Kubernetes client (``KubeShiftSource``, and
``KubeObjectSource`` for any kind). A 410 Gone (the watch's resourceVersion is too old) re-lists
at once; an unreachable API server, or any other failure, is logged and retried
with exponential backoff. The watcher never raises: it runs until its stop event is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from controller.kube.client import KubeClient, WatchEvent
from controller.kube.errors import GoneError
from controller.kube.resources import TRAFFIC_SHIFTS, Resource
from controller.telemetry import get_logger

WATCH_TIMEOUT_SECONDS = 300


class ShiftSource(Protocol):
    def list_shifts(self, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        """The shifts and the list's resourceVersion."""
        ...

    def watch_shifts(self, namespace: str | None, resource_version: str) -> Iterable[WatchEvent]:
        """Events after ``resource_version`` until the server ends the watch; raises
        ``GoneError`` when that version is too old and ``KubeError`` when the API fails."""
        ...


class EventSink(Protocol):
    def sync(self, namespace: str | None, items: Iterable[dict[str, Any]]) -> None:
        """Everything in ``namespace`` (None: all) as a fresh list showed it."""
        ...

    def apply(self, event_type: str, obj: dict[str, Any]) -> object:
        """One watch event."""
        ...


class Tee:
    """Feeds several sinks, in order (the cache before the jobs, so a tick a new job starts
    finds its object stored)."""

    def __init__(self, *sinks: EventSink) -> None:
        self._sinks = sinks

    def sync(self, namespace: str | None, items: Iterable[dict[str, Any]]) -> None:
        listed = list(items)
        for sink in self._sinks:
            sink.sync(namespace, listed)

    def apply(self, event_type: str, obj: dict[str, Any]) -> None:
        for sink in self._sinks:
            sink.apply(event_type, obj)


class KubeObjectSource:
    """List and watch one kind of object over ``KubeClient``."""

    def __init__(
        self,
        client: KubeClient,
        resource: Resource,
        watch_timeout_seconds: int = WATCH_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self.resource = resource
        self._watch_timeout = watch_timeout_seconds

    def list_shifts(self, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        return self._client.list_objects(self.resource, namespace)

    def watch_shifts(self, namespace: str | None, resource_version: str) -> Iterable[WatchEvent]:
        return self._client.watch(
            self.resource, namespace, resource_version, timeout_seconds=self._watch_timeout
        )


class KubeShiftSource:
    """``ShiftSource`` over ``KubeClient``."""

    def __init__(self, client: KubeClient, watch_timeout_seconds: int = WATCH_TIMEOUT_SECONDS):
        self._client = client
        self._watch_timeout = watch_timeout_seconds

    def list_shifts(self, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        return self._client.list_objects(TRAFFIC_SHIFTS, namespace)

    def watch_shifts(self, namespace: str | None, resource_version: str) -> Iterable[WatchEvent]:
        return self._client.watch(
            TRAFFIC_SHIFTS, namespace, resource_version, timeout_seconds=self._watch_timeout
        )


@dataclass(frozen=True)
class Backoff:
    """Exponential retry delays: ``initial`` doubled per consecutive failure, at most
    ``maximum`` seconds."""

    initial: float = 0.5
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        return float(min(self.maximum, self.initial * 2 ** max(0, failures - 1)))


def _resource_version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Watcher:
    """List and watch the objects of ``namespace`` (None: all) into ``jobs`` (any sink) until
    ``stop``. ``ShiftSource``'s method names say TrafficShift, the kind it was made for, but
    ``KubeObjectSource`` follows any kind."""

    def __init__(
        self,
        source: ShiftSource,
        jobs: EventSink,
        namespace: str | None,
        stop: threading.Event,
        *,
        backoff: Backoff = Backoff(),
        wait: Callable[[float], object] | None = None,
        kind: str = "TrafficShift",
    ) -> None:
        self._source = source
        self._jobs = jobs
        self._namespace = namespace
        self.namespace = namespace
        self.kind = kind
        self._stop = stop
        self._backoff = backoff
        self._wait = wait or stop.wait
        self._log = get_logger(namespace=namespace or "*", kind=kind)
        self._failures = 0  # consecutive failures since a watch last proved healthy
        self._healthy_since_list = False
        self.listed = threading.Event()  # set once a list succeeded: the daemon can be ready

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow(self._relist())
            except GoneError as exc:
                self._log.info("watch.expired", error=str(exc), action="re-list")
                if not self._healthy_since_list:
                    # Gone with nothing delivered since the list: do not spin on it.
                    self._back_off(exc)
            except Exception as exc:  # noqa: BLE001 - the watch must outlive any failure
                self._back_off(exc)

    def _back_off(self, exc: Exception) -> None:
        self._failures += 1
        delay = self._backoff.delay(self._failures)
        self._log.warning(
            "watch.failed",
            error=f"{type(exc).__name__}: {exc}",
            consecutive_failures=self._failures,
            retry_in_seconds=delay,
        )
        self._wait(delay)

    def _relist(self) -> str:
        items, version = self._source.list_shifts(self._namespace)
        self._healthy_since_list = False
        self._jobs.sync(self._namespace, items)
        self.listed.set()
        self._log.info("watch.listed", objects=len(items), resource_version=version)
        return version

    def _follow(self, version: str) -> None:
        """Watch from ``version``, resuming after the server ends each watch, until stopped.

        The failure count starts over only once a watch proves healthy (an event arrives, or the
        server ends the watch normally), so a list that succeeds while every watch breaks still
        backs off further each time."""
        while not self._stop.is_set():
            for event in self._source.watch_shifts(self._namespace, version):
                self._healthy()
                if self._stop.is_set():
                    return
                version = _resource_version(event.object) or version
                if event.type != "BOOKMARK":
                    self._jobs.apply(event.type, event.object)
            self._healthy()

    def _healthy(self) -> None:
        self._failures = 0
        self._healthy_since_list = True


ShiftWatcher = Watcher  # the name the daemon and its tests know it by
