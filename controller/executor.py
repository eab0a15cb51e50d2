"""The scheduler's thread pool, which also reports how late each job started.

APScheduler 3 documents subclassing ``BaseExecutor`` and implementing ``_do_submit_job`` as the
way to write an executor; this one runs jobs in a ``concurrent.futures`` thread pool like the
stock ``ThreadPoolExecutor`` and, as a worker picks a job up, calls ``on_start(job_id, lag)``
with the time since the job's scheduled run (the earliest one, when several missed runs were
coalesced into this one). That lag is the controller's tick lag: how far behind its schedule a
busy controller runs.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job

OnStart = Callable[[str, float], None]


class LagReportingExecutor(BaseExecutor):  # type: ignore[misc]  # apscheduler is untyped
    """`skip(job)`, when given and true, means the job has nothing to do this time: it counts as
    started (its lag is reported) but is not handed to a worker thread at all. For a thousand
    shifts ticked every second, the hand-off (a future, a queue, a worker waking up for the
    GIL) cost more than the quiet tick itself, and every such hand-off contended with the ticks
    that had work."""

    def __init__(
        self, max_workers: int, on_start: OnStart, skip: Callable[[Any], bool] | None = None
    ) -> None:
        super().__init__()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="tick"
        )
        self._on_start = on_start
        self._skip = skip

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        if self._skip is not None and self._skip(job):
            self._on_start(str(job.id), (datetime.now(UTC) - min(run_times)).total_seconds())
            return
        super().submit_job(job, run_times)

    def _do_submit_job(self, job: Any, run_times: Sequence[datetime]) -> None:
        scheduled = min(run_times)
        future = self._pool.submit(self._run, job, list(run_times), scheduled)
        future.add_done_callback(partial(self._finished, job.id))

    def _run(self, job: Any, run_times: list[datetime], scheduled: datetime) -> Any:
        self._on_start(str(job.id), (datetime.now(UTC) - scheduled).total_seconds())
        return run_job(job, job._jobstore_alias, run_times, self._logger.name)

    def _finished(self, job_id: str, future: concurrent.futures.Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            self._run_job_error(job_id, error, error.__traceback__)
        else:
            self._run_job_success(job_id, future.result())

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)
