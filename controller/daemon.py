"""``weightgate controller``: the long-running daemon that drives every TrafficShift it watches.

Owns the daemon's life: start the scheduler and one watcher per namespace (or one for all), run
until SIGTERM or SIGINT, then stop between ticks - no tick starts after the signal, running ones
get ``stop_timeout`` seconds to finish - and exit 0. A tick cut off at that deadline is safe to
abandon: every tick records its decision in the shift's status before touching the
VirtualService, so the next controller finishes it rather than deciding again.

The process holds no state a restart would lose: each shift resumes from its status.

With leader election, ticks start only while this replica leads, and each write a tick makes
is fenced again right before it is sent (``LeaderOnlyWrites``).

Seams for later issues: ``should_run`` (leader election: ticks run only while it returns True)
and the ``Daemon`` parts (``ticker``, ``jobs``) that a /metrics endpoint can read.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from controller.alerts import AlertDispatch, DispatchReport
from controller.analysis.prometheus import PrometheusQueryClient
from controller.api.alerting import PendingAlert
from controller.kube.cached import CachedCluster, CacheStores, StoreReads, cache_stores
from controller.kube.lease import LeaderElector, LeaseConfig, NotLeaderError
from controller.kube.store import ObjectStore
from controller.metrics import ControllerMetrics, HealthServer
from controller.reconcile import Cluster, TickOutcome, reconcile_once
from controller.reconcile.board import GateBoard
from controller.reconcile.target import TargetMemo
from controller.reconcile.tick import quiet_now
from controller.rounds import ROUND_JOB_ID, GateRounds
from controller.scheduler import (
    DEFAULT_WORKERS,
    ApschedulerJobs,
    ShiftJobs,
    ShiftKey,
    Waker,
    tick_period,
)
from controller.settings import Settings
from controller.telemetry import get_logger
from controller.ticking import (
    CountingQueryClient,
    PerThreadQueryClient,
    Reconcile,
    ShiftTicker,
    always,
)
from controller.watching import (
    EventSink,
    KubeObjectSource,
    KubeShiftSource,
    ShiftSource,
    ShiftWatcher,
    Tee,
)
from controller.wiring import Wired

EXIT_OK = 0
STOP_TIMEOUT_SECONDS = 10.0
WATCHER_JOIN_SECONDS = 0.2
# Invalid shifts are retried on events of the objects they name, and every this often for
# causes no watch sees (a gate's query fixed in Prometheus, a cache without watches).
INVALID_RETRY = timedelta(minutes=5)
INVALID_RETRY_JOB = "retry-invalid"


@dataclass(frozen=True)
class Periodic:
    """A scheduler job that is not a shift (the batched gate rounds)."""

    job_id: str
    run: Callable[[], None]
    period: timedelta


@dataclass(frozen=True)
class WatchCache:
    """The watch cache's stores: shifts are fed by the shift watch, ``others`` by their own."""

    stores: CacheStores
    others: Sequence[tuple[ShiftSource, ObjectStore]]


