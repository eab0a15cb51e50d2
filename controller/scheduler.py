"""The daemon's job bookkeeping: one APScheduler job per TrafficShift that still needs ticks,
kept in step with what the watch reports.

Owns which shifts have a job (``ShiftJobs``), the rule that decides it (``needs_ticks``), the
tick period (``tick_period``) and the APScheduler implementation of the job table
(``ApschedulerJobs``). The job itself is ``controller.ticking.ShiftTicker.tick``; it reads the
shift afresh every time, so a job carries nothing but the shift's namespace and name.

Jobs change on watch events (and re-lists): the watch is the one ordered account of what
happened to a shift. A tick's outcome may remove a job only when the latest object the watch
delivered says the shift needs none (``settle``), so a tick that finished just before a spec edit
cannot remove the job the edit needs.

Invalid shifts are dormant, not forgotten. A shift can be Invalid for a reason outside its spec:
its VirtualService or DestinationRule is missing or wrong, or a gate's query is broken in
Prometheus. ``wake`` gives a dormant shift a job again when an object it names changes (the
watch cache's VirtualService and DestinationRule events), and ``wake_all`` does so for every
dormant shift (a slow periodic retry, for causes no watch sees). A woken shift that is still
Invalid writes nothing, and ``settle`` puts it back to sleep after that one tick.

Tick period: ``min(1s, check_interval / 2)``, at least 0.1s. A tick costs three GETs (shift,
VirtualService, DestinationRule) and queries Prometheus only when ``check_due`` says so, so the
period sets how soon a finished write is confirmed, drift is noticed and a due gate check runs
(at most one period late: with the default 10s check interval, 10%). Half the check interval at
most, so a check is never pushed a whole interval late by a tick landing just before it is due.
1s matches pipeline mode (``weightgate run --tick-seconds``), so both drive shifts at the same
pace. Spec edits do not wait for the period: the watch runs the shift's job at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from controller.api.status import Phase
from controller.api.trafficshift import FINALIZER
from controller.executor import LagReportingExecutor, OnStart
from controller.telemetry import get_logger

MAX_TICK_PERIOD = timedelta(seconds=1)
MIN_TICK_PERIOD = timedelta(milliseconds=100)
# Tick workers. Ticks are short and mostly CPU under the GIL; more threads only contend for it
# (bench/scale.py at N = 1000: p99 tick lag 1.8 s with 8 workers, under 1 s with 4).
DEFAULT_WORKERS = 4
PERIODIC_EXECUTOR = "periodic"
_FINAL_PHASES = frozenset(phase.value for phase in Phase if phase.is_final)
_ENDED = frozenset({Phase.PROMOTED.value, Phase.ROLLED_BACK.value})


def tick_period(check_interval: timedelta) -> timedelta:
    """How often each active shift is reconciled; see the module docstring for why."""
    return max(MIN_TICK_PERIOD, min(MAX_TICK_PERIOD, check_interval / 2))


@dataclass(frozen=True, order=True)
class ShiftKey:
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ShiftKey:
        meta = obj.get("metadata") or {}
        return cls(str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def generation_of(obj: dict[str, Any]) -> int:
    return int((obj.get("metadata") or {}).get("generation") or 1)


def _unhandled_intent(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    intent_id = annotations.get("weightgate.dev/intent-id")
    handled = ((obj.get("status") or {}).get("lastIntent") or {}).get("id")
    return bool(intent_id) and intent_id != handled


def _is_invalid(obj: dict[str, Any]) -> bool:
    return (obj.get("status") or {}).get("phase") == Phase.INVALID.value


def names(obj: dict[str, Any], kind: str) -> str | None:
    """The name of the object of `kind` (VirtualService, DestinationRule) the shift's spec
    names, read from the raw spec (an Invalid shift's spec may not parse)."""
    field = {"VirtualService": "virtualService", "DestinationRule": "destinationRule"}.get(kind)
    value = (obj.get("spec") or {}).get(field) if field else None
    return value if isinstance(value, str) else None


def needs_ticks(obj: dict[str, Any]) -> bool:
    """Whether a TrafficShift needs a job: it is not in a final phase, or a final phase has
    work left (a route write not yet confirmed, alerts not yet delivered, an end whose route
    and finalizer are not yet settled, or a spec edit not yet observed), or it was deleted
    while it carries this controller's finalizer."""
    status = obj.get("status") or {}
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp") and FINALIZER in (meta.get("finalizers") or []):
        return True  # deleted while this controller guards it: spec.onDelete is owed
    if status.get("phase") not in _FINAL_PHASES:
        return True
    if status.get("writePending") or status.get("pendingAlerts"):
        return True  # a route write to confirm, or alerts still owed to someone
    if status.get("phase") in _ENDED and FINALIZER in (meta.get("finalizers") or []):
        # Ended, but the tick that recorded it stopped before the rest of the end: the route's
        # final single-destination form and the owner release, then the finalizer's removal.
        return True
    if _unhandled_intent(obj):
        return True  # e.g. `weightgate retry` of a rolled-back shift
    return status.get("observedGeneration") != generation_of(obj)


class JobTable(Protocol):
    """The scheduler as the bookkeeping sees it; tests hand in a recording fake."""

    def add(self, key: ShiftKey) -> None:
        """Tick ``key`` now, then every tick period (replacing any job it had)."""
        ...

    def remove(self, key: ShiftKey) -> None: ...

    def run_now(self, key: ShiftKey) -> None:
        """Bring the next tick of ``key`` forward to now."""
        ...


class JobChange(StrEnum):
    NONE = "none"
    ADDED = "added"
    RUN_NOW = "run-now"  # the spec changed: tick at once instead of at the next period
    REMOVED = "removed"


class ShiftJobs:
    """Which shifts have a job, updated from watch events; safe to call from several watch
    threads (one per namespace)."""

    def __init__(self, table: JobTable) -> None:
        self._table = table
        self._generations: dict[ShiftKey, int] = {}  # shifts with a job -> generation last seen
        self._seen: dict[ShiftKey, dict[str, Any]] = {}  # the latest object the watch delivered
        self._dormant: set[ShiftKey] = set()  # Invalid shifts without a job
        self._lock = threading.Lock()

    def active(self) -> set[ShiftKey]:
        with self._lock:
            return set(self._generations)

    def dormant(self) -> set[ShiftKey]:
        with self._lock:
            return set(self._dormant)

    def wake(self, kind: str, namespace: str, name: str) -> list[ShiftKey]:
        """Give a job to each dormant shift in `namespace` that names this object of `kind`
        (it was created, changed or deleted: the reason the shift is Invalid may be gone)."""
        with self._lock:
            woken = [
                key
                for key in self._dormant
                if key.namespace == namespace and names(self._seen[key], kind) == name
            ]
            for key in sorted(woken):
                self._wake(key, reason=f"{kind} {namespace}/{name} changed")
        return woken

    def wake_all(self) -> list[ShiftKey]:
        """Give every dormant shift one more tick (the slow periodic retry)."""
        with self._lock:
            woken = sorted(self._dormant)
            for key in woken:
                self._wake(key, reason="periodic retry of an Invalid shift")
        return woken

    def settle(self, key: ShiftKey, phase: Phase | None) -> JobChange:
        """After a tick of `key` ended in `phase`: an Invalid shift whose latest watched object
        needs no ticks (the tick wrote nothing: it was Invalid already) goes back to sleep."""
        if phase is not Phase.INVALID:
            return JobChange.NONE
        with self._lock:
            obj = self._seen.get(key)
            if obj is None or key not in self._generations or needs_ticks(obj):
                return JobChange.NONE
            self._dormant.add(key)
            return self._remove(key, reason="still Invalid")

    def _wake(self, key: ShiftKey, *, reason: str) -> None:
        self._dormant.discard(key)
        self._generations[key] = generation_of(self._seen[key])
        self._table.add(key)
        get_logger(shift=key.name, namespace=key.namespace).info("job.added", reason=reason)

    def apply(self, event_type: str, obj: dict[str, Any]) -> JobChange:
        """Update the jobs for one watch event (ADDED, MODIFIED, DELETED; others are ignored)."""
        key = ShiftKey.of(obj)
        with self._lock:
            if event_type == "DELETED":
                self._seen.pop(key, None)
                self._dormant.discard(key)
                return self._remove(key, reason="deleted")
            if event_type not in ("ADDED", "MODIFIED"):
                return JobChange.NONE
            return self._observe(key, obj)

    def sync(self, namespace: str | None, items: Iterable[dict[str, Any]]) -> None:
        """Match the jobs in ``namespace`` (None: all) to a fresh list of its shifts; shifts
        deleted while the watch was down lose their job here."""
        listed: set[ShiftKey] = set()
        for obj in items:
            listed.add(ShiftKey.of(obj))
            self.apply("ADDED", obj)
        with self._lock:
            stale = [
                key
                for key in self._generations
                if key not in listed and namespace in (None, key.namespace)
            ]
            for key in stale:
                self._remove(key, reason="not found when re-listing")
            for key in [k for k in self._seen if k not in listed]:
                if namespace in (None, key.namespace):
                    self._seen.pop(key, None)
                    self._dormant.discard(key)

    def _observe(self, key: ShiftKey, obj: dict[str, Any]) -> JobChange:
        status = obj.get("status") or {}
        self._seen[key] = obj
        if not needs_ticks(obj):
            if _is_invalid(obj):
                self._dormant.add(key)
            return self._remove(key, reason=f"phase {status.get('phase')}")
        self._dormant.discard(key)
        generation = generation_of(obj)
        seen = self._generations.get(key)
        self._generations[key] = generation
        if seen == generation:
            return JobChange.NONE  # most events: our own status writes coming back
        log = get_logger(shift=key.name, namespace=key.namespace, generation=generation)
        if seen is None:
            self._table.add(key)
            log.info("job.added", phase=status.get("phase") or "new")
            return JobChange.ADDED
        self._table.run_now(key)
        log.info("job.changed", reason="spec changed", previous_generation=seen)
        return JobChange.RUN_NOW

    def _remove(self, key: ShiftKey, *, reason: str) -> JobChange:
        if self._generations.pop(key, None) is None:
            return JobChange.NONE
        self._table.remove(key)
        get_logger(shift=key.name, namespace=key.namespace).info("job.removed", reason=reason)
        return JobChange.REMOVED


class Waker:
    """An ``EventSink`` for one kind of object that shifts name (VirtualService,
    DestinationRule): each event, and each object a re-list shows, wakes the dormant shifts
    that name it (see ``ShiftJobs.wake``)."""

    def __init__(self, jobs: ShiftJobs, kind: str) -> None:
        self._jobs = jobs
        self._kind = kind

    def sync(self, namespace: str | None, items: Iterable[dict[str, Any]]) -> None:  # noqa: ARG002 - EventSink's signature
        for obj in items:
            self.apply("ADDED", obj)

    def apply(self, event_type: str, obj: dict[str, Any]) -> None:
        if event_type not in ("ADDED", "MODIFIED", "DELETED"):
            return
        meta = obj.get("metadata") or {}
        self._jobs.wake(self._kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class ApschedulerJobs:
    """``JobTable`` over an APScheduler ``BackgroundScheduler`` with a thread pool.

    Each job has ``max_instances=1`` (a slow tick is never overlapped by the next one of the
    same shift), ``coalesce=True`` and no misfire grace limit: ticks missed while the process
    was busy or suspended collapse into one that runs as soon as it can, which is right because
    a tick always works from the current time and status.
    """

    def __init__(
        self,
        tick: Callable[[ShiftKey], None],
        period: timedelta,
        *,
        workers: int = DEFAULT_WORKERS,
        on_removed: Callable[[ShiftKey], None] = lambda _: None,
        on_start: OnStart = lambda _job, _lag: None,
        quiet: Callable[[ShiftKey], bool] | None = None,
    ) -> None:
        self._tick = tick
        self._period = period
        self._on_removed = on_removed
        self._quiet = quiet
        skip = self._skip if quiet is not None else None
        self._scheduler = BackgroundScheduler(
            executors={
                "default": LagReportingExecutor(workers, on_start, skip),
                # Periodic jobs (the gate rounds) on a thread of their own: a round that waits
                # on Prometheus for seconds never holds one of the tick workers.
                PERIODIC_EXECUTOR: LagReportingExecutor(1, on_start),
            },
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        # Our own listener reports busy skips; APScheduler's warning for each would flood logs.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        """Stop starting ticks; running ones finish on their own (the caller waits for them)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def add(self, key: ShiftKey) -> None:
        self._scheduler.add_job(
            self._tick,
            "interval",
            args=[key],
            id=str(key),
            name=str(key),
            seconds=self._period.total_seconds(),
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )

    def add_periodic(self, job_id: str, func: Callable[[], None], period: timedelta) -> None:
        """Run ``func`` every ``period`` (not a shift: e.g. the batched gate rounds)."""
        self._scheduler.add_job(
            func,
            "interval",
            id=job_id,
            name=job_id,
            seconds=period.total_seconds(),
            next_run_time=datetime.now(UTC),
            replace_existing=True,
            executor=PERIODIC_EXECUTOR,
        )

    def remove(self, key: ShiftKey) -> None:
        with contextlib.suppress(JobLookupError):  # already gone: removing is idempotent
            self._scheduler.remove_job(str(key))
        self._on_removed(key)

    def run_now(self, key: ShiftKey) -> None:
        try:
            self._scheduler.modify_job(str(key), next_run_time=datetime.now(UTC))
        except JobLookupError:
            self.add(key)

    def job_ids(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs()}

    def _skip(self, job: Any) -> bool:
        """A shift's tick known to have nothing to do (see ``ShiftTicker.quiet``); never raises:
        when in doubt the tick runs."""
        key = job.args[0] if job.args and isinstance(job.args[0], ShiftKey) else None
        if key is None or self._quiet is None:
            return False
        try:
            return self._quiet(key)
        except Exception:  # noqa: BLE001 - a probe that fails must not stop the scheduler
            return False

    def _skipped(self, event: JobSubmissionEvent) -> None:
        get_logger(job=event.job_id).debug("tick.skipped", reason="previous tick still running")
