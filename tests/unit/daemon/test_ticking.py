"""A scheduler job's tick: failures become log lines with the shift's fields and are retried,
the leader-election hook gates ticks, shutdown waits for running ticks with a deadline, and each
thread gets its own Prometheus client."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from structlog.testing import capture_logs

from controller.analysis.client import Sample
from controller.api.status import Phase
from controller.kube.errors import UnavailableError
from controller.reconcile import TickOutcome
from controller.scheduler import ShiftKey
from controller.ticking import REPEAT_LOG_EVERY, PerThreadQueryClient, ShiftTicker

KEY = ShiftKey("bookinfo", "reviews-v3")
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Reconciler:
    """A reconcile stand-in: records its calls, raises ``errors`` in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.calls: list[tuple[str, str, datetime]] = []
        self.errors = list(errors)

    def __call__(self, namespace: str, name: str, now: datetime) -> TickOutcome:
        self.calls.append((namespace, name, now))
        if self.errors:
            raise self.errors.pop(0)
        return TickOutcome(namespace, name, Phase.PROGRESSING, weight=50, step=1)


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


def test_a_tick_reconciles_the_shift_at_the_time_the_clock_gives() -> None:
    reconcile = Reconciler()
    ShiftTicker(reconcile, now=lambda: NOW).tick(KEY)
    assert reconcile.calls == [("bookinfo", "reviews-v3", NOW)]


def test_each_finished_tick_reports_its_outcome_and_a_failed_one_does_not() -> None:
    seen: list[tuple[ShiftKey, Phase | None]] = []
    ticker = ShiftTicker(
        Reconciler(UnavailableError("down")),
        now=lambda: NOW,
        on_outcome=lambda key, outcome: seen.append((key, outcome.phase)),
    )
    ticker.tick(KEY)
    assert seen == []
    ticker.tick(KEY)
    assert seen == [(KEY, Phase.PROGRESSING)]


def test_a_tick_that_raises_is_logged_with_the_shift_and_does_not_propagate() -> None:
    reconcile = Reconciler(RuntimeError("a bug"))
    ticker = ShiftTicker(reconcile, now=lambda: NOW)
    with capture_logs() as logs:
        ticker.tick(KEY)
    [failed] = events(logs, "tick.failed")
    assert failed["shift"] == "reviews-v3"
    assert failed["namespace"] == "bookinfo"
    assert failed["error"] == "RuntimeError: a bug"
    assert failed["exc_info"] is True  # an unexpected error keeps its traceback


def test_an_api_failure_is_logged_without_a_traceback_and_retried_next_tick() -> None:
    reconcile = Reconciler(UnavailableError("get TrafficShift: API server unreachable"))
    ticker = ShiftTicker(reconcile, now=lambda: NOW)
    with capture_logs() as logs:
        ticker.tick(KEY)
        ticker.tick(KEY)
    assert len(reconcile.calls) == 2
    [failed] = events(logs, "tick.failed")
    assert failed["exc_info"] is False
    [recovered] = events(logs, "tick.recovered")
    assert recovered["after_failures"] == 1


def test_a_failure_that_repeats_is_logged_once_then_every_so_many_ticks() -> None:
    errors = [UnavailableError("API server unreachable") for _ in range(REPEAT_LOG_EVERY + 1)]
    ticker = ShiftTicker(Reconciler(*errors), now=lambda: NOW)
    with capture_logs() as logs:
        for _ in range(REPEAT_LOG_EVERY + 1):
            ticker.tick(KEY)
    counts = [entry["consecutive_failures"] for entry in events(logs, "tick.failed")]
    assert counts == [1, REPEAT_LOG_EVERY]


def test_failure_logs_carry_the_last_known_step_and_weight() -> None:
    reconcile = Reconciler()
    ticker = ShiftTicker(reconcile, now=lambda: NOW)
    ticker.tick(KEY)
    reconcile.errors.append(RuntimeError("boom"))
    with capture_logs() as logs:
        ticker.tick(KEY)
    [failed] = events(logs, "tick.failed")
    assert (failed["phase"], failed["step"], failed["weight"]) == ("Progressing", 1, 50)


def test_no_tick_runs_while_should_run_says_no() -> None:
    leader = threading.Event()
    reconcile = Reconciler()
    ticker = ShiftTicker(reconcile, now=lambda: NOW, should_run=leader.is_set)
    ticker.tick(KEY)
    assert reconcile.calls == []
    leader.set()
    ticker.tick(KEY)
    assert len(reconcile.calls) == 1