class Daemon:
    """The scheduler, its jobs and the watchers that keep them in step, as one unit."""

    def __init__(
        self,
        reconcile: Reconcile,
        source: ShiftSource,
        namespaces: Sequence[str],
        *,
        period: timedelta,
        should_run: Callable[[], bool] = always,
        stop_timeout: float = STOP_TIMEOUT_SECONDS,
        workers: int = DEFAULT_WORKERS,
        cache: WatchCache | None = None,
        periodic: Sequence[Periodic] = (),
        on_tick_start: Callable[[float], None] = lambda _lag: None,
        on_removed: Callable[[ShiftKey], None] = lambda _key: None,
        quiet: Callable[[str, str, datetime], bool] | None = None,
        invalid_retry: timedelta = INVALID_RETRY,
    ) -> None:
        self.stopping = threading.Event()
        self.stop_timeout = stop_timeout
        self._cache_watchers: list[ShiftWatcher] = []
        # With a cache, no tick runs before every cached kind was listed: a missing object
        # would otherwise be taken as deleted, or fail the tick.
        self.ticker = ShiftTicker(
            reconcile,
            should_run=lambda: self._cached() and should_run(),
            quiet=quiet,
            on_outcome=lambda key, outcome: self.jobs.settle(key, outcome.phase),
        )
        retry = Periodic(INVALID_RETRY_JOB, self._retry_invalid, invalid_retry)
        periodic = [*periodic, retry]
        periodic_ids = {job.job_id for job in periodic}

        def started(job_id: str, lag: float) -> None:
            if job_id not in periodic_ids:
                on_tick_start(lag)

        def removed(key: ShiftKey) -> None:
            self.ticker.forget(key)
            on_removed(key)

        self.table = ApschedulerJobs(
            self.ticker.tick,
            period,
            workers=workers,
            on_removed=removed,
            on_start=started,
            quiet=self.ticker.quiet if quiet is not None else None,
        )
        self._periodic = list(periodic)
        self.jobs = ShiftJobs(self.table)
        scopes: list[str | None] = list(namespaces) or [None]
        shift_sink: EventSink = self.jobs if cache is None else Tee(cache.stores.shifts, self.jobs)
        follow = [(source, shift_sink, "TrafficShift")]
        if cache is not None:
            # The objects shifts name also wake the Invalid shifts that name them.
            follow += [
                (src, Tee(store, Waker(self.jobs, store.resource.kind)), store.resource.kind)
                for src, store in cache.others
            ]
        self.watchers = [
            ShiftWatcher(src, sink, scope, self.stopping, kind=kind)
            for src, sink, kind in follow
            for scope in scopes
        ]
        self._cache_watchers = [w for w in self.watchers if w.kind != "TrafficShift"]
        self._watchers = [
            threading.Thread(
                target=watcher.run,
                name=f"watch-{watcher.kind}-{watcher.namespace or 'all'}",
                # A watch blocks in a socket read for minutes; it must not hold up the exit.
                daemon=True,
            )
            for watcher in self.watchers
        ]

    def _retry_invalid(self) -> None:
        woken = self.jobs.wake_all()
        if woken:
            get_logger().info("invalid.retry", shifts=len(woken))

    def _cached(self) -> bool:
        return all(watcher.listed.is_set() for watcher in self._cache_watchers)

    def ready(self) -> bool:
        """Every watcher has listed its shifts at least once."""
        return all(watcher.listed.is_set() for watcher in self.watchers)

    def start(self) -> None:
        self.table.start()
        for job in self._periodic:
            self.table.add_periodic(job.job_id, job.run, job.period)
        for watcher in self._watchers:
            watcher.start()

    def wait(self) -> None:
        """Block until ``stopping`` is set (by a signal handler or another thread)."""
        # A timeout keeps the main thread waking up, so signal handlers run promptly.
        while not self.stopping.wait(1.0):
            pass

    def shutdown(self) -> list[ShiftKey]:
        """Stop between ticks; returns the shifts whose ticks outlived ``stop_timeout``."""
        self.stopping.set()
        self.table.stop()
        abandoned = self.ticker.stop(self.stop_timeout)
        for watcher in self._watchers:
            watcher.join(WATCHER_JOIN_SECONDS)
        return abandoned


def measured(reconcile: Reconcile, metrics: ControllerMetrics) -> Reconcile:
    """``reconcile`` that feeds the controller's metrics with each tick's outcome and time."""

    def tick(namespace: str, name: str, now: datetime) -> TickOutcome:
        started = time.monotonic()
        try:
            outcome = reconcile(namespace, name, now)
        except Exception as exc:
            metrics.tick_errors.labels(type(exc).__name__).inc()
            raise
        metrics.observe_tick(outcome, time.monotonic() - started)
        return outcome

    return tick


