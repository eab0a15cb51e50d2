"""A shift's alert book across ticks: queueing, resolving rollbacks on promotion, bounds."""

from __future__ import annotations

from controller.alerts import (
    MAX_PENDING,
    AlertBook,
    AlertState,
    DispatchReport,
    Undeliverable,
    due,
    plan,
    settle,
)
from tests.unit.alerts.builders import T0, at, promoted, rollback, rolled_back_facts, routes

ROUTES = routes(("oncall", ["rollback"]), ("chat", ["rollback", "promoted"]))


def _rolled_back() -> AlertBook:
    return plan(AlertBook(), [rollback()], ROUTES, rolled_back_facts(), T0)


def _delivered(book: AlertBook) -> AlertBook:
    return settle(book, DispatchReport(pending=(), delivered=book.pending, attempted=2))


def test_rollback_queues_one_alert_per_provider_and_remembers_them_as_firing() -> None:
    book = _rolled_back()
    assert [(a.provider, a.state) for a in book.pending] == [
        ("oncall", AlertState.FIRING),
        ("chat", AlertState.FIRING),
    ]
    assert book.firing == book.pending


def test_promotion_after_a_delivered_rollback_queues_its_resolves() -> None:
    book = plan(_delivered(_rolled_back()), [promoted()], ROUTES, rolled_back_facts(), at(3600))
    resolves = [a for a in book.pending if a.state is AlertState.RESOLVED]
    assert [(a.provider, a.ends_at) for a in resolves] == [("oncall", at(3600)), ("chat", at(3600))]
    assert {a.dedup_key for a in resolves} == {
        "bookinfo/reviews-v3/3/rollback/2024-05-01T12:00:00Z"
    }
    assert [a.event.value for a in book.pending if a.state is AlertState.FIRING] == ["promoted"]
    assert book.firing == ()


def test_promotion_withdraws_a_rollback_alert_that_was_never_attempted() -> None:
    book = plan(_rolled_back(), [promoted()], ROUTES, rolled_back_facts(), at(60))
    assert [(a.event.value, a.state.value) for a in book.pending] == [("promoted", "firing")]


def test_resolve_waits_until_its_firing_alert_left_the_outbox() -> None:
    tried = _rolled_back()
    attempted = tuple(a.model_copy(update={"attempts": 1}) for a in tried.pending)
    book = plan(
        AlertBook(attempted, tried.firing), [promoted()], ROUTES, rolled_back_facts(), at(60)
    )
    ready = due(book.pending, at(60))
    assert all(a.state is AlertState.FIRING for a in ready)
    firing_gone = tuple(a for a in book.pending if a.state is AlertState.RESOLVED)
    assert {a.state for a in due(firing_gone, at(60))} == {AlertState.RESOLVED}


def test_a_full_outbox_pushes_out_its_oldest_entries_and_reports_them() -> None:
    book = AlertBook()
    for minute in range(MAX_PENDING // 2 + 1):
        book = plan(book, [rollback()], ROUTES, rolled_back_facts(), at(60 * minute))
    assert len(book.pending) == MAX_PENDING
    assert len(book.dropped) == 1
    assert book.dropped[0].alert.created_at == T0
    assert "holds at most 25 alerts" in book.dropped[0].message


def test_settle_forgets_firing_alerts_that_could_not_be_delivered() -> None:
    book = _rolled_back()
    lost = Undeliverable(book.pending[0], "HTTP 503", at(86400), 290)
    settled = settle(
        book, DispatchReport(pending=book.pending[1:], undeliverable=(lost,), attempted=1)
    )
    assert [a.provider for a in settled.firing] == ["chat"]
    assert settled.pending == book.pending[1:]


def test_undeliverable_message_says_what_where_how_long_and_what_to_check() -> None:
    alert = _rolled_back().pending[0]
    message = Undeliverable(alert, "http://am:9093/***: HTTP 503", at(86400), 290).message
    assert message == (
        "Gave up delivering the rollback alert bookinfo/reviews-v3/3/rollback/2024-05-01T12:00:00Z "
        "to provider 'oncall' after 290 attempt(s) over 24h: http://am:9093/***: HTTP 503. "
        "Check alerts.providers.oncall in the controller settings and that the receiver is "
        "reachable; the shift itself is not affected."
    )
