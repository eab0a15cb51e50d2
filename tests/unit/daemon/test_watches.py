"""Watches between rounds: the sequential judge's shifts are judged again each tick period when
their canary had new events (a 5xx, a slow request), and only a failure is posted, so a failing
canary is rolled back a tick period after the data shows it while passes keep their round's
cadence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from controller.analysis.batched import CheckRequest, evaluate_batch
from controller.analysis.readings import Watch, moved, read_counters, watchable
from controller.api.gates import Gate
from controller.api.status import GateVerdict
from controller.api.trafficshift import Judge
from controller.metrics import ControllerMetrics
from controller.reconcile.board import GateBoard
from controller.rounds import GateRounds, watching
from tests.unit.analysis.batch_builders import NOW
from tests.unit.analysis.test_bucket_edges import CANARY, Istio, latency
from tests.unit.daemon.test_rounds import Clock, at

TEN = timedelta(seconds=10)
STABLE = (CANARY[0], CANARY[1], "v1")


class Rig:
    """A board with one registered latency shift (p99 <= 500 ms, sequential), rounds over a
    simulated Istio, and the tick's part done by hand: take a result, register the next check
    with the evidence it carried."""

    def __init__(self, request: CheckRequest | None = None) -> None:
        self.istio = Istio()
        self.board = GateBoard()
        self.metrics = ControllerMetrics()
        self.clock = Clock()
        self.rounds = GateRounds(self.board, self.istio, self.metrics, now=self.clock)
        self.request = request if request is not None else latency(500)
        self.board.register(self.request.key, self.request, TEN)

    def serve(self, requests: int, slow: int = 0) -> None:
        self.istio.serve("v2", requests, slow)
        self.istio.serve("v1", 10 * requests)

    def run_at(self, seconds: float) -> None:
        self.clock.now = at(seconds)
        self.rounds.run()

    def take(self, seconds: float) -> list[GateVerdict] | None:
        posted = self.board.take_posted(self.request.key, after=None, now=at(seconds), interval=TEN)
        if posted is None:
            return None
        if posted.evidence is not None:
            self.request = replace(self.request, evidence=posted.evidence)
            self.board.register(self.request.key, self.request, TEN)
        return [g.verdict for g in posted.gates]

    def queries(self, mode: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "weightgate_prometheus_queries_total", {"mode": mode}
        )
        return value or 0.0


def based() -> Rig:
    """A rig whose shift has passed a round at 0 s (its evidence holds a base and 50 requests)."""
    rig = Rig()
    rig.serve(50)
    rig.run_at(0)
    rig.serve(50)
    rig.run_at(0.5)  # the same slot: a watch, which posts nothing for a passing canary
    assert rig.take(0.5) == [GateVerdict.INCONCLUSIVE]  # the round's: a base, no requests yet
    return rig


def test_a_watch_posts_a_failure_that_is_taken_at_once() -> None:
    rig = based()
    rig.serve(40, slow=40)  # every canary request over 500 ms
    rig.run_at(1)
    assert rig.take(1) == [GateVerdict.FAIL]
    assert rig.queries("watch") == 2  # one query per watch, two watches
    assert rig.queries("batched") == 1


def test_a_watch_posts_no_passing_result_and_the_next_round_does() -> None:
    rig = based()
    rig.serve(40)
    for second in range(1, 10):
        rig.run_at(second)
        assert rig.take(second) is None
    rig.run_at(10)  # a new slot: the round
    assert rig.take(10) == [GateVerdict.PASS]


def test_a_watch_judges_only_a_shift_with_new_canary_events() -> None:
    """New requests that are neither 5xx nor slow can only lower the evidence: not judged."""
    rig = based()
    rig.run_at(10)  # a round: the evidence taken counts every request served so far
    assert rig.take(10) == [GateVerdict.PASS]
    readings, _ = read_counters(rig.istio.instant_query, 'reporter="destination"', buckets=True)
    assert not moved(rig.request, readings)
    rig.serve(30)  # fast ones
    readings, _ = read_counters(rig.istio.instant_query, 'reporter="destination"', buckets=True)
    assert not moved(rig.request, readings)
    rig.serve(1, slow=1)  # one over 500 ms
    readings, _ = read_counters(rig.istio.instant_query, 'reporter="destination"', buckets=True)
    assert moved(rig.request, readings)


def test_a_relative_gate_is_judged_again_when_only_the_stable_moved() -> None:
    request = latency(max_ratio_to_stable=1.5)
    istio = Istio()
    istio.serve("v2", 50)
    istio.serve("v1", 500)
    result = evaluate_batch([request], client=istio, now=NOW)
    request = replace(request, evidence=result.evidence[request.key])
    istio.serve("v1", 100)  # the stable's bound tightens with its requests
    readings, _ = read_counters(istio.instant_query, 'reporter="destination"', buckets=True)
    assert moved(request, readings)
    assert not moved(replace(request, gates=latency(500).gates), readings)


def test_shifts_with_a_threshold_or_count_gate_are_not_watched() -> None:
    assert watchable(latency(500))
    threshold = replace(latency(500), gates=[Gate(name="error-rate", max=1)], judge=Judge.THRESHOLD)
    assert not watchable(threshold)
    count = Gate.model_validate(
        {"name": "checkout-failures", "errorQuery": "a", "totalQuery": "b", "max": 1}
    )
    assert not watchable(replace(latency(500), gates=[*latency(500).gates, count]))
    rig = Rig(threshold)
    rig.serve(50)
    rig.run_at(0)
    asked = rig.queries("batched")
    rig.run_at(1)
    rig.run_at(2)
    assert rig.queries("watch") == 0
    assert rig.queries("batched") == asked
    assert evaluate_batch([threshold], client=rig.istio, now=NOW, watch=True).statuses == {}


def test_a_watch_judges_each_new_reading_once() -> None:
    rig = based()
    watch = Watch()
    rig.serve(20, slow=1)
    readings, _ = read_counters(rig.istio.instant_query, 'reporter="destination"', buckets=True)
    assert watch(rig.request, readings)  # a slow request since the evidence the shift carries
    assert not watch(rig.request, readings)  # the same counts: judged already
    rig.serve(5)
    readings, _ = read_counters(rig.istio.instant_query, 'reporter="destination"', buckets=True)
    assert not watch(rig.request, readings)  # no new event since it was judged
    rig.serve(5, slow=1)
    readings, _ = read_counters(rig.istio.instant_query, 'reporter="destination"', buckets=True)
    assert watch(rig.request, readings)
    watch.keep_only(set())
    assert watch(rig.request, readings)  # forgotten, so judged again


def test_no_watch_runs_a_tick_period_before_a_round() -> None:
    one = timedelta(seconds=1)
    assert [s for s in range(10) if watching(at(s), TEN, one)] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert watching(at(8.5), TEN, one)
    assert not watching(at(9.2), TEN, one)
    rig = based()
    rig.serve(40, slow=40)
    rig.run_at(9)
    assert rig.take(9) is None
    assert rig.queries("watch") == 1  # the one in based()
    rig.run_at(10)  # the round finds the failure
    assert rig.take(10) == [GateVerdict.FAIL]


def test_a_canary_without_traffic_at_its_base_counts_its_first_slow_request_as_an_event() -> None:
    """The base was read before the canary had a series: its evidence keeps no bucket yet."""
    istio = Istio()
    istio.serve("v1", 500)
    request = latency(500)
    result = evaluate_batch([request], client=istio, now=NOW)
    request = replace(request, evidence=result.evidence[request.key])
    assert request.evidence is not None
    assert not request.evidence.canary.read
    watch = Watch()
    istio.serve("v2", 10)
    readings, _ = read_counters(istio.instant_query, 'reporter="destination"', buckets=True)
    assert watch(request, readings)  # the canary's series are new: judged once
    istio.serve("v2", 10)
    readings, _ = read_counters(istio.instant_query, 'reporter="destination"', buckets=True)
    assert not watch(request, readings)  # fast requests only
    istio.serve("v2", 5, slow=5)
    readings, _ = read_counters(istio.instant_query, 'reporter="destination"', buckets=True)
    assert watch(request, readings)
