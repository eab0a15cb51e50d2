"""GateRounds: one batch per wall-clock slot and interval, the batched query metric, failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from controller.analysis.client import Sample
from controller.metrics import ControllerMetrics
from controller.reconcile.board import GateBoard
from controller.rounds import GateRounds, slot
from tests.unit.analysis.batch_builders import THREE, shift

# A moment on a multiple of both 10 s and 60 s, so slots start at offsets 0, 10, ..., 60.
START = datetime.fromtimestamp(1_700_000_040, tz=UTC)
TEN = timedelta(seconds=10)
MINUTE = timedelta(minutes=1)
REVIEWS = shift(0)  # namespace team-0, three builtin gates
RATINGS = shift(1)  # namespace team-1


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


@dataclass
class Telemetry:
    """A QueryClient under which every canary has 100 requests and passes every gate; raises
    the queued errors first, one per query."""

    failures: list[Exception] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def instant_query(self, promql: str) -> list[Sample]:
        self.asked.append(promql)
        if self.failures:
            raise self.failures.pop(0)
        value = 100.0 if "increase(" in promql else 0.1
        return [
            Sample(
                value,
                {
                    "destination_service_name": r.canary.service,
                    "destination_workload_namespace": r.canary.namespace,
                    "destination_version": r.canary.version,
                },
            )
            for r in (REVIEWS, RATINGS)
        ]


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    board: GateBoard
    client: Telemetry
    metrics: ControllerMetrics
    clock: Clock
    rounds: GateRounds

    def run_at(self, seconds: float) -> None:
        self.clock.now = at(seconds)
        self.rounds.run()

    def batched_queries(self) -> float:
        value = self.metrics.registry.get_sample_value(
            "weightgate_prometheus_queries_total", {"mode": "batched"}
        )
        return value or 0.0


def rig(leading: list[bool] | None = None) -> Rig:
    board, client, metrics, clock = GateBoard(), Telemetry(), ControllerMetrics(), Clock()
    should_run = (lambda: leading[-1]) if leading is not None else (lambda: True)
    rounds = GateRounds(board, client, metrics, now=clock, should_run=should_run)
    return Rig(board, client, metrics, clock, rounds)


@pytest.fixture
def ten() -> Rig:
    """Reviews registered with a 10 s check interval."""
    made = rig()
    made.board.register(REVIEWS.key, REVIEWS, TEN)
    return made


def test_a_slot_is_the_floor_of_wall_clock_time_over_the_interval() -> None:
    assert slot(at(0), TEN) == slot(at(9.999), TEN) == 170_000_004
    assert slot(at(10), TEN) == 170_000_005
    assert slot(at(59), MINUTE) == slot(at(0), MINUTE) != slot(at(60), MINUTE)


def test_runs_within_one_slot_send_one_batch(ten: Rig) -> None:
    ten.run_at(0.5)
    ten.run_at(9.99)
    assert len(ten.client.asked) == 4  # the count and three gates, once
    taken = ten.board.take(REVIEWS.key, after=None, now=at(9.99), interval=TEN)
    assert taken is not None
    assert [s.name for s in taken] == [g.name for g in THREE]
    assert {s.checked_at for s in taken} == {at(0.5)}


def test_a_new_slot_runs_again_however_close_the_runs_are(ten: Rig) -> None:
    ten.run_at(9.9)
    ten.run_at(10.0)
    assert len(ten.client.asked) == 8


def test_the_batched_query_metric_counts_each_batchs_queries(ten: Rig) -> None:
    ten.run_at(0)
    assert ten.batched_queries() == 4
    ten.run_at(10)
    assert ten.batched_queries() == 8
    rounds = ten.metrics.registry.get_sample_value("weightgate_gate_round_seconds_count")
    assert rounds == 2


def test_each_interval_has_rounds_of_its_own(ten: Rig) -> None:
    ten.board.register(RATINGS.key, RATINGS, MINUTE)
    ten.run_at(0)
    assert len(ten.client.asked) == 8  # a batch per interval
    ten.run_at(10)
    assert len(ten.client.asked) == 12
    assert all('=~"team-0"' in query for query in ten.client.asked[8:])
    ten.run_at(59)
    assert len(ten.client.asked) == 16
    ten.run_at(60)
    assert len(ten.client.asked) == 24
    assert ten.batched_queries() == 24


def test_nothing_runs_while_should_run_says_no_and_the_round_runs_once_it_says_yes() -> None:
    leading = [False]
    made = rig(leading)
    made.board.register(REVIEWS.key, REVIEWS, TEN)
    made.run_at(1)
    assert made.client.asked == []
    assert made.batched_queries() == 0
    assert made.board.take(REVIEWS.key, after=None, now=at(1), interval=TEN) is None
    leading.append(True)
    made.run_at(2)
    assert len(made.client.asked) == 4


def test_a_round_that_raises_is_logged_and_retried_at_the_next_run(ten: Rig) -> None:
    ten.client.failures.append(RuntimeError("a bug in the client"))
    with capture_logs() as logs:
        ten.run_at(1)
    [failed] = [entry for entry in logs if entry["event"] == "gate.round_failed"]
    assert failed["error"] == "RuntimeError: a bug in the client"
    assert ten.batched_queries() == 0
    assert ten.board.take(REVIEWS.key, after=None, now=at(1), interval=TEN) is None
    ten.run_at(2)  # the same slot: the failed round was not marked done
    assert len(ten.client.asked) == 5
    assert ten.batched_queries() == 4
    assert ten.board.take(REVIEWS.key, after=None, now=at(2), interval=TEN) is not None


def test_no_registered_shift_means_no_query() -> None:
    made = rig()
    made.run_at(0)
    assert made.client.asked == []
    assert made.batched_queries() == 0
