"""Durations: the 30s / 5m / 1h30m grammar, round-tripped, with errors that show the form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.api.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("2m5s", 125), (" 10s ", 10)],
)
def test_parses_compact_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["30", "30 seconds", "1.5m", "5s1m", "-5s", "", "1d", "0s"])
def test_rejects_other_forms_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"30s|at least 1s"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10 * 24 * 3600))
def test_format_then_parse_round_trips(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
