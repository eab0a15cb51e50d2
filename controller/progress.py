"""The live progress view of ``weightgate run``: step, weight, each gate's value against its
threshold, and the time to the next step, as plain lines that read well in a terminal and in a
CI log alike. A block is printed when something changes, and a short heartbeat line otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from controller.api.status import GateStatus, Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from controller.reconcile import TickOutcome
from controller.rollout import dwell_started_at

HEARTBEAT = timedelta(seconds=15)


def _value(gate: GateStatus) -> str:
    return "-" if gate.value is None else f"{gate.value:.4g}"


def gate_lines(gates: tuple[GateStatus, ...] | list[GateStatus]) -> list[str]:
    width = max((len(g.name) for g in gates), default=0)
    return [
        f"    {g.name:<{width}}  {_value(g):>9}  {g.threshold:<24} {g.verdict.value}"
        + (f"  ({g.message})" if g.verdict.value != "Pass" and g.message else _evidence(g))
        for g in gates
    ]


def _evidence(gate: GateStatus) -> str:
    """A passing sequential gate's evidence in brief: its counts and how far from its bound."""
    found = gate.evidence
    if found is None:
        return ""
    return (
        f"  (canary {found.canary_events}/{found.canary_requests}, evidence "
        f"{found.e_value:.3g} of bound {found.bound:.3g})"
    )


def next_step_in(spec: TrafficShiftSpec, status: TrafficShiftStatus, now: datetime) -> str:
    # Only a Progressing shift counts down: a Paused one waits for a human and a Holding one
    # for its gates, and either restarts the dwell when it moves on.
    if status.phase is not Phase.PROGRESSING or status.step_started_at is None:
        return ""
    waiting = [g for g in status.gates if g.waiting]
    if waiting:
        return "waiting for evidence"
    start = dwell_started_at(status) or status.step_started_at
    remaining = spec.interval - (now - start)
    seconds = max(0, int(remaining.total_seconds()))
    return f"next step in {seconds}s" if seconds else "next step at the next passing check"


def headline(spec: TrafficShiftSpec, outcome: TickOutcome, now: datetime) -> str:
    status = outcome.status
    phase = outcome.phase.value if outcome.phase else "Deleted"
    if status is None:
        return f"{outcome.namespace}/{outcome.name}: {phase} {outcome.message}".rstrip()
    parts = [
        f"{outcome.namespace}/{outcome.name}",
        phase,
        f"step {status.current_step}/{len(spec.steps)}",
        f"{spec.canary} {status.canary_weight}% / {spec.stable} {100 - status.canary_weight}%",
    ]
    timing = next_step_in(spec, status, now)
    if timing:
        parts.append(timing)
    return "  ".join(parts)


class ProgressPrinter:
    """Prints a block on change, a heartbeat line otherwise."""

    def __init__(
        self, spec: TrafficShiftSpec, write: Callable[[str], None], now: Callable[[], datetime]
    ) -> None:
        self.spec = spec
        self.write = write
        self.now = now
        self._last_key: tuple[object, ...] | None = None
        self._last_print: datetime | None = None

    def __call__(self, outcome: TickOutcome) -> None:
        moment = self.now()
        status = outcome.status
        gates = tuple(status.gates) if status else ()
        key = (
            outcome.phase,
            status.current_step if status else None,
            status.canary_weight if status else None,
            tuple((g.name, g.verdict) for g in gates),
            outcome.message,
        )
        for transition in outcome.transitions:
            self.write(f"  * {transition.reason}: {transition.message}")
        if key != self._last_key:
            self.write(headline(self.spec, outcome, moment))
            for line in gate_lines(gates):
                self.write(line)
            told = {t.message for t in outcome.transitions}
            if outcome.message and outcome.message not in told and not outcome.finished:
                self.write(f"    {outcome.message}")
        elif self._last_print is None or moment - self._last_print >= HEARTBEAT:
            self.write(headline(self.spec, outcome, moment))
        else:
            return
        self._last_key = key
        self._last_print = moment
