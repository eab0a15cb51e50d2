"""Counting requests from cumulative counters: deltas, scrape gaps, resets, steps, new series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.analysis.counting import (
    ISTIO_FAMILY,
    family,
    gate_key,
    update_evidence,
    update_subset,
)
from controller.api.status import Evidence, SubsetEvidence

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(seconds=5)
STEP_1 = T0 - timedelta(minutes=1)
STEP_2 = T0 + timedelta(minutes=10)

Reading = Mapping[str, float]


def feed(
    canary: Sequence[Reading],
    *,
    stable: Sequence[Reading] | None = None,
    steps: Sequence[datetime | None] | None = None,
) -> list[Evidence]:
    """The evidence after each reading, one every 5 s from T0; stable reads {} unless given."""
    stable = stable if stable is not None else [{}] * len(canary)
    steps = steps if steps is not None else [STEP_1] * len(canary)
    evidence: Evidence | None = None
    history = []
    for index, (c, s, step) in enumerate(zip(canary, stable, steps, strict=True)):
        evidence = update_evidence(
            evidence, canary=c, stable=s, now=T0 + index * TICK, step_started_at=step
        )
        history.append(evidence)
    return history


def last(canary: Sequence[Reading], **kwargs: object) -> Evidence:
    return feed(canary, **kwargs)[-1]  # type: ignore[arg-type]


# -- families ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("requests", ISTIO_FAMILY),
        ("errors", ISTIO_FAMILY),
        ("le=500", ISTIO_FAMILY),
        ("le=+Inf", ISTIO_FAMILY),
        ("checkout-failures:errors", "checkout-failures"),
        ("checkout-failures:total", "checkout-failures"),
    ],
)
def test_counters_are_grouped_in_families_that_reset_together(key: str, expected: str) -> None:
    """Istio's requests, 5xx and buckets are one family; each count gate's pair is another."""
    assert family(key) == expected


def test_a_count_gate_key_names_the_gate_and_the_counter() -> None:
    """gate_key gives <gate>:errors / <gate>:total, and family() gives the gate back."""
    assert gate_key("checkout-failures", "errors") == "checkout-failures:errors"
    assert family(gate_key("checkout-failures", "total")) == "checkout-failures"


# -- the canary's shift counts, reading by reading --------------------------------------------


@dataclass(frozen=True)
class Case:
    readings: list[dict[str, float]]
    shift: dict[str, int]
    id: str
    resets: int = 0
    suspect: list[str] = field(default_factory=list)


CASES = [
    Case([{"requests": 100, "errors": 2}], {}, "the-first-reading-only-sets-the-base"),
    Case(
        [
            {"requests": 100, "errors": 2},
            {"requests": 150, "errors": 2},
            {"requests": 180, "errors": 5},
        ],
        {"requests": 80, "errors": 3},
        "growth-is-counted-as-the-difference-of-readings",
    ),
    Case([{"requests": 100}, {"requests": 100}], {}, "no-growth-counts-nothing"),
    Case(
        [{"requests": 100}, {"requests": 101, "errors": 1}],
        {"requests": 1, "errors": 1},
        "a-never-seen-counter-counts-from-zero-so-the-first-5xx-counts-at-once",
    ),
    Case(
        [{"requests": 100, "le=+Inf": 100}, {"requests": 110, "le=+Inf": 110, "le=500": 9}],
        {"requests": 10, "le=+Inf": 10, "le=500": 9},
        "a-new-bucket-series-counts-from-zero",
    ),
    Case(
        [
            {"requests": 100, "errors": 1},
            {"requests": 60, "errors": 1},
            {"requests": 130, "errors": 2},
        ],
        {"requests": 30, "errors": 1},
        "a-dip-then-recovery-is-a-scrape-gap-counted-from-the-old-base",
    ),
    Case(
        [{"requests": 100, "errors": 1}, {}, {"requests": 130, "errors": 2}],
        {"requests": 30, "errors": 1},
        "a-family-gone-for-one-reading-is-a-scrape-gap",
    ),
    Case(
        [{"requests": 100, "errors": 1}, {"requests": 120}, {"requests": 130, "errors": 2}],
        {"requests": 30, "errors": 1},
        "one-counter-gone-for-one-reading-holds-its-whole-family",
    ),
    Case(
        [
            {"requests": 100, "errors": 1},
            {"requests": 50, "errors": 1},
            {"requests": 100, "errors": 1},
        ],
        {},
        "back-exactly-at-the-base-is-a-gap-with-nothing-new",
    ),
    Case(
        [{"requests": 1000, "errors": 10}, {"requests": 5}, {"requests": 20, "errors": 1}],
        {},
        "still-below-the-base-is-a-reset-and-counts-nothing-yet",
        resets=1,
    ),
    Case(
        [
            {"requests": 1000, "errors": 10},
            {"requests": 5},
            {"requests": 20, "errors": 1},
            {"requests": 50, "errors": 3},
        ],
        {"requests": 30, "errors": 2},
        "after-a-reset-counting-restarts-from-the-confirming-reading",
        resets=1,
    ),
    Case(
        [
            {"requests": 1000, "errors": 10},
            {"requests": 5},
            {"requests": 20},
            {"requests": 50, "errors": 1},
        ],
        {"requests": 30, "errors": 1},
        "after-a-reset-a-5xx-series-that-restarts-later-counts-from-zero",
        resets=1,
    ),
    Case(
        [
            {"requests": 100, "errors": 5},
            {"requests": 90, "errors": 5},
            {"requests": 95, "errors": 5},
        ],
        {},
        "a-partial-recovery-still-below-the-base-is-a-reset",
        resets=1,
    ),
    Case(
        [{"requests": 100, "errors": 1}, {"requests": 40, "errors": 1}],
        {},
        "a-first-fall-is-suspect-and-counts-nothing",
        suspect=[ISTIO_FAMILY],
    ),
    Case(
        [{"requests": 10.0}, {"requests": 12.6}], {"requests": 3}, "non-integer-deltas-are-rounded"
    ),
    Case(
        [{"requests": 10.0}, {"requests": 10.4}], {}, "a-delta-that-rounds-to-zero-counts-nothing"
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_canary_shift_counts(case: Case) -> None:
    """The shift counts, confirmed resets and suspect families after a series of readings."""
    evidence = last(case.readings)
    assert evidence.canary.shift == case.shift
    assert all(isinstance(v, int) for v in evidence.canary.shift.values())
    assert evidence.resets == case.resets
    assert evidence.canary.suspect == case.suspect


def test_a_first_fall_keeps_the_old_values_as_the_base() -> None:
    """The suspect reading is not stored: the next one is compared with the values before it."""
    before, fell = feed([{"requests": 100, "errors": 3}, {"requests": 40}])
    assert fell.canary.read == before.canary.read == {"requests": 100, "errors": 3}
    assert fell.canary.suspect == [ISTIO_FAMILY]
    assert fell.resets == 0
    assert fell.note == ""


def test_a_confirmed_reset_reads_from_the_new_values_and_says_so() -> None:
    """The reset's reading becomes the base, the count of resets grows, and the note says when."""
    evidence = last([{"requests": 1000, "errors": 10}, {"requests": 5}, {"requests": 20}])
    assert evidence.canary.read == {"requests": 20}
    assert evidence.canary.suspect == []
    assert evidence.resets == 1
    reset_at = (T0 + 2 * TICK).isoformat()
    assert evidence.note == (
        f"counter reset seen at {reset_at}: traffic since the reading before it is not counted"
    )


