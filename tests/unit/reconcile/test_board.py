"""The GateBoard: requests by check interval, posts per registered shift, each result taken once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.analysis.batched import CheckRequest
from controller.analysis.selectors import SubsetSelector
from controller.analysis.templates import ShiftVariables
from controller.api.gates import Gate
from controller.api.status import GateStatus, GateVerdict
from controller.reconcile.board import GateBoard, take_offset

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TEN = timedelta(seconds=10)
MINUTE = timedelta(minutes=1)
REVIEWS = ("bookinfo", "reviews-v3")
RATINGS = ("bookinfo", "ratings-v2")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def request(shift: tuple[str, str]) -> CheckRequest:
    namespace, name = shift
    return CheckRequest(
        key=shift,
        gates=[Gate(name="error-rate", max=1)],
        canary=SubsetSelector(service=name, namespace=namespace, version="v2"),
        stable=SubsetSelector(service=name, namespace=namespace, version="v1"),
        window=MINUTE,
        min_requests=20,
        variables=ShiftVariables(namespace=namespace, virtual_service=name),
    )


def passed(value: float) -> list[GateStatus]:
    return [GateStatus(name="error-rate", verdict=GateVerdict.PASS, value=value)]


@pytest.fixture
def board() -> GateBoard:
    made = GateBoard()
    made.register(REVIEWS, request(REVIEWS), TEN)
    return made


def test_requests_are_listed_by_their_check_interval(board: GateBoard) -> None:
    board.register(RATINGS, request(RATINGS), MINUTE)
    assert board.intervals() == {TEN, MINUTE}
    assert [r.key for r in board.requests(TEN)] == [REVIEWS]
    assert [r.key for r in board.requests(MINUTE)] == [RATINGS]
    assert board.requests(timedelta(seconds=30)) == []


def test_registering_again_replaces_the_request_and_its_interval(board: GateBoard) -> None:
    board.register(REVIEWS, request(REVIEWS), MINUTE)
    assert board.intervals() == {MINUTE}
    assert board.requests(TEN) == []


def test_an_unregistered_shift_has_no_request_and_no_result(board: GateBoard) -> None:
    board.post({REVIEWS: passed(0.1)}, at(0))
    board.unregister(REVIEWS)
    assert board.intervals() == set()
    assert board.take(REVIEWS, after=None, now=at(1), interval=TEN) is None


def test_a_result_for_a_shift_not_registered_is_dropped(board: GateBoard) -> None:
    """A shift unregistered while its round ran must not find a stale result later."""
    board.post({REVIEWS: passed(0.1), RATINGS: passed(0.2)}, at(0))
    board.register(RATINGS, request(RATINGS), TEN)
    assert board.take(RATINGS, after=None, now=at(1), interval=TEN) is None
    assert board.take(REVIEWS, after=None, now=at(1), interval=TEN) == tuple(passed(0.1))


def test_a_result_is_taken_once(board: GateBoard) -> None:
    board.post({REVIEWS: passed(0.1)}, at(0))
    assert board.take(REVIEWS, after=None, now=at(1), interval=TEN) == tuple(passed(0.1))
    assert board.take(REVIEWS, after=None, now=at(2), interval=TEN) is None


def test_a_later_post_replaces_an_untaken_result(board: GateBoard) -> None:
    board.post({REVIEWS: passed(0.1)}, at(0))
    board.post({REVIEWS: passed(0.3)}, at(10))
    assert board.take(REVIEWS, after=at(5), now=at(11), interval=TEN) == tuple(passed(0.3))


@pytest.mark.parametrize("after", [at(0), at(3)])
def test_a_result_measured_at_or_before_after_is_not_a_new_check(
    board: GateBoard, after: datetime
) -> None:
    board.post({REVIEWS: passed(0.1)}, at(0))
    assert board.take(REVIEWS, after=after, now=at(4), interval=TEN) is None


def test_a_result_measured_after_after_is_taken(board: GateBoard) -> None:
    board.post({REVIEWS: passed(0.1)}, at(5))
    assert board.take(REVIEWS, after=at(4.9), now=at(6), interval=TEN) == tuple(passed(0.1))


@pytest.mark.parametrize("waited", [10.0, 25.0])
def test_a_result_as_old_as_the_interval_is_not_taken_and_is_dropped(
    board: GateBoard, waited: float
) -> None:
    board.post({REVIEWS: passed(0.1)}, at(0))
    assert board.take(REVIEWS, after=None, now=at(waited), interval=TEN) is None
    assert board.take(REVIEWS, after=None, now=at(1), interval=TEN) is None


def test_a_result_just_younger_than_the_interval_is_taken(board: GateBoard) -> None:
    board.post({REVIEWS: passed(0.1)}, at(0))
    assert board.take(REVIEWS, after=None, now=at(9.999), interval=TEN) == tuple(passed(0.1))


def test_with_a_spread_a_passing_result_is_takeable_from_the_shifts_own_offset() -> None:
    spread = GateBoard(spread=timedelta(seconds=5))
    spread.register(REVIEWS, request(REVIEWS), TEN)
    spread.post({REVIEWS: passed(0.1)}, at(0))
    offset = take_offset(REVIEWS, timedelta(seconds=5), TEN)
    assert timedelta(0) < offset < timedelta(seconds=5)
    early = (at(0) + offset - timedelta(milliseconds=1)).timestamp() - T0.timestamp()
    assert spread.take(REVIEWS, after=None, now=at(early), interval=TEN) is None
    ready = (at(0) + offset).timestamp() - T0.timestamp()
    assert spread.take(REVIEWS, after=None, now=at(ready), interval=TEN) == tuple(passed(0.1))


def test_with_a_spread_a_failing_result_is_takeable_at_once() -> None:
    spread = GateBoard(spread=timedelta(seconds=5))
    spread.register(REVIEWS, request(REVIEWS), TEN)
    failed = [GateStatus(name="error-rate", verdict=GateVerdict.FAIL, value=30.0)]
    spread.post({REVIEWS: failed}, at(0))
    assert spread.take(REVIEWS, after=None, now=at(0), interval=TEN) == tuple(failed)


def test_offsets_spread_shifts_over_the_spread_capped_at_half_the_interval() -> None:
    shifts = [("team", f"shift-{i}") for i in range(1000)]
    offsets = [take_offset(s, timedelta(seconds=5), TEN).total_seconds() for s in shifts]
    per_second = [sum(1 for o in offsets if k <= o < k + 1) for k in range(5)]
    assert sum(per_second) == 1000
    assert max(per_second) < 260  # about 200 a second, not 1000 in one
    short = [take_offset(s, timedelta(seconds=5), timedelta(seconds=2)) for s in shifts]
    assert max(short) < timedelta(seconds=1)
    assert take_offset(REVIEWS, timedelta(0), TEN) == timedelta(0)