def test_stop_waits_for_a_running_tick_and_refuses_new_ones() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(namespace: str, name: str, now: datetime) -> TickOutcome:
        calls.append(name)
        started.set()
        release.wait(5)
        return TickOutcome(namespace, name, Phase.PROGRESSING)

    ticker = ShiftTicker(slow, now=lambda: NOW)
    worker = threading.Thread(target=ticker.tick, args=(KEY,))
    worker.start()
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    assert ticker.stop(timeout=5) == []
    worker.join(5)
    assert not worker.is_alive()
    ticker.tick(ShiftKey("bookinfo", "other"))
    assert calls == ["reviews-v3"]


def test_stop_gives_up_on_a_tick_that_outlives_the_deadline_and_names_it() -> None:
    started, release = threading.Event(), threading.Event()

    def hung(namespace: str, name: str, now: datetime) -> TickOutcome:
        started.set()
        release.wait(5)
        return TickOutcome(namespace, name, Phase.PROGRESSING)

    ticker = ShiftTicker(hung, now=lambda: NOW)
    worker = threading.Thread(target=ticker.tick, args=(KEY,))
    worker.start()
    assert started.wait(5)
    try:
        assert ticker.stop(timeout=0.1) == [KEY]
    finally:
        release.set()
        worker.join(5)


class FakePrometheus:
    """Answers every query with its own serial number, so a caller can tell clients apart."""

    def __init__(self, serial: int) -> None:
        self.serial = serial
        self.closed = False

    def instant_query(self, promql: str) -> list[Sample]:
        return [Sample(value=float(self.serial))]

    def close(self) -> None:
        self.closed = True


def test_each_thread_gets_its_own_prometheus_client_and_close_closes_them_all() -> None:
    made: list[FakePrometheus] = []
    lock = threading.Lock()

    def factory() -> FakePrometheus:
        with lock:
            made.append(FakePrometheus(len(made)))
            return made[-1]

    client = PerThreadQueryClient(factory)
    together = threading.Barrier(3)  # all three threads alive at once: no ident reuse
    seen: dict[int, list[float]] = {}

    def query(index: int) -> None:
        together.wait(5)
        seen[index] = [client.instant_query("up")[0].value for _ in range(2)]

    threads = [threading.Thread(target=query, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(made) == 3
    assert all(first == second for first, second in seen.values())  # reused within a thread
    assert sorted(first for first, _ in seen.values()) == [0.0, 1.0, 2.0]
    client.close()
    assert all(fake.closed for fake in made)


def test_a_deleted_shift_is_logged_as_gone() -> None:
    def gone(namespace: str, name: str, now: datetime) -> TickOutcome:
        return TickOutcome(namespace, name, None, message="TrafficShift deleted")

    with capture_logs() as logs:
        ShiftTicker(gone, now=lambda: NOW).tick(KEY)
    [entry] = events(logs, "shift.gone")
    assert entry["shift"] == "reviews-v3"


def test_forgetting_a_shift_starts_its_failure_count_over() -> None:
    errors = [UnavailableError("API server unreachable") for _ in range(2)]
    ticker = ShiftTicker(Reconciler(*errors), now=lambda: NOW)
    with capture_logs() as logs:
        ticker.tick(KEY)
        ticker.forget(KEY)
        ticker.tick(KEY)
    counts = [entry["consecutive_failures"] for entry in events(logs, "tick.failed")]
    assert counts == [1, 1]


def test_quiet_asks_the_probe_with_the_shift_and_the_clocks_time() -> None:
    asked: list[tuple[str, str, datetime]] = []

    def probe(namespace: str, name: str, now: datetime) -> bool:
        asked.append((namespace, name, now))
        return True

    ticker = ShiftTicker(Reconciler(), now=lambda: NOW, quiet=probe)
    assert ticker.quiet(KEY)
    assert asked == [("bookinfo", "reviews-v3", NOW)]


def test_without_a_probe_no_tick_is_quiet() -> None:
    assert not ShiftTicker(Reconciler(), now=lambda: NOW).quiet(KEY)


def test_a_shift_whose_last_tick_failed_is_never_quiet_so_it_is_retried() -> None:
    ticker = ShiftTicker(Reconciler(RuntimeError("a bug")), now=lambda: NOW, quiet=lambda *_: True)
    with capture_logs():
        ticker.tick(KEY)
    assert not ticker.quiet(KEY)
    ticker.tick(KEY)  # succeeds this time
    assert ticker.quiet(KEY)


def test_nothing_is_quiet_while_ticks_should_not_run_or_after_stop() -> None:
    leading = {"now": False}
    ticker = ShiftTicker(
        Reconciler(), now=lambda: NOW, should_run=lambda: leading["now"], quiet=lambda *_: True
    )
    assert not ticker.quiet(KEY)
    leading["now"] = True
    assert ticker.quiet(KEY)
    ticker.stop(timeout=0.1)
    assert not ticker.quiet(KEY)