def test_a_scrape_gap_is_not_a_reset() -> None:
    """A dip that recovers leaves resets at 0 and the note empty."""
    evidence = last([{"requests": 100}, {"requests": 10}, {"requests": 110}])
    assert evidence.resets == 0
    assert evidence.note == ""
    assert evidence.canary.suspect == []


def test_a_reset_never_shows_as_negative_or_huge_traffic() -> None:
    """A restarted pod's counters (much lower, then growing) add only the growth after the reset."""
    readings = [{"requests": 100000.0, "errors": 900.0}] + [
        {"requests": float(10 * i), "errors": 0.0} for i in range(1, 6)
    ]
    history = feed(readings)
    for evidence in history:
        assert all(0 <= v <= 30 for v in evidence.canary.shift.values())
    assert history[-1].canary.shift == {"requests": 30}


def test_a_family_gone_for_two_readings_is_not_counted_again_when_it_returns() -> None:
    """Counters absent for two checks (e.g. a scrape outage: the sums return no series) and then
    back at their old values must not be counted a second time: nothing is counted twice, and a
    reset never shows as huge traffic."""
    evidence = last([{"requests": 1000, "errors": 10}, {}, {}, {"requests": 1010, "errors": 10}])
    assert evidence.canary.shift.get("requests", 0) <= 10
    assert evidence.canary.shift.get("errors", 0) == 0


