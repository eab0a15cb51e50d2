"""Batched gate rounds: one scheduler job that checks every registered shift's gates at once.

Owns ``GateRounds``. Rounds are aligned to the wall clock, at each multiple of a check interval
(``floor(now / interval)`` changes), so every shift checked every 10 s is checked in the same
round, whatever second its own ticks fall on; shifts with another ``checkInterval`` have rounds
of their own. A round sends a handful of queries for all of them (``evaluate_batch``) and posts
the results on the ``GateBoard``, where each shift's next tick (within a tick period) takes
its own. The job runs every tick period, so a new interval gets its first round at once.

Between two rounds, each run also *watches* the shifts the sequential judge decides alone: one
query reads their counters, and those whose canary had new events (a 5xx, a request above a
bucket edge) since they were last judged are judged again (``evaluate_batch(watch=...)``). Only
a failure is posted, so a canary whose evidence reaches its bound is rolled back a tick period
after the scrape that shows it, not up to a check interval later, while every other result
still waits for its round (the e-values are anytime-valid: looking more often costs no
confidence).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from controller.analysis.batched import evaluate_batch
from controller.analysis.client import QueryClient
from controller.analysis.readings import Watch, watchable
from controller.api.status import GateVerdict
from controller.metrics import ControllerMetrics
from controller.reconcile.board import GateBoard
from controller.telemetry import get_logger
from controller.ticking import always, utc_now

ROUND_JOB_ID = "gate-rounds"


def _yield() -> None:
    """Let the tick threads have the GIL between two shifts' judging. A round is a second of
    pure Python for a thousand shifts; without this, each tick waiting to come back from a lock
    or a socket waited out the round's whole switch interval (5 ms) every time, and ticks fell a
    second or two behind after every round (bench/scale.py)."""
    time.sleep(0)


def slot(now: datetime, interval: timedelta) -> int:
    """Which round of ``interval`` the moment ``now`` falls in."""
    return math.floor(now.timestamp() / interval.total_seconds())


def watching(now: datetime, interval: timedelta, period: timedelta) -> bool:
    """Whether a run at `now` (no round due) watches: not when the next run, a tick period on,
    falls in the next slot, since that round comes as soon (it saves a query per interval)."""
    return slot(now + period, interval) == slot(now, interval)


class GateRounds:
    """The round job's function (``run``); ticks no shift itself."""

    def __init__(
        self,
        board: GateBoard,
        client: QueryClient,
        metrics: ControllerMetrics,
        *,
        now: Callable[[], datetime] = utc_now,
        should_run: Callable[[], bool] = always,
        period: timedelta = timedelta(seconds=1),
    ) -> None:
        self._board = board
        self._client = client
        self._metrics = metrics
        self._now = now
        self._should_run = should_run
        self._period = period  # how often `run` is called
        self._done: dict[timedelta, int] = {}  # interval -> last slot a round ran in
        self._watches: dict[timedelta, Watch] = {}  # interval -> what its watches judged
        self._log = get_logger()

    def run(self) -> None:
        """Run the rounds that are due; never raises (a failed round is retried next second)."""
        if not self._should_run():
            return
        now = self._now()
        intervals = self._board.intervals()
        for gone in set(self._watches) - intervals:
            del self._watches[gone]
        for interval in sorted(intervals):
            due = self._done.get(interval) != slot(now, interval)
            try:
                if due:
                    self._round(interval, now)
                elif watching(now, interval, self._period):
                    self._watch(interval, now)
            except Exception as exc:  # noqa: BLE001 - any bug stays in this round
                self._log.warning(
                    "gate.round_failed" if due else "gate.watch_failed",
                    error=f"{type(exc).__name__}: {exc}",
                )
                continue
            if due:
                self._done[interval] = slot(now, interval)

    def _round(self, interval: timedelta, now: datetime) -> None:
        started = time.monotonic()
        requests = self._board.requests(interval)
        if not requests:
            return
        result = evaluate_batch(requests, client=self._client, now=now, between=_yield)
        self._board.post(result.statuses, now, result.evidence, result.snapshots)
        seconds = time.monotonic() - started
        self._metrics.prometheus_queries.labels("batched").inc(result.queries)
        self._metrics.gate_rounds.observe(seconds)
        self._log.debug(
            "gate.round",
            interval_seconds=interval.total_seconds(),
            shifts=len(requests),
            queries=result.queries,
            seconds=round(seconds, 3),
        )

    def _watch(self, interval: timedelta, now: datetime) -> None:
        requests = [r for r in self._board.requests(interval) if watchable(r)]
        if not requests:
            return
        watch = self._watches.setdefault(interval, Watch())
        watch.keep_only({r.key for r in requests})
        result = evaluate_batch(requests, client=self._client, now=now, watch=watch, between=_yield)
        self._metrics.prometheus_queries.labels("watch").inc(result.queries)
        failed = {
            key: gates
            for key, gates in result.statuses.items()
            if any(g.verdict is GateVerdict.FAIL for g in gates)
        }
        self._board.post(failed, now, result.evidence, result.snapshots)
        if failed:
            self._log.debug("gate.watch", shifts=len(requests), failed=len(failed))
