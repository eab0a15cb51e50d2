"""Delivering a shift's due alerts, in bounded time, without ever raising.

`Dispatcher.dispatch(pending, now)` attempts the entries of the outbox that are due, in a small
thread pool, and returns a `DispatchReport` holding the whole outbox afterwards. Its cost per
call is bounded: each request has its provider's connect and read timeouts, and the call stops
waiting when the longest timeout among the providers it used has passed. A request still
running then counts as a timed-out attempt (at-least-once: if it lands after all, the receiver
sees a repeat it can drop by dedup key); one not started yet is simply left for next time.

A provider whose request timed out is also left alone, for every shift, until that attempt's
backoff has passed, so a receiver that is down forever costs one timeout per backoff period
rather than one per tick per shift. That memory is only an optimisation: it is lost on restart
and nothing depends on it. Create one Dispatcher per process and `close` it on shutdown.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import structlog

from controller.alerts.book import DispatchReport, Undeliverable
from controller.alerts.config import DEFAULT_TIMEOUT_SECONDS, AlertSettings
from controller.alerts.notifiers import Attempt, deliver, location
from controller.alerts.outbox import DeliveryResult, RandomSource, after_attempt, due
from controller.alerts.pending import AlertKey, PendingAlert
from controller.alerts.secretref import SecretResolver
from controller.alerts.transport import RequestsTransport, Transport

_log = structlog.get_logger("weightgate.alerts")


def _unconfigured(alert: PendingAlert) -> str:
    return (
        f"provider '{alert.provider}' is not configured: add it under alerts.providers in the "
        "controller settings"
    )


class Dispatcher:
    """Delivers due outbox entries via the configured providers. Thread-safe."""

    def __init__(
        self,
        settings: AlertSettings,
        *,
        secrets: SecretResolver | None = None,
        transport: Transport | None = None,
        rng: RandomSource | None = None,
    ) -> None:
        self.settings = settings
        self._secrets = secrets or SecretResolver()
        self._transport = transport or RequestsTransport()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._pool = ThreadPoolExecutor(settings.max_parallel, thread_name_prefix="alerts")
        self._cooling: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def dispatch(self, pending: Sequence[PendingAlert], now: datetime) -> DispatchReport:
        """Attempt what is due at `now`; never raises (on a bug, the outbox is kept as is)."""
        try:
            return self._dispatch(pending, now)
        except Exception:  # noqa: BLE001 - alerting must never break a reconcile tick
            _log.exception("alerts.dispatch_failed")
            return DispatchReport(tuple(pending))

    def _dispatch(self, pending: Sequence[PendingAlert], now: datetime) -> DispatchReport:
        todo = [a for a in due(pending, now) if not self._cooling_down(a.provider, now)]
        todo = todo[: self.settings.max_per_dispatch]
        if not todo:
            return DispatchReport(tuple(pending))
        started = time.monotonic()
        attempts = self._attempt_all(todo, now)
        # Backoff counts from when the attempts ended: a receiver slower than the first backoff
        # must not be tried again on the very next tick.
        ended = now + timedelta(seconds=time.monotonic() - started)
        return self._report(pending, attempts, ended)

    def _cooling_down(self, provider: str, now: datetime) -> bool:
        with self._lock:
            until = self._cooling.get(provider)
            return until is not None and now < until

    def _budget(self, alerts: Sequence[PendingAlert]) -> float:
        providers = [self.settings.providers.get(alert.provider) for alert in alerts]
        timeouts = [p.timeout_seconds for p in providers if p is not None]
        return max(timeouts, default=DEFAULT_TIMEOUT_SECONDS)

    def _attempt_all(
        self, alerts: Sequence[PendingAlert], now: datetime
    ) -> dict[AlertKey, Attempt]:
        attempts: dict[AlertKey, Attempt] = {}
        running: dict[Future[Attempt], PendingAlert] = {}
        for alert in alerts:
            provider = self.settings.providers.get(alert.provider)
            if provider is None:
                failure = DeliveryResult.failed(_unconfigured(alert), misconfigured=True)
                attempts[alert.key] = Attempt(failure)
                continue
            future = self._pool.submit(
                deliver,
                alert,
                provider,
                settings=self.settings,
                resolver=self._secrets,
                transport=self._transport,
                sent_at=now,
            )
            running[future] = alert
        attempts.update(self._collect(running, self._budget(alerts)))
        return attempts

    def _collect(
        self, running: dict[Future[Attempt], PendingAlert], budget: float
    ) -> dict[AlertKey, Attempt]:
        """Results within `budget` seconds; a request still running then counts as timed out."""
        done, late = wait(running, timeout=budget)
        attempts = {running[future].key: future.result() for future in done}
        for future in late:
            if future.cancel():  # never started: not an attempt, it stays due
                continue
            alert = running[future]
            where = location(self.settings.providers[alert.provider])
            attempts[alert.key] = Attempt(
                DeliveryResult.failed(f"{where}: no answer within {budget:g}s"), timed_out=True
            )
        return attempts

    def _report(
        self,
        pending: Sequence[PendingAlert],
        attempts: dict[AlertKey, Attempt],
        now: datetime,
    ) -> DispatchReport:
        kept: list[PendingAlert] = []
        delivered: list[PendingAlert] = []
        lost: list[Undeliverable] = []
        policy = self.settings.retry
        for alert in pending:
            attempt = attempts.get(alert.key)
            if attempt is None:
                kept.append(alert)
                continue
            result = attempt.result
            following = after_attempt(alert, result, now, self._rng, policy)
            if result.delivered:
                delivered.append(alert)
            elif following is None:
                lost.append(Undeliverable(alert, result.error, now, alert.attempts + 1))
            else:
                kept.append(following)
                self._note_failure(following, attempt.timed_out)
        return DispatchReport(tuple(kept), tuple(delivered), tuple(lost), len(attempts))

    def _note_failure(self, alert: PendingAlert, timed_out: bool) -> None:
        _log.warning(
            "alerts.delivery_failed",
            provider=alert.provider,
            dedup_key=alert.dedup_key,
            attempts=alert.attempts,
            error=alert.last_error,
            next_attempt_at=alert.next_attempt_at.isoformat(),
        )
        if timed_out:
            with self._lock:
                self._cooling[alert.provider] = alert.next_attempt_at

    def close(self) -> None:
        """Stop taking work; requests in flight end by their own timeouts."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
