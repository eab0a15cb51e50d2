"""LagReportingExecutor under a real APScheduler BackgroundScheduler: lag reports, job events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

from controller.executor import LagReportingExecutor

DEADLINE = 5.0  # seconds to wait for a job the scheduler should run at once


class Starts:
    """The on_start callback: every (job id, lag) reported, and an event per report."""

    def __init__(self) -> None:
        self.reported: list[tuple[str, float]] = []
        self.seen = threading.Event()

    def __call__(self, job_id: str, lag: float) -> None:
        self.reported.append((job_id, lag))
        self.seen.set()


class Events:
    """A scheduler listener keeping the job events it is sent."""

    def __init__(self) -> None:
        self.received: list[JobExecutionEvent] = []
        self.seen = threading.Event()

    def __call__(self, event: JobExecutionEvent) -> None:
        self.received.append(event)
        self.seen.set()


@pytest.fixture
def starts() -> Starts:
    return Starts()


@contextmanager
def running(starts: Starts, skip: Any = None) -> Iterator[BackgroundScheduler]:
    """A started scheduler on a LagReportingExecutor (asking `skip`, if given); shut down,
    waiting for its workers, at the end."""
    made = BackgroundScheduler(
        executors={"default": LagReportingExecutor(2, starts, skip=skip)},
        job_defaults={"misfire_grace_time": None},
        timezone=UTC,
    )
    made.start()
    try:
        yield made
    finally:
        # Taking the job store lock first waits out a pass of the scheduler loop that is still
        # removing a finished date job: shutting down under it raises JobLookupError there.
        made.remove_all_jobs()
        made.shutdown(wait=True)


@pytest.fixture
def scheduler(starts: Starts) -> Iterator[BackgroundScheduler]:
    with running(starts) as made:
        yield made


def run_once(scheduler: BackgroundScheduler, func: Any, *, seconds_ago: float) -> str:
    run_date = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return str(scheduler.add_job(func, "date", run_date=run_date, id="tick-reviews").id)


def test_a_job_scheduled_in_the_past_reports_its_lag_and_runs(
    scheduler: BackgroundScheduler, starts: Starts
) -> None:
    ran = threading.Event()
    job_id = run_once(scheduler, ran.set, seconds_ago=3)
    assert ran.wait(DEADLINE), "the job did not run"
    assert starts.seen.wait(DEADLINE)
    [(reported_id, lag)] = starts.reported
    assert reported_id == job_id
    assert 3 <= lag < 3 + DEADLINE


def test_a_job_on_time_reports_a_small_lag(scheduler: BackgroundScheduler, starts: Starts) -> None:
    ran = threading.Event()
    run_once(scheduler, ran.set, seconds_ago=0)
    assert ran.wait(DEADLINE), "the job did not run"
    [(_, lag)] = starts.reported
    assert 0 <= lag < DEADLINE


def test_missed_runs_run_together_report_the_lag_of_the_earliest(
    scheduler: BackgroundScheduler, starts: Starts
) -> None:
    """Without coalescing, the missed runs arrive in one submission: the lag is the oldest's."""
    runs: list[int] = []
    scheduler.add_job(
        lambda: runs.append(1),
        "interval",
        seconds=1,
        id="tick-ratings",
        coalesce=False,
        next_run_time=datetime.now(UTC) - timedelta(seconds=4.5),
    )
    assert starts.seen.wait(DEADLINE)
    scheduler.remove_job("tick-ratings")
    first_id, first_lag = starts.reported[0]
    assert first_id == "tick-ratings"
    assert first_lag >= 4.5


def test_a_job_that_raises_reaches_the_schedulers_error_listener(
    scheduler: BackgroundScheduler, starts: Starts
) -> None:
    def broken() -> None:
        raise ValueError("a bug in the tick")

    errors = Events()
    scheduler.add_listener(errors, EVENT_JOB_ERROR)
    job_id = run_once(scheduler, broken, seconds_ago=1)
    assert errors.seen.wait(DEADLINE), "no EVENT_JOB_ERROR arrived"
    [event] = errors.received
    assert event.job_id == job_id
    assert isinstance(event.exception, ValueError)
    assert str(event.exception) == "a bug in the tick"
    assert [reported for reported, _ in starts.reported] == [job_id]


def test_a_job_that_returns_reaches_the_schedulers_executed_listener(
    scheduler: BackgroundScheduler,
) -> None:
    executed = Events()
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    job_id = run_once(scheduler, lambda: 42, seconds_ago=0)
    assert executed.seen.wait(DEADLINE), "no EVENT_JOB_EXECUTED arrived"
    [event] = executed.received
    assert (event.job_id, event.retval) == (job_id, 42)


def test_a_job_the_skip_says_has_nothing_to_do_reports_its_lag_and_never_runs(
    starts: Starts,
) -> None:
    ran = threading.Event()
    with running(starts, lambda job: True) as scheduler:
        job_id = run_once(scheduler, ran.set, seconds_ago=2)
        assert starts.seen.wait(DEADLINE)
    # shut down with its workers waited for: a job handed to one would have run by now
    [(reported_id, lag)] = starts.reported
    assert reported_id == job_id
    assert lag >= 2
    assert not ran.is_set()


def test_a_job_the_skip_declines_runs_as_usual(starts: Starts) -> None:
    asked: list[str] = []

    def skip(job: Any) -> bool:
        asked.append(str(job.id))
        return False

    ran = threading.Event()
    with running(starts, skip) as scheduler:
        job_id = run_once(scheduler, ran.set, seconds_ago=0)
        assert ran.wait(DEADLINE), "the job did not run"
    assert asked == [job_id]
