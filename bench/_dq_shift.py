"""One simulated shift for bench/decision_quality.py, decided by the project's own judge.

Owns `Setup` (the spec, gates and selectors of one judge on one cell) and `run_shift`: simulated
time from the shift's start, traffic routed by the live weight, Prometheus scraping every
``scrape`` seconds, and a check every ``analysis.checkInterval`` at a random phase (the
controller's rounds are aligned to the wall clock, not to the shift), with the rounds' watches
a tick period apart in between (`evaluate_batch(watch=True)`; only a failure is acted on, as
`controller.rounds` posts only failures). Each check calls exactly
what the controller calls: `request_for`, `evaluate_batch`, `decide`, and `confirm_write` after
a write (the route is taken to follow the write at once); before step 1 is written, the
counters' base is read with `starting_evidence`, as the controller's tick does (unless
``start_base`` is "first-check"). No decision rule lives here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from _dq_prom import SimulatedPrometheus
from _dq_traffic import CANARY, ERR, Cell, Traffic

from controller.analysis.batched import CheckRequest, evaluate_batch, group_matchers, request_for
from controller.analysis.readings import Watch, starting_evidence
from controller.analysis.selectors import SubsetSelector
from controller.analysis.templates import ShiftVariables
from controller.api.gates import Gate
from controller.api.status import GateVerdict, Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShiftSpec
from controller.rollout import Action, Observation, confirm_write, decide
from controller.rounds import watching
from controller.scheduler import tick_period

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALIGNED = T0  # a multiple of every check interval: a slot of the rounds starts here
WARMUP_SECONDS = 120  # stable-only traffic before the start, so the stable series are scraped
DEADLINE_REASON = "ProgressDeadlineExceeded"
KEY = "shift"

CANARY_SUBSET = SubsetSelector("reviews", "default", "v3")
STABLE_SUBSET = SubsetSelector("reviews", "default", "v1")
VARIABLES = ShiftVariables("default", "reviews")
MATCHERS = group_matchers("destination", ["default"])
# The matchers of a check of one shift (its services too): the starting base reads with these.
NARROW_MATCHERS = group_matchers("destination", ["default"], ["reviews"])

PROFILES: dict[str, list[Gate]] = {
    "default": [Gate(name="error-rate", max=1), Gate(name="latency-p99", max=500)],
    "relative": [
        Gate(name="error-rate", max_over_stable=0.5),
        Gate(name="latency-p99", max_ratio_to_stable=1.5),
    ],
}


@dataclass(frozen=True)
class Settings:
    """What every shift of a run shares."""

    profile: str = "default"
    confidence: float = 0.99
    scrape: float = 5.0
    cap: float = 1800.0
    overdispersion: float = 0.0
    seed: int = 1
    # "start": the counters' base is read as step 1 is decided (controller.reconcile.tick's
    # starting evidence: `weightgate run`, or a daemon round that read the namespace);
    # "first-check": no base until the first check (a lone shift under the daemon's rounds).
    start_base: str = "start"


@dataclass
class Setup:
    """One judge's spec and the fixed parts of its checks."""

    spec: TrafficShiftSpec
    gates: list[Gate]
    check_interval: float
    canary: SubsetSelector = CANARY_SUBSET
    stable: SubsetSelector = STABLE_SUBSET
    variables: ShiftVariables = VARIABLES
    matchers: str = MATCHERS
    labels: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def build(cls, judge: str, cell: Cell, settings: Settings) -> Setup:
        spec = TrafficShiftSpec.model_validate({
            "virtualService": "reviews", "stable": "v1", "canary": "v3",
            "steps": list(cell.steps), "interval": f"{cell.interval}s",
            "analysis": {"judge": judge, "confidence": settings.confidence},
        })  # fmt: skip
        check = spec.analysis.check_interval or timedelta(seconds=10)  # the controller default
        setup = cls(spec, PROFILES[settings.profile], check.total_seconds())
        setup.labels = [_labels(setup.stable), _labels(setup.canary)]
        return setup


def _labels(selector: SubsetSelector) -> dict[str, str]:
    return {
        "destination_service_name": selector.service,
        "destination_workload_namespace": selector.namespace,
        "destination_version": selector.version,
    }


@dataclass
class ShiftResult:
    """How one shift ended: "promoted", "rolled_back" or "unfinished" (at the cap)."""

    outcome: str
    deadline: bool
    seconds: float  # from the shift's start to the deciding check (or the cap)
    errors_served: int  # canary 5xx answered before the decision
    checks: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.outcome, self.deadline, self.seconds, self.errors_served, self.checks)


class Timers:
    """Seconds spent in the production calls, and how many calls."""

    def __init__(self) -> None:
        self.evaluate = 0.0
        self.decide = 0.0
        self.calls = 0