def test_families_are_judged_separately() -> None:
    """A count gate's counters resetting does not stop Istio's from being counted, and back."""
    total, errors = gate_key("checkout", "total"), gate_key("checkout", "errors")
    history = feed(
        [
            {"requests": 100, total: 50, errors: 1},
            {"requests": 110, total: 3},
            {"requests": 120, total: 6, errors: 0},
            {"requests": 130, total: 10, errors: 1},
        ]
    )
    assert history[1].canary.shift == {"requests": 10}
    assert history[1].canary.suspect == ["checkout"]
    assert history[2].canary.shift == {"requests": 20}
    assert history[2].resets == 1
    assert history[3].canary.shift == {"requests": 30, total: 4, errors: 1}
    assert history[3].canary.suspect == []


def test_the_stable_subset_is_counted_the_same_way() -> None:
    """Stable deltas, gaps and resets follow the same rules, and its resets are counted too."""
    history = feed(
        [{"requests": 5}] * 5,
        stable=[
            {"requests": 1000, "errors": 4},
            {"requests": 1100, "errors": 5},
            {"requests": 3},
            {"requests": 8},
            {"requests": 20, "errors": 1},
        ],
    )
    assert history[1].stable.shift == {"requests": 100, "errors": 1}
    assert history[2].stable.suspect == [ISTIO_FAMILY]
    assert history[3].resets == 1
    assert history[4].stable.shift == {"requests": 112, "errors": 2}
    assert history[4].canary.shift == {}


# -- steps ------------------------------------------------------------------------------------


def test_step_counts_accumulate_within_a_step() -> None:
    """Within one step, step counts grow with the shift counts from the step's first reading."""
    evidence = last(
        [
            {"requests": 100, "errors": 1},
            {"requests": 150, "errors": 1},
            {"requests": 170, "errors": 2},
        ]
    )
    assert evidence.canary.step == {"requests": 70, "errors": 1}
    assert evidence.canary.step == evidence.canary.shift
    assert evidence.step_started_at == STEP_1


def test_a_new_step_restarts_step_counts_and_the_straddling_reading_counts_for_the_shift_only() -> (
    None
):
    """The first reading of a new step may hold traffic from before the step: shift only."""
    history = feed(
        [{"requests": 100}, {"requests": 150}, {"requests": 180}, {"requests": 200}],
        stable=[{"requests": 1000}, {"requests": 1100}, {"requests": 1150}, {"requests": 1160}],
        steps=[STEP_1, STEP_1, STEP_2, STEP_2],
    )
    assert history[1].canary.step == {"requests": 50}
    assert history[2].step_started_at == STEP_2
    assert history[2].canary.step == {}
    assert history[2].stable.step == {}
    assert history[2].canary.shift == {"requests": 80}
    assert history[3].canary.step == {"requests": 20}
    assert history[3].stable.step == {"requests": 10}
    assert history[3].canary.shift == {"requests": 100}
    assert history[3].stable.shift == {"requests": 160}


def test_the_first_reading_of_a_shift_records_its_step_and_time() -> None:
    """since and read_at are the first reading's time; step_started_at is the step given."""
    (evidence,) = feed([{"requests": 7}], steps=[None])
    assert evidence.since == evidence.read_at == T0
    assert evidence.step_started_at is None
    assert evidence.canary.read == {"requests": 7}
    assert evidence.canary_seen_at is None


def test_since_stays_and_read_at_moves() -> None:
    """since is the shift's first reading; read_at is the latest."""
    evidence = last([{"requests": 1}, {"requests": 2}, {"requests": 3}])
    assert evidence.since == T0
    assert evidence.read_at == T0 + 2 * TICK


def test_update_subset_reports_its_deltas_and_resets() -> None:
    """update_subset returns the new subset, this reading's deltas and confirmed resets."""
    start = SubsetEvidence(read={"requests": 10}, shift={"requests": 5}, step={"requests": 2})
    grown, deltas, resets = update_subset(start, {"requests": 14, "errors": 1}, same_step=True)
    assert deltas == {"requests": 4, "errors": 1}
    assert resets == 0
    assert grown.shift == {"requests": 9, "errors": 1}
    assert grown.step == {"requests": 6, "errors": 1}
    moved, _, _ = update_subset(start, {"requests": 14}, same_step=False)
    assert moved.step == {}
    assert moved.shift == {"requests": 9}
    suspect, _, _ = update_subset(start, {"requests": 1}, same_step=True)
    reset, deltas, resets = update_subset(suspect, {"requests": 2}, same_step=True)
    assert (deltas, resets) == ({}, 1)
    assert reset.read == {"requests": 2}


