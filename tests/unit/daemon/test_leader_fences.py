"""A replica that does not hold the Lease sends no alert (the leader delivers the outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from controller.alerts import DispatchReport
from controller.api.alerting import PendingAlert
from controller.daemon import LeaderOnlyAlerts
from controller.kube.lease import NotLeaderError

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Recording:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def dispatch(self, pending: Sequence[PendingAlert], now: datetime) -> DispatchReport:
        self.sent.append(len(pending))
        return DispatchReport(tuple(pending))


def test_alerts_go_out_only_while_leading() -> None:
    inner = Recording()
    leading = [True]
    fenced = LeaderOnlyAlerts(inner, lambda: leading[0], "replica-a")
    fenced.dispatch([], NOW)
    assert inner.sent == [0]
    leading[0] = False
    with pytest.raises(NotLeaderError, match="replica replica-a does not hold the Lease"):
        fenced.dispatch([], NOW)
    assert inner.sent == [0]
