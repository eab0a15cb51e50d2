"""The APScheduler job table and the daemon over it, with real threads and a fake reconcile
and shift source: a failing shift never stops the others, jobs follow the watch, a shift's
ticks never overlap, and shutdown is prompt."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest

from controller.api.status import Phase
from controller.daemon import INVALID_RETRY_JOB, Daemon
from controller.kube.client import WatchEvent
from controller.reconcile import TickOutcome
from controller.scheduler import ApschedulerJobs, ShiftKey
from controller.ticking import ShiftTicker
from tests.unit.daemon.fakes import shift

T = TypeVar("T")
FAST = timedelta(milliseconds=20)


def poll(what: str, probe: Callable[[], T | None], timeout: float = 5.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class CountingReconcile:
    """Counts ticks per shift; shifts named in ``broken`` raise on every tick."""

    def __init__(self, *broken: str, hold: float = 0.0) -> None:
        self.broken = set(broken)
        self.hold = hold
        self.ticks: dict[str, int] = {}
        self.running: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, namespace: str, name: str, now: datetime) -> TickOutcome:
        with self._lock:
            self.ticks[name] = self.ticks.get(name, 0) + 1
            self.running[name] = self.running.get(name, 0) + 1
            self.most_at_once[name] = max(self.most_at_once.get(name, 0), self.running[name])
        try:
            time.sleep(self.hold)
            if name in self.broken:
                raise RuntimeError(f"{name} is broken")
            return TickOutcome(namespace, name, Phase.PROGRESSING)
        finally:
            with self._lock:
                self.running[name] -= 1

    def count(self, name: str) -> int:
        with self._lock:
            return self.ticks.get(name, 0)


@pytest.fixture
def make_table() -> Iterator[Callable[[CountingReconcile, timedelta], ApschedulerJobs]]:
    tables: list[ApschedulerJobs] = []

    def make(reconcile: CountingReconcile, period: timedelta) -> ApschedulerJobs:
        table = ApschedulerJobs(ShiftTicker(reconcile).tick, period, workers=4)
        table.start()
        tables.append(table)
        return table

    yield make
    for table in tables:
        table.stop()


def test_a_shift_whose_tick_raises_is_retried_and_others_keep_ticking(
    make_table: Callable[[CountingReconcile, timedelta], ApschedulerJobs],
) -> None:
    reconcile = CountingReconcile("broken")
    table = make_table(reconcile, FAST)
    table.add(ShiftKey("bookinfo", "broken"))
    table.add(ShiftKey("bookinfo", "healthy"))
    poll(
        "both shifts to tick 5 times", lambda: min(map(reconcile.count, ["broken", "healthy"])) >= 5
    )
    assert table.job_ids() == {"bookinfo/broken", "bookinfo/healthy"}


def test_a_slow_tick_is_never_overlapped_by_the_next_tick_of_the_same_shift(
    make_table: Callable[[CountingReconcile, timedelta], ApschedulerJobs],
) -> None:
    reconcile = CountingReconcile(hold=0.1)  # five periods long
    table = make_table(reconcile, FAST)
    table.add(ShiftKey("bookinfo", "slow"))
    poll("three slow ticks", lambda: reconcile.count("slow") >= 3)
    assert reconcile.most_at_once["slow"] == 1


def test_run_now_brings_the_next_tick_forward(
    make_table: Callable[[CountingReconcile, timedelta], ApschedulerJobs],
) -> None:
    reconcile = CountingReconcile()
    table = make_table(reconcile, timedelta(hours=1))
    key = ShiftKey("bookinfo", "edited")
    table.add(key)
    poll("the first tick, which runs at once", lambda: reconcile.count("edited") == 1)
    table.run_now(key)
    poll("a second tick long before the hour is up", lambda: reconcile.count("edited") == 2)


def test_removing_a_job_removes_it_from_the_scheduler_and_twice_is_harmless() -> None:
    removed: list[ShiftKey] = []
    table = ApschedulerJobs(ShiftTicker(CountingReconcile()).tick, FAST, on_removed=removed.append)
    table.start()
    try:
        key = ShiftKey("bookinfo", "done")
        table.add(key)
        table.remove(key)
        table.remove(key)
        assert table.job_ids() == set()
        assert removed == [key, key]
    finally:
        table.stop()


class LiveSource:
    """Lists ``shifts`` once, then streams events put in ``events`` until ``stop`` is set."""

    def __init__(self, stop: threading.Event, shifts: list[dict[str, Any]]) -> None:
        self.stop = stop
        self.shifts = shifts
        self.events: list[WatchEvent] = []
        self.listed: list[str | None] = []

    def list_shifts(self, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        self.listed.append(namespace)
        return [s for s in self.shifts if namespace in (None, s["metadata"]["namespace"])], "1"

    def watch_shifts(self, namespace: str | None, resource_version: str) -> Iterator[WatchEvent]:
        while not self.stop.is_set():
            if self.events:
                yield self.events.pop(0)
            else:
                self.stop.wait(0.01)


def test_the_daemon_ticks_listed_shifts_drops_deleted_ones_and_stops_promptly() -> None:
    reconcile = CountingReconcile()
    source = LiveSource(threading.Event(), [shift("a"), shift("b")])
    daemon = Daemon(reconcile, source, [], period=FAST)
    source.stop = daemon.stopping
    daemon.start()
    try:
        poll("both shifts to tick", lambda: reconcile.count("a") and reconcile.count("b"))
        source.events.append(WatchEvent("DELETED", shift("a")))
        shift_jobs = lambda: daemon.table.job_ids() - {INVALID_RETRY_JOB}  # noqa: E731
        poll("a's job to go", lambda: shift_jobs() == {"bookinfo/b"})
        assert daemon.jobs.active() == {ShiftKey("bookinfo", "b")}
    finally:
        started = time.monotonic()
        assert daemon.shutdown() == []
    assert time.monotonic() - started < 2


def test_the_daemon_watches_each_configured_namespace() -> None:
    reconcile = CountingReconcile()
    shifts = [shift("a", "team-a"), shift("b", "team-b"), shift("c", "elsewhere")]
    source = LiveSource(threading.Event(), shifts)
    daemon = Daemon(reconcile, source, ["team-a", "team-b"], period=FAST)
    source.stop = daemon.stopping
    daemon.start()
    try:
        poll("a and b to tick", lambda: reconcile.count("a") and reconcile.count("b"))
        assert sorted(source.listed, key=str) == ["team-a", "team-b"]
        assert reconcile.count("c") == 0
    finally:
        daemon.shutdown()
