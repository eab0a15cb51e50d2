"""A model reconcile loop for the property tests: one shift, one VirtualService weight, crashes.

Each tick does what the real loop does: read the live weight, run the gates when `check_due`,
`decide`, write the status, write the VirtualService, read it back, `confirm_write`. A crash
cuts the tick short at one of the points where a SIGKILL loses work. Everything that happened is
recorded so the tests can check the invariants afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from controller.api.status import GateStatus, GateVerdict, Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from controller.rollout import Action, Decision, Observation, Policy, check_due, confirm_write
from controller.rollout import decide as decide_tick
from tests.unit.rollout.builders import T0, gate

GENERATION = 1


class Crash(Enum):
    NONE = "none"
    DECISION_LOST = "decision-lost"  # killed before the status write: the tick never happened
    WRITE_LOST = "write-lost"  # status written, killed before the VirtualService write
    CONFIRM_LOST = "confirm-lost"  # VirtualService written, killed before the confirming status


@dataclass(frozen=True)
class Event:
    """One tick, `after` the previous one."""

    after: timedelta
    verdicts: tuple[GateVerdict, ...] = (GateVerdict.PASS,)
    crash: Crash = Crash.NONE
    foreign_weight: int | None = None  # someone else sets the canary weight before the tick
    paused: bool | None = None  # set spec.paused to this before the tick (None: leave it)


@dataclass(frozen=True)
class Record:
    """One `decide` call and whether its status reached the API server."""

    now: datetime
    before: TrafficShiftStatus | None
    live_weight: int
    checked: bool
    decision: Decision
    persisted: bool


@dataclass
class World:
    spec: TrafficShiftSpec
    check_interval: timedelta
    policy: Policy = field(default_factory=Policy)
    status: TrafficShiftStatus | None = None
    vs_weight: int = 0
    now: datetime = T0
    records: list[Record] = field(default_factory=list)
    persisted: list[TrafficShiftStatus] = field(default_factory=list)
    our_writes: list[tuple[datetime, int]] = field(default_factory=list)
    # (time, weight) whenever the route's weight changed, by anyone
    route_changes: list[tuple[datetime, int]] = field(default_factory=list)
    foreign_writes: int = 0

    def run(self, event: Event) -> Decision:
        self.now += event.after
        if event.paused is not None and event.paused != self.spec.paused:
            self.spec = self.spec.model_copy(update={"paused": event.paused})
        if event.foreign_weight is not None:
            self.foreign_writes += 1
            self._set_route(event.foreign_weight)
        due = check_due(self.spec, self.status, self.now, self.check_interval)
        checked = tuple(_gate(i, v) for i, v in enumerate(event.verdicts)) if due else None
        live = self.vs_weight
        observation = Observation(live_weight=live, gates=checked)
        decision = decide_tick(
            self.spec, GENERATION, self.status, observation, self.now, policy=self.policy
        )
        persisted = event.crash is not Crash.DECISION_LOST
        self.records.append(Record(self.now, self.status, live, due, decision, persisted))
        if persisted:
            self._persist(decision.status)
            self._carry_out(decision, event.crash)
        return decision

    def settle(self, ticks: int = 3) -> None:
        """Crash-free ticks without checks until no recorded write is left unfinished."""
        for _ in range(ticks):
            if self.status is None or not self.status.write_pending:
                return
            self.run(Event(after=timedelta(seconds=1), verdicts=()))

    def _carry_out(self, decision: Decision, crash: Crash) -> None:
        if decision.action is Action.NONE or crash is Crash.WRITE_LOST:
            return
        self._set_route(decision.weight)
        self.our_writes.append((self.now, decision.weight))
        if crash is Crash.CONFIRM_LOST:
            return
        if self.vs_weight == decision.status.canary_weight:  # the read-back agrees
            self._persist(confirm_write(decision.status, self.now))

    def _persist(self, status: TrafficShiftStatus) -> None:
        self.status = status
        self.persisted.append(status)

    def _set_route(self, weight: int) -> None:
        if weight != self.vs_weight:
            self.route_changes.append((self.now, weight))
        self.vs_weight = weight

    def checks_persisted(self) -> int:
        return sum(1 for r in self.records if r.checked and r.persisted)

    @property
    def phase(self) -> Phase | None:
        return self.status.phase if self.status is not None else None


def _gate(index: int, verdict: GateVerdict) -> GateStatus:
    return gate(verdict, name=f"gate-{index}")
