"""A receiver that is down forever costs each dispatch at most the timeout and never raises."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from controller.alerts import AlertSettings, Dispatcher, PendingAlert
from tests.integration.alerts.conftest import rollback_for, unique_shift
from tests.integration.alerts.receivers import black_hole, closed_port

pytestmark = pytest.mark.integration

TIMEOUT = 0.5
SLACK = 0.3  # scheduling and thread start-up on a busy 2-core machine
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _settings(url: str) -> AlertSettings:
    return AlertSettings.model_validate(
        {
            "providers": {
                "hook": {
                    "type": "webhook",
                    "url": url,
                    "secret": {"value": "dev-secret"},
                    "timeoutSeconds": TIMEOUT,
                }
            }
        }
    )


def _timed_dispatch(
    dispatcher: Dispatcher, pending: list[PendingAlert], now: datetime
) -> tuple[float, list[PendingAlert]]:
    started = time.monotonic()
    report = dispatcher.dispatch(pending, now)
    return time.monotonic() - started, list(report.pending)


def test_closed_port_fails_fast_with_a_redacted_error_and_keeps_retrying() -> None:
    port = closed_port()
    pending = [rollback_for(unique_shift(), "hook", T0), rollback_for(unique_shift(), "hook", T0)]
    now = T0
    with Dispatcher(_settings(f"http://127.0.0.1:{port}/in/tok-secret-123")) as dispatcher:
        for round_ in range(1, 4):
            elapsed, pending = _timed_dispatch(dispatcher, pending, now)
            assert elapsed < TIMEOUT + SLACK
            assert [a.attempts for a in pending] == [round_, round_]
            now = max(a.next_attempt_at for a in pending)
    assert (
        pending[0].last_error
        == f"http://127.0.0.1:{port}/***: could not connect: Connection refused"
    )
    assert "tok-secret-123" not in pending[0].last_error


def test_black_holed_receiver_costs_one_timeout_then_rests_until_its_backoff() -> None:
    with black_hole() as port, Dispatcher(_settings(f"http://127.0.0.1:{port}/in")) as dispatcher:
        pending = [rollback_for(unique_shift(), "hook", T0) for _ in range(3)]
        elapsed, pending = _timed_dispatch(dispatcher, pending, T0)
        assert elapsed < TIMEOUT + SLACK
        assert {a.attempts for a in pending} == {1}
        assert pending[0].last_error == f"http://127.0.0.1:{port}/***: no answer within 0.5s"

        newcomer = rollback_for(unique_shift(), "hook", T0 + timedelta(milliseconds=100))
        elapsed, after = _timed_dispatch(dispatcher, [*pending, newcomer], newcomer.created_at)
        assert elapsed < SLACK
        assert after[-1] == newcomer  # not attempted: the provider is resting

        later = max(a.next_attempt_at for a in pending)
        elapsed, after = _timed_dispatch(dispatcher, after, later)
        assert elapsed < TIMEOUT + SLACK
        assert {a.attempts for a in after} == {1, 2}
