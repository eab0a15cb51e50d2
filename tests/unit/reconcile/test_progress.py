"""The progress view of ``weightgate run``: the headline, one line per gate, a block on change, a
heartbeat only after 15 s of no change, and every transition printed once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from controller.api.status import GateStatus, GateVerdict, Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from controller.pipeline import DriveOptions, drive
from controller.progress import HEARTBEAT, ProgressPrinter, gate_lines, headline
from controller.reconcile import TickOutcome
from controller.rollout import Transition
from tests.unit.reconcile.builders import (
    NAMESPACE,
    SHIFT_NAME,
    Clock,
    at,
    bookinfo_cluster,
    make_deps,
    shift_manifest,
)

SPEC = TrafficShiftSpec.model_validate(shift_manifest()["spec"])  # [10, 50, 100], 30s
WHO = f"{NAMESPACE}/{SHIFT_NAME}"


def _outcome(
    phase: Phase = Phase.PROGRESSING,
    *,
    step: int = 1,
    weight: int = 10,
    gates: tuple[GateStatus, ...] = (),
    transitions: tuple[Transition, ...] = (),
    message: str = "",
    **status: Any,
) -> TickOutcome:
    recorded = TrafficShiftStatus(
        phase=phase,
        current_step=step,
        canary_weight=weight,
        step_started_at=status.pop("step_started_at", at(0)),
        gates=list(gates),
        **status,
    )
    return TickOutcome(
        NAMESPACE,
        SHIFT_NAME,
        phase,
        weight=weight,
        step=step,
        transitions=transitions,
        gates=gates,
        message=message,
        status=recorded,
    )


@pytest.mark.parametrize(
    ("outcome", "now", "expected"),
    [
        (_outcome(), at(12), f"{WHO}  Progressing  step 1/3  v3 10% / v1 90%  next step in 18s"),
        (
            _outcome(checks_passing_since=at(10)),
            at(12),
            f"{WHO}  Progressing  step 1/3  v3 10% / v1 90%  next step in 28s",
        ),
        (
            _outcome(step=2, weight=50),
            at(45),
            f"{WHO}  Progressing  step 2/3  v3 50% / v1 50%  next step at the next passing check",
        ),
        (
            _outcome(Phase.PROMOTED, step=3, weight=100),
            at(500),
            f"{WHO}  Promoted  step 3/3  v3 100% / v1 0%",
        ),
        (
            _outcome(Phase.ROLLED_BACK, step=2, weight=0),
            at(500),
            f"{WHO}  RolledBack  step 2/3  v3 0% / v1 100%",
        ),
        (
            TickOutcome(NAMESPACE, SHIFT_NAME, Phase.INVALID, message="VirtualService gone"),
            at(0),
            f"{WHO}: Invalid VirtualService gone",
        ),
        (
            TickOutcome(NAMESPACE, SHIFT_NAME, None, message="TrafficShift deleted"),
            at(0),
            f"{WHO}: Deleted TrafficShift deleted",
        ),
    ],
    ids=["countdown", "from-first-pass", "due", "promoted", "rolled-back", "invalid", "deleted"],
)
def test_headline_format(outcome: TickOutcome, now: datetime, expected: str) -> None:
    assert headline(SPEC, outcome, now) == expected


@pytest.mark.parametrize("phase", [Phase.PAUSED, Phase.HOLDING])
def test_headline_of_a_paused_or_holding_shift_promises_no_next_step(phase: Phase) -> None:
    waiting = _outcome(phase)
    assert headline(SPEC, waiting, at(12)) == f"{WHO}  {phase}  step 1/3  v3 10% / v1 90%"


PASSING = GateStatus(
    name="error-rate", verdict=GateVerdict.PASS, value=0.123456, threshold="<= 1", message="ok"
)
FAILING = GateStatus(
    name="latency-p99",
    verdict=GateVerdict.FAIL,
    value=812.5,
    threshold="<= 500",
    message="latency-p99 812.5 > 500 (max)",
)
NO_VALUE = GateStatus(name="error-rate", verdict=GateVerdict.ERROR, threshold="<= 1", message="")


def test_gate_lines_align_name_value_threshold_and_verdict() -> None:
    assert gate_lines((PASSING, FAILING)) == [
        "    error-rate      0.1235  <= 1                     Pass",
        "    latency-p99      812.5  <= 500                   Fail"
        "  (latency-p99 812.5 > 500 (max))",
    ]


def test_gate_line_without_a_value_shows_a_dash_and_no_empty_message() -> None:
    assert gate_lines([NO_VALUE]) == ["    error-rate          -  <= 1                     Error"]


def _printer(clock: Clock) -> tuple[ProgressPrinter, list[str]]:
    lines: list[str] = []
    return ProgressPrinter(SPEC, lines.append, clock.now), lines


def test_a_change_prints_the_headline_then_the_gate_lines() -> None:
    clock = Clock()
    printer, lines = _printer(clock)

    printer(_outcome(gates=(PASSING, FAILING)))

    assert lines == [headline(SPEC, _outcome(), clock.now()), *gate_lines((PASSING, FAILING))]


def test_no_change_prints_a_heartbeat_only_after_15_seconds() -> None:
    clock = Clock()
    printer, lines = _printer(clock)
    printer(_outcome(gates=(PASSING,)))
    printed = len(lines)

    clock.sleep(HEARTBEAT.total_seconds() - 1)
    printer(_outcome(gates=(PASSING,)))
    assert len(lines) == printed

    clock.sleep(1)
    printer(_outcome(gates=(PASSING,)))
    assert lines[printed:] == [headline(SPEC, _outcome(), clock.now())]  # no gate lines

    clock.sleep(5)
    printer(_outcome(gates=(PASSING,)))
    assert len(lines) == printed + 1  # the heartbeat restarted the 15 s


def test_a_message_that_is_no_transition_is_printed_under_the_block() -> None:
    clock = Clock()
    printer, lines = _printer(clock)

    printer(_outcome(message="read-back shows v1 100%"))

    assert lines[-1] == "    read-back shows v1 100%"


def test_each_transition_is_printed_once_over_a_whole_run() -> None:
    clock = Clock()
    printer, lines = _printer(clock)

    drive(
        make_deps(bookinfo_cluster()),
        NAMESPACE,
        SHIFT_NAME,
        options=DriveOptions(tick_seconds=5),
        on_tick=printer,
        now=clock.now,
        sleep=clock.sleep,
    )

    told = [line for line in lines if line.startswith("  * ")]
    reasons = [line.split(":")[0].removeprefix("  * ") for line in told]
    assert reasons == ["ShiftStarted", "StepAdvanced", "StepAdvanced", "Promoted"]
    assert len(set(told)) == len(told)
    headlines = [line for line in lines if line.startswith(WHO)]
    assert headlines[-1] == f"{WHO}  Promoted  step 3/3  v3 100% / v1 0%"
    assert lines.index(headlines[-1]) == len(lines) - 3  # then its two gate lines
    # Ticks every 5 s over more than a minute: the view did not print on every one.
    assert len(clock.slept) > len(headlines)
    assert clock.now() - at(0) > timedelta(minutes=1)
