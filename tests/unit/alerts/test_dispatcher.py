"""The dispatcher over a scripted transport: outcomes, bookkeeping, bounded time, no raising."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest

from controller.alerts import AlertSettings, Dispatcher, PendingAlert, SecretResolver
from controller.alerts.transport import HttpAnswer, HttpRequest, TransportFailure
from tests.unit.alerts.builders import T0, at, rollback_alert, settings
from tests.unit.alerts.fakes import ScriptedTransport

SETTINGS = settings(
    am={"type": "alertmanager", "url": "http://am.example:9093", "timeoutSeconds": 0.3},
    other={"type": "alertmanager", "url": "http://other.example:9093", "timeoutSeconds": 0.3},
)


@pytest.fixture
def transport() -> ScriptedTransport:
    return ScriptedTransport()


@pytest.fixture
def dispatcher(transport: ScriptedTransport) -> Iterator[Dispatcher]:
    with Dispatcher(
        SETTINGS, secrets=SecretResolver(environ={}), transport=transport, rng=random.Random(3)
    ) as running:
        yield running


def _dispatcher(config: AlertSettings, transport: ScriptedTransport) -> Dispatcher:
    return Dispatcher(config, secrets=SecretResolver(environ={}), transport=transport)


def test_delivered_alert_leaves_the_outbox(dispatcher: Dispatcher) -> None:
    alert = rollback_alert("am")
    report = dispatcher.dispatch([alert], T0)
    assert report.pending == ()
    assert report.delivered == (alert,)
    assert report.changed


def test_failed_alert_stays_with_its_backoff_and_error(
    dispatcher: Dispatcher, transport: ScriptedTransport
) -> None:
    transport.script.append(HttpAnswer(503, "down"))
    (kept,) = dispatcher.dispatch([rollback_alert("am")], T0).pending
    assert kept.attempts == 1
    assert kept.last_error == "http://am.example:9093/***: HTTP 503: down"
    assert at(0.8) <= kept.next_attempt_at <= at(1.2)


def test_entries_not_due_are_returned_untouched_and_not_sent(
    dispatcher: Dispatcher, transport: ScriptedTransport
) -> None:
    later = rollback_alert("am").model_copy(update={"next_attempt_at": at(60)})
    report = dispatcher.dispatch([later], T0)
    assert report.pending == (later,)
    assert not report.changed
    assert transport.sent == []


def test_unconfigured_provider_is_a_failed_attempt_with_the_fix(dispatcher: Dispatcher) -> None:
    (kept,) = dispatcher.dispatch([rollback_alert("pager")], T0).pending
    assert kept.attempts == 1
    assert "provider 'pager' is not configured" in kept.last_error


def test_our_own_misconfiguration_backs_off_long_and_is_marked(
    dispatcher: Dispatcher, transport: ScriptedTransport
) -> None:
    """An unknown provider, or a webhook whose Secret is missing, cannot be helped by retrying
    every few minutes: the entry is marked and waits retry.misconfiguredBackoff (30m)."""
    hook = settings(
        hook={"type": "webhook", "url": "http://hook.example/in", "secret": {"env": "NOPE"}}
    )
    with _dispatcher(hook, transport) as missing_secret:
        (kept,) = missing_secret.dispatch([rollback_alert("hook")], T0).pending
    assert kept.misconfigured
    assert "secret unavailable" in kept.last_error
    assert kept.next_attempt_at >= T0 + hook.retry.misconfigured_backoff
    assert transport.sent == []
    (unknown,) = dispatcher.dispatch([rollback_alert("pager")], T0).pending
    assert unknown.misconfigured
    assert unknown.next_attempt_at >= T0 + SETTINGS.retry.misconfigured_backoff
    transport.script.append(HttpAnswer(503, "down"))
    (receiver_down,) = dispatcher.dispatch([rollback_alert("am")], T0).pending
    assert not receiver_down.misconfigured
    assert receiver_down.next_attempt_at < at(5)


def test_alert_past_the_give_up_period_becomes_undeliverable(
    dispatcher: Dispatcher, transport: ScriptedTransport
) -> None:
    transport.script.append(HttpAnswer(503, "down"))
    old = rollback_alert("am").model_copy(update={"attempts": 280})
    report = dispatcher.dispatch([old], T0 + SETTINGS.retry.give_up_after)
    assert report.pending == ()
    (lost,) = report.undeliverable
    assert lost.attempts == 281
    assert "Gave up delivering the rollback alert" in lost.message


def test_a_transport_that_raises_never_breaks_dispatch(
    dispatcher: Dispatcher, transport: ScriptedTransport
) -> None:
    transport.script.append(KeyError("surprise"))
    (kept,) = dispatcher.dispatch([rollback_alert("am")], T0).pending
    assert kept.last_error == "http://am.example:9093/***: KeyError"


def test_broken_input_returns_the_outbox_unchanged_instead_of_raising(
    dispatcher: Dispatcher,
) -> None:
    alert = rollback_alert("am")
    naive = T0.replace(tzinfo=None)
    assert dispatcher.dispatch([alert], naive).pending == (alert,)


def test_a_hanging_receiver_costs_at_most_the_timeout() -> None:
    release = threading.Event()
    transport = ScriptedTransport(on_post=lambda _: release.wait(5))
    with _dispatcher(SETTINGS, transport) as dispatcher:
        started = time.monotonic()
        report = dispatcher.dispatch([rollback_alert("am"), rollback_alert("other")], T0)
        elapsed = time.monotonic() - started
        release.set()
    assert elapsed < 0.3 + 0.25
    assert [a.last_error for a in report.pending] == [
        "http://am.example:9093/***: no answer within 0.3s",
        "http://other.example:9093/***: no answer within 0.3s",
    ]


def test_provider_that_timed_out_rests_until_its_backoff_passed() -> None:
    transport = ScriptedTransport([TransportFailure("no answer within 0.3s", timed_out=True)])
    with _dispatcher(SETTINGS, transport) as dispatcher:
        (waiting,) = dispatcher.dispatch([rollback_alert("am")], T0).pending
        fresh = rollback_alert("am", now=at(0.5))
        rested = dispatcher.dispatch([fresh], at(0.5))
        assert rested.pending == (fresh,)
        assert len(transport.sent) == 1
        resumed = dispatcher.dispatch([fresh], waiting.next_attempt_at)
    assert resumed.delivered == (fresh,)


def test_at_most_max_per_dispatch_alerts_are_attempted_per_call() -> None:
    config = SETTINGS.model_copy(update={"max_per_dispatch": 2})
    alerts: list[PendingAlert] = [rollback_alert("am", now=at(n)) for n in range(5)]
    transport = ScriptedTransport()
    with _dispatcher(config, transport) as dispatcher:
        report = dispatcher.dispatch(alerts, at(10))
    assert report.delivered == tuple(alerts[:2])
    assert report.pending == tuple(alerts[2:])


def test_requests_carry_the_provider_timeout(transport: ScriptedTransport) -> None:
    seen: list[HttpRequest] = []
    transport.on_post = seen.append
    with _dispatcher(SETTINGS, transport) as dispatcher:
        dispatcher.dispatch([rollback_alert("am")], T0)
    assert [r.timeout_seconds for r in seen] == [0.3]
