"""What one scheduler job does: a guarded reconcile tick of one TrafficShift.

Owns ``ShiftTicker`` (the job function: skip when this replica should not run, reconcile, and
turn any failure into a log line carrying the shift's fields, so a tick that raises is simply
retried on the next one and never reaches APScheduler or other shifts' jobs), the bookkeeping
that lets shutdown wait for running ticks with a deadline, and ``PerThreadQueryClient`` (each
worker thread gets its own Prometheus client: the HTTP client under it keeps a
``requests.Session``, which is not documented as safe to share between threads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from controller.analysis.client import QueryClient, Sample
from controller.kube.errors import KubeError
from controller.reconcile import TickOutcome
from controller.scheduler import ShiftKey
from controller.telemetry import debug_enabled, get_logger

Reconcile = Callable[[str, str, datetime], TickOutcome]
# A failure that keeps recurring is logged again every this many ticks (about a minute at 1s),
# so an outage leaves a heartbeat in the log instead of one line per shift per second.
REPEAT_LOG_EVERY = 60


def utc_now() -> datetime:
    return datetime.now(UTC)


def always() -> bool:
    return True


@dataclass(frozen=True)
class _Last:
    """What the log lines of a shift's later ticks say about where it stands (kept small: a
    thousand shifts' whole outcomes would hold a thousand statuses)."""

    phase: Any
    step: int
    weight: int


@dataclass
class _Failing:
    error: str
    count: int = 1


class ShiftTicker:
    """The job function the scheduler calls with a ``ShiftKey``.

    ``should_run`` is the seam for leader election: while it returns False, ticks do nothing
    (the watch and the job table stay warm so a new leader starts at once).
    """

    def __init__(
        self,
        reconcile: Reconcile,
        *,
        now: Callable[[], datetime] = utc_now,
        should_run: Callable[[], bool] = always,
        quiet: Callable[[str, str, datetime], bool] | None = None,
        on_outcome: Callable[[ShiftKey, TickOutcome], object] = lambda _key, _outcome: None,
    ) -> None:
        self._reconcile = reconcile
        self._on_outcome = on_outcome
        self._now = now
        self._should_run = should_run
        self._quiet = quiet
        self._stopping = False
        self._running: dict[ShiftKey, int] = {}
        self._failing: dict[ShiftKey, _Failing] = {}
        self._last: dict[ShiftKey, _Last] = {}
        self._idle = threading.Condition()

    def tick(self, key: ShiftKey) -> None:
        """One reconcile of ``key``; never raises."""
        if not self._enter(key):
            return
        try:
            if self._should_run():
                self._guarded_tick(key)
        finally:
            self._leave(key)

    def quiet(self, key: ShiftKey) -> bool:
        """Whether a tick of ``key`` now would do nothing at all, so the scheduler need not
        start it (``quiet``'s probe; False without one, or for a shift whose last tick
        failed, or while ticks should not run)."""
        if self._quiet is None or self._stopping or key in self._failing:
            return False
        if not self._should_run():
            return False
        return self._quiet(key.namespace, key.name, self._now())

    def forget(self, key: ShiftKey) -> None:
        """Drop what was remembered about ``key`` (its job is gone)."""
        self._failing.pop(key, None)
        self._last.pop(key, None)

    def stop(self, timeout: float) -> list[ShiftKey]:
        """Refuse new ticks and wait up to ``timeout`` seconds for running ones; returns the
        shifts whose ticks were still running at the deadline."""
        deadline = time.monotonic() + timeout
        with self._idle:
            self._stopping = True
            while self._running and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            return sorted(self._running)

    def _enter(self, key: ShiftKey) -> bool:
        with self._idle:
            if self._stopping:
                return False
            self._running[key] = self._running.get(key, 0) + 1
            return True

    def _leave(self, key: ShiftKey) -> None:
        with self._idle:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]
            self._idle.notify_all()

    def _guarded_tick(self, key: ShiftKey) -> None:
        try:
            outcome = self._reconcile(key.namespace, key.name, self._now())
        except KubeError as exc:  # the API's own words say what went wrong; no traceback
            self._failed(key, exc, traceback=False)
        except Exception as exc:  # noqa: BLE001 - any bug stays in this tick; the next retries
            self._failed(key, exc, traceback=True)
        else:
            self._succeeded(key, outcome)
            self._on_outcome(key, outcome)

    def _log(self, key: ShiftKey) -> Any:
        last = self._last.get(key)
        fields: dict[str, Any] = {"shift": key.name, "namespace": key.namespace}
        if last is not None:
            fields.update(phase=str(last.phase), step=last.step, weight=last.weight)
        return get_logger(**fields)

    def _failed(self, key: ShiftKey, exc: Exception, *, traceback: bool) -> None:
        error = f"{type(exc).__name__}: {exc}"
        failing = self._failing.get(key)
        if failing is not None and failing.error == error:
            failing.count += 1
            if failing.count % REPEAT_LOG_EVERY:
                return
        else:
            failing = self._failing[key] = _Failing(error)
        self._log(key).warning(
            "tick.failed",
            error=error,
            consecutive_failures=failing.count,
            retry="next tick",
            exc_info=traceback,
        )

    def _succeeded(self, key: ShiftKey, outcome: TickOutcome) -> None:
        self._last[key] = _Last(outcome.phase, outcome.step, outcome.weight)
        failing = self._failing.pop(key, None)
        if failing is None and outcome.phase is not None and not debug_enabled():
            return  # the usual quiet tick: nothing to log, so no logger is built
        log = self._log(key)
        if failing is not None:
            log.info("tick.recovered", after_failures=failing.count)
        if outcome.phase is None:
            self._last.pop(key, None)
            log.info("shift.gone", message=outcome.message)
        else:
            log.debug("tick.done", action=str(outcome.action), message=outcome.message)


class ClosableQueryClient(QueryClient, Protocol):
    def close(self) -> None: ...


class PerThreadQueryClient:
    """A ``QueryClient`` that hands each thread its own underlying client, made on first use."""

    def __init__(self, factory: Callable[[], ClosableQueryClient]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._made: list[ClosableQueryClient] = []
        self._lock = threading.Lock()

    def instant_query(self, promql: str) -> list[Sample]:
        client: ClosableQueryClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._factory()
            self._local.client = client
            with self._lock:
                self._made.append(client)
        return client.instant_query(promql)

    def close(self) -> None:
        """Close every client made so far (call once no tick runs any more)."""
        with self._lock:
            made, self._made = self._made, []
        for client in made:
            client.close()


class CountingQueryClient:
    """A ``QueryClient`` that calls ``count()`` for every query it passes on."""

    def __init__(self, client: QueryClient, count: Callable[[], None]) -> None:
        self._client = client
        self._count = count

    def instant_query(self, promql: str) -> list[Sample]:
        self._count()
        return self._client.instant_query(promql)