class _World:
    """Traffic, scrapes and counters up to the current check."""

    def __init__(
        self,
        setup: Setup,
        cell: Cell,
        key: tuple[int, ...],
        settings: Settings,
        scrape_phase: float,
    ) -> None:
        self.prometheus = SimulatedPrometheus(
            setup.matchers, setup.spec.analysis.window, setup.labels, (NARROW_MATCHERS,)
        )
        self.traffic = Traffic(cell, key, settings.overdispersion, origin=1 - WARMUP_SECONDS)
        self.scrape_every = settings.scrape
        self.done = -WARMUP_SECONDS  # seconds up to this one are counted
        self.cumulative = np.zeros((1, 2, 2, self.prometheus.values.shape[-1]), dtype=np.int64)
        self.next_scrape = scrape_phase - WARMUP_SECONDS

    def advance(self, until: float, weight: int) -> None:
        """Count the seconds up to `until` at `weight`, and take the scrapes due by then."""
        last = math.floor(until)
        seconds = self.cumulative
        if last > self.done:
            added = self.traffic.counts(self.done + 1, last, weight)
            seconds = np.cumsum(added, axis=0) + self.cumulative
        while self.next_scrape <= until:
            # a scrape sees the seconds that ended by then; row -1: none since the last advance
            row = math.floor(self.next_scrape) - self.done - 1
            self.prometheus.scrape(
                self.next_scrape, seconds[row] if row >= 0 else self.cumulative[0]
            )
            self.next_scrape += self.scrape_every
        self.cumulative = seconds[-1:]
        self.done = max(self.done, last)
        self.prometheus.now = until

    @property
    def scrapes(self) -> int:
        return self.prometheus.count

    @property
    def canary_errors(self) -> int:
        return int(self.cumulative[0, CANARY, ERR, 0])


def _request(setup: Setup, status: TrafficShiftStatus) -> CheckRequest:
    return request_for(
        KEY,
        setup.spec,
        status,
        setup.gates,
        canary=setup.canary,
        stable=setup.stable,
        variables=setup.variables,
    )


def _with_starting_base(
    setup: Setup, status: TrafficShiftStatus, client: SimulatedPrometheus, now: datetime
) -> TrafficShiftStatus:
    """The glue of controller.reconcile.tick._with_starting_evidence (its path outside batched
    rounds): the production `starting_evidence` read before step 1 reaches the route."""
    if status.current_step != 1 or status.evidence is not None:
        return status
    evidence = starting_evidence(_request(setup, status), client.instant_query, now)
    return status if evidence is None else status.model_copy(update={"evidence": evidence})


def _next_check(rounds: int, ticks: int, interval: float, tick: timedelta) -> tuple[int, int]:
    """The next run that checks the shift: a watch (`controller.rounds.watching`, on a clock
    whose slots start at the shift's rounds) or the next round."""
    every = timedelta(seconds=interval)
    while (ticks := ticks + 1) * tick < every:
        if watching(ALIGNED + rounds * every + ticks * tick, every, tick):
            return rounds, ticks
    return rounds + 1, 0


def run_shift(
    setup: Setup, cell: Cell, key: tuple[int, ...], settings: Settings, timers: Timers
) -> ShiftResult:
    """One replication: from the start decision to Promoted, RolledBack or the cap."""
    phases = np.random.default_rng([*key, 1 << 30]).random(2)
    interval = setup.check_interval
    world = _World(setup, cell, key, settings, scrape_phase=phases[0] * settings.scrape)
    world.advance(0.0, 0)
    spec = setup.spec
    started = decide(spec, 1, None, Observation(0), T0)
    status = started.status
    if settings.start_base == "start" and started.action is Action.SET_WEIGHT:
        status = _with_starting_base(setup, status, world.prometheus, T0)
    status = confirm_write(status, T0)
    weight = started.weight
    first = float(1.0 - phases[1]) * interval  # the first round, in (0, interval]
    tick = tick_period(timedelta(seconds=interval))
    rounds, ticks = 0, 0  # the check is at first + rounds * interval + ticks * tick
    watch = Watch()
    request = _request(setup, status)
    read_scrapes = -1  # the scrapes taken when the last check read (none yet)
    checks = 0
    while (check_at := first + rounds * interval + ticks * tick.total_seconds()) <= settings.cap:
        watching_now = ticks > 0
        if watching_now and world.scrapes == read_scrapes and world.next_scrape > check_at:
            # No scrape since the last check: Prometheus answers as it did then, and the watch
            # has judged (or found unmoved) exactly those counts; it would judge nothing.
            rounds, ticks = _next_check(rounds, ticks, interval, tick)
            continue
        world.advance(check_at, weight)
        read_scrapes = world.scrapes
        now = T0 + timedelta(seconds=check_at)
        begun = time.perf_counter()
        result = evaluate_batch(
            [request], client=world.prometheus, now=now, watch=watch if watching_now else None
        )
        judged = time.perf_counter()
        timers.evaluate += judged - begun
        rounds, ticks = _next_check(rounds, ticks, interval, tick)
        gates = result.statuses.get(KEY)
        if watching_now and not (gates and any(g.verdict is GateVerdict.FAIL for g in gates)):
            continue  # a watch posts failures only (controller.rounds)
        assert gates is not None
        observation = Observation(weight, tuple(gates), evidence=result.evidence.get(KEY))
        decision = decide(spec, 1, status, observation, now)
        timers.decide += time.perf_counter() - judged
        timers.calls += 1
        checks += 1
        status = decision.status
        if decision.action is not Action.NONE:
            status = confirm_write(status, now)
            weight = decision.weight
        request = _request(setup, status)
        if status.phase.is_final:
            promoted = status.phase is Phase.PROMOTED
            deadline = bool(decision.transitions) and (
                decision.transitions[-1].reason == DEADLINE_REASON
            )
            return ShiftResult(
                "promoted" if promoted else "rolled_back",
                deadline,
                check_at,
                world.canary_errors,
                checks,
            )
    return ShiftResult("unfinished", False, settings.cap, world.canary_errors, checks)
