"""Which batched checks are written to the status at once, and which wait for their shift's
refresh round."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from controller.api.status import (
    Condition,
    GateStatus,
    GateVerdict,
    Phase,
    TrafficShiftStatus,
)
from controller.reconcile.freshness import REFRESH_EVERY_CHECKS, only_refreshes, refresh_round

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=10)


def gate(
    verdict: GateVerdict = GateVerdict.PASS, value: float = 0.1, **extra: object
) -> GateStatus:
    return GateStatus(
        name="error-rate",
        verdict=verdict,
        value=value,
        threshold="<= 1",
        query="q",
        message=f"error-rate {value} <= 1 (max)",
        checked_at=extra.pop("checked_at", T0),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def status(**changes: object) -> TrafficShiftStatus:
    base = TrafficShiftStatus(
        phase=Phase.PROGRESSING,
        current_step=1,
        canary_weight=10,
        last_check_at=T0,
        gates=[gate()],
        conditions=[
            Condition(
                type="Healthy",
                status="True",
                reason="GatesPassing",
                message="All 1 gates pass (checked at 12:00:00).",
                last_transition_time=T0,
            )
        ],
    )
    return base.model_copy(update=changes)


def test_new_values_times_and_messages_alone_are_a_refresh() -> None:
    later = T0 + INTERVAL
    after = status(
        last_check_at=later,
        gates=[gate(value=0.3, checked_at=later)],
        conditions=[
            status().conditions[0].model_copy(update={"message": "All 1 gates pass (later)."})
        ],
    )
    assert only_refreshes(status(), after)


@pytest.mark.parametrize(
    "change",
    [
        {"gates": [gate(GateVerdict.FAIL, 3.0)]},
        {"gates": [gate(critical=True)]},
        {"failed_checks": 1},
        {"checks_passing_since": T0},
        {"phase": Phase.HOLDING},
        {"current_step": 2, "canary_weight": 20},
        {"conditions": [status().conditions[0].model_copy(update={"status": "False"})]},
        {"gates": []},
    ],
    ids=["verdict", "critical", "failed-count", "dwell", "phase", "step", "condition", "gates"],
)
def test_anything_the_state_machine_or_a_reader_acts_on_is_written_at_once(
    change: dict[str, object],
) -> None:
    assert not only_refreshes(status(), status(**change))


def test_a_shift_with_no_status_yet_is_always_written() -> None:
    assert not only_refreshes(None, status())


def test_each_shift_refreshes_once_every_few_rounds_and_shifts_spread_over_rounds() -> None:
    rounds = [T0 + INTERVAL * k for k in range(REFRESH_EVERY_CHECKS * 4)]
    names = [f"shift-{i}" for i in range(120)]
    for name in names:
        turns = [k for k, now in enumerate(rounds) if refresh_round("team", name, now, INTERVAL)]
        assert len(turns) == 4
        assert {b - a for a, b in itertools.pairwise(turns)} == {REFRESH_EVERY_CHECKS}
    per_round = [sum(refresh_round("team", n, now, INTERVAL) for n in names) for now in rounds]
    assert max(per_round) < len(names) / 2  # never all at once