class LeaderOnlyWrites:
    """The ticks' ``Cluster`` with every write fenced by ``elector.leading_now()``.

    The check at the start of a tick is not enough: a replica frozen in the middle of a tick
    (SIGSTOP, a long GC pause, a paused VM) finishes that tick when it wakes - its events, its
    route write, its conflict retries - after another replica may have taken over. Checking
    right before each write leaves only the moment between the check and the request.
    """

    def __init__(self, cluster: Cluster, elector: LeaderElector) -> None:
        self._cluster = cluster
        self._elector = elector

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        return self._cluster.get_shift(namespace, name)

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        return self._cluster.get_virtual_service(namespace, name)

    def get_destination_rule(self, namespace: str, name: str) -> dict[str, Any]:
        return self._cluster.get_destination_rule(namespace, name)

    def patch_virtual_service(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self._fence(f"patch of VirtualService {namespace}/{name}")
        return self._cluster.patch_virtual_service(namespace, name, operations)

    def replace_shift_status(self, shift: dict[str, Any]) -> dict[str, Any]:
        self._fence(f"status write of TrafficShift {_object_name(shift)}")
        return self._cluster.replace_shift_status(shift)

    def patch_shift(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self._fence(f"finalizer patch of TrafficShift {namespace}/{name}")
        return self._cluster.patch_shift(namespace, name, operations)

    def record_event(
        self, shift: dict[str, Any], *, reason: str, message: str, warning: bool, now: datetime
    ) -> None:
        self._fence(f"{reason} event of TrafficShift {_object_name(shift)}")
        self._cluster.record_event(shift, reason=reason, message=message, warning=warning, now=now)

    def _fence(self, write: str) -> None:
        if not self._elector.leading_now():
            config = self._elector.config
            raise NotLeaderError(
                f"{write} not sent: replica {self._elector.identity} does not hold Lease "
                f"{config.namespace}/{config.name} any more; the leader carries on with the shift"
            )


class LeaderOnlyAlerts:
    """Alert delivery fenced like the writes: a replica that does not hold the Lease (or cannot
    tell that it still does) sends no alert. The outbox entry stays in the status, and the
    leader delivers it; a deposed replica that delivered too would only be dropped by the
    receivers' dedup, and it must not act at all."""

    def __init__(self, alerts: AlertDispatch, leading: Callable[[], bool], who: str) -> None:
        self._alerts = alerts
        self._leading = leading
        self._who = who

    def dispatch(self, pending: Sequence[PendingAlert], now: datetime) -> DispatchReport:
        if not self._leading():
            raise NotLeaderError(
                f"{len(pending)} alert(s) not sent: replica {self._who} does not hold the "
                "Lease any more; the leader delivers them"
            )
        return self._alerts.dispatch(pending, now)


def _object_name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _forget(board: GateBoard | None, memo: TargetMemo | None, key: ShiftKey) -> None:
    """A shift's job is gone: drop what the board and the memo kept for it."""
    if board is not None:
        board.unregister((key.namespace, key.name))
    if memo is not None:
        memo.forget(key.namespace, key.name)


def _watch_cache(wired: Wired) -> WatchCache:
    stores = cache_stores(wired.cluster)
    return WatchCache(
        stores,
        [
            (KubeObjectSource(wired.client, store.resource), store)
            for store in (stores.virtual_services, stores.destination_rules)
        ],
    )


def _elector(wired: Wired, settings: Settings) -> LeaderElector:
    identity = settings.identity or os.environ.get("POD_NAME") or socket.gethostname()
    config = LeaseConfig(
        namespace=settings.lease_namespace,
        name=settings.lease_name,
        lease_duration=settings.lease_duration,
        renew_deadline=settings.renew_deadline,
        retry_period=settings.retry_period,
    )
    return LeaderElector(wired.client, config, identity, time.monotonic, lambda: datetime.now(UTC))


def _leading(elector: LeaderElector | None, should_run: Callable[[], bool]) -> Callable[[], bool]:
    if elector is None:
        return should_run
    return lambda: elector.leading_now() and should_run()


def _start_renewing(
    elector: LeaderElector | None, metrics: ControllerMetrics, stopping: threading.Event
) -> threading.Thread | None:
    """Acquire or renew the Lease every retry period until stopping (no thread without
    leader election: this replica always leads)."""
    if elector is None:
        metrics.leader.set(1)
        return None
    log = get_logger(identity=elector.identity)

    def renew() -> None:
        was_leader = False
        while not stopping.is_set():
            leader = elector.try_acquire_or_renew()
            metrics.leader.set(1 if elector.leading_now() else 0)
            if leader != was_leader:
                log.info("leader.changed", leader=leader)
                was_leader = leader
            stopping.wait(elector.config.retry_period.total_seconds())

    thread = threading.Thread(target=renew, name="leader-election", daemon=True)
    thread.start()
    return thread


@contextmanager
def stop_on_signals(stopping: threading.Event) -> Iterator[list[str]]:
    """SIGTERM and SIGINT set ``stopping`` instead of killing the process mid-tick; yields the
    list the names of received signals are appended to (logged by the caller: a handler that
    logs could wait on the log lock the interrupted main thread holds)."""
    received: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)
        stopping.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def serve(wired: Wired, settings: Settings, *, should_run: Callable[[], bool] = always) -> int:
    """Run the daemon with ``wired``'s parts until SIGTERM/SIGINT; returns the exit code."""
    prometheus = PerThreadQueryClient(
        lambda: PrometheusQueryClient(
            settings.prometheus_url, timeout_seconds=settings.prometheus_timeout_seconds
        )
    )
    period = tick_period(settings.check_interval)
    metrics = ControllerMetrics()
    per_shift = CountingQueryClient(prometheus, metrics.prometheus_queries.labels("per-shift").inc)
    # The daemon keeps a finalizer on shifts whose canary may have traffic: a delete then
    # carries out spec.onDelete first (pipeline mode does not: it may exit mid-shift).
    deps = replace(wired.deps, prometheus=per_shift, finalizers=True)
    elector = _elector(wired, settings) if settings.leader_election else None
    leading = _leading(elector, should_run)
    cache = _watch_cache(wired) if settings.watch_cache else None
    memo = TargetMemo() if cache is not None else None
    if cache is not None:
        deps = replace(deps, cluster=CachedCluster(wired.cluster, cache.stores), memo=memo)
    if elector is not None:
        deps = replace(deps, cluster=LeaderOnlyWrites(deps.cluster, elector))
        if deps.alerts is not None:
            fenced = LeaderOnlyAlerts(deps.alerts, elector.leading_now, elector.identity)
            deps = replace(deps, alerts=fenced)
    periodic: list[Periodic] = []
    board = GateBoard(spread=settings.round_spread) if settings.query_batching else None
    if board is not None:
        deps = replace(deps, board=board)
        rounds = GateRounds(board, prometheus, metrics, should_run=leading, period=period)
        periodic.append(Periodic(ROUND_JOB_ID, rounds.run, period))
    daemon = Daemon(
        measured(partial(reconcile_once, deps), metrics),
        KubeShiftSource(wired.client),
        settings.namespaces,
        period=period,
        should_run=leading,
        cache=cache,
        periodic=periodic,
        on_tick_start=metrics.observe_tick_start,
        on_removed=partial(_forget, board, memo),
        quiet=None if cache is None else partial(quiet_now, deps, StoreReads(cache.stores)),
    )
    health = HealthServer(
        metrics, daemon.ready, host=settings.metrics_host, port=settings.metrics_port
    ).start()
    renewer = _start_renewing(elector, metrics, daemon.stopping)
    log = get_logger()
    with stop_on_signals(daemon.stopping) as received:
        log.info(
            "controller.started",
            namespaces=settings.namespaces or "all",
            tick_period_seconds=period.total_seconds(),
            check_interval_seconds=settings.check_interval.total_seconds(),
            metrics_url=f"http://{settings.metrics_host}:{health.port}/metrics",
            leader_election=elector is not None,
            query_batching=board is not None,
            watch_cache=cache is not None,
            pid=os.getpid(),
        )
        try:
            daemon.start()
            daemon.wait()
        finally:
            log.info("controller.stopping", signals=received, timeout_seconds=daemon.stop_timeout)
            abandoned = daemon.shutdown()
            if renewer is not None:
                renewer.join(WATCHER_JOIN_SECONDS * 10)
            if elector is not None:
                elector.release()
            health.stop()
    if abandoned:
        log.warning(
            "controller.stopped",
            abandoned_ticks=[str(key) for key in abandoned],
            message=f"ticks still running after {daemon.stop_timeout:g}s were cut off; each "
            "resumes from its recorded status on the next start",
        )
        sys.stdout.flush()
        sys.stderr.flush()
        # Worker threads are joined at interpreter exit; a hung tick must not hold the process.
        os._exit(EXIT_OK)
    prometheus.close()
    log.info("controller.stopped")
    return EXIT_OK