# -- when the canary was last seen ------------------------------------------------------------


def test_canary_seen_at_moves_only_when_canary_requests_grew() -> None:
    """Stable growth, canary 5xx-only growth and a dip leave it; canary growth moves it."""
    history = feed(
        [
            {"requests": 10},
            {"requests": 12},
            {"requests": 12},
            {"requests": 12, "errors": 1},
            {"requests": 3, "errors": 1},
            {"requests": 14, "errors": 1},
        ],
        stable=[{"requests": float(100 * i)} for i in range(1, 7)],
    )
    seen = [e.canary_seen_at for e in history]
    assert seen == [None, T0 + TICK, T0 + TICK, T0 + TICK, T0 + TICK, T0 + 5 * TICK]


def test_evidence_survives_a_round_trip_through_the_status() -> None:
    """Evidence stored as JSON (a restarted controller) continues exactly where it was."""
    readings = [{"requests": 100}, {"requests": 50}, {"requests": 130, "errors": 1}]
    evidence = update_evidence(None, canary=readings[0], stable={}, now=T0, step_started_at=STEP_1)
    for index, reading in enumerate(readings[1:], start=1):
        stored = Evidence.model_validate_json(evidence.model_dump_json(by_alias=True))
        assert stored == evidence
        evidence = update_evidence(
            stored, canary=reading, stable={}, now=T0 + index * TICK, step_started_at=STEP_1
        )
    assert evidence.canary.shift == {"requests": 30, "errors": 1}


# -- properties -------------------------------------------------------------------------------

KEYS = ["requests", "errors", "le=500", "le=+Inf", "checkout:total", "checkout:errors"]


@st.composite
def growing_readings(draw: st.DrawFn) -> list[dict[str, float]]:
    """2-12 readings in which every counter only grows; a counter may first appear later."""
    length = draw(st.integers(2, 12))
    columns: dict[str, list[float | None]] = {}
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, unique=True)):
        first = draw(st.integers(0, length - 1))
        value = draw(st.integers(0, 10**9))
        column: list[float | None] = [None] * first
        for _ in range(first, length):
            value += draw(st.integers(0, 10**6))
            column.append(float(value))
        columns[key] = column
    readings: list[dict[str, float]] = [{} for _ in range(length)]
    for key, column in columns.items():
        for reading, value_then in zip(readings, column, strict=True):
            if value_then is not None:
                reading[key] = value_then
    return readings


@given(growing_readings())
def test_growing_counters_count_exactly_last_minus_first(readings: list[dict[str, float]]) -> None:
    """Counters that only grow: shift = last reading - first (0 for a counter new since)."""
    evidence = last(readings)
    expected = {}
    for key, value in readings[-1].items():
        delta = round(value - readings[0].get(key, 0.0))
        if delta > 0:
            expected[key] = delta
    assert evidence.canary.shift == expected
    assert evidence.canary.step == expected
    assert evidence.resets == 0
    assert evidence.canary.suspect == []


@given(growing_readings(), st.data())
def test_a_one_reading_scrape_gap_loses_and_doubles_nothing(
    readings: list[dict[str, float]], data: st.DataObject
) -> None:
    """One fallen reading (gone, or lower) between growing ones leaves the final counts as they
    would have been without it."""
    at = data.draw(st.integers(1, len(readings) - 1))
    before = readings[at - 1]
    gap = data.draw(
        st.sampled_from([{}, {k: v / 2 for k, v in before.items()}, dict.fromkeys(before, 0.0)])
    )
    with_gap = [*readings[:at], gap, *readings[at:]]
    assert last(with_gap).canary.shift == last(readings).canary.shift


@given(
    st.lists(
        st.fixed_dictionaries({"requests": st.integers(0, 1000), "errors": st.integers(0, 1000)}),
        min_size=1,
        max_size=15,
    )
)
def test_counts_never_exceed_the_traffic_that_was_seen(readings: list[dict[str, int]]) -> None:
    """Whatever the readings do (gaps, resets), each count is >= 0 and at most the sum of the
    counter's rises between readings: a reset never shows as negative or invented traffic."""
    history = feed([{k: float(v) for k, v in r.items()} for r in readings])
    for key in ("requests", "errors"):
        rises = 0
        for index, evidence in enumerate(history):
            if index:
                rises += max(0, readings[index][key] - readings[index - 1][key])
            assert 0 <= evidence.canary.shift.get(key, 0) <= rises
            assert evidence.canary.step.get(key, 0) <= evidence.canary.shift.get(key, 0)
