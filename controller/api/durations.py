"""Durations as users write them in TrafficShifts and gate profiles: ``30s``, ``5m``, ``1h30m``.

Parsed to ``timedelta`` for the code and written back in the same compact form, so a status or a
generated manifest shows what a human would have typed. The same grammar is a valid Prometheus
range duration, so a window can be put into PromQL as it is formatted here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from controller.api.problems import shown

_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
MAX_DURATION = timedelta(days=365)  # longer is a typo, and past ~2.7 million years an overflow
_PART = re.compile(r"(\d+)(h|m|s)")
DURATION_PATTERN = r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
_FULL = re.compile(DURATION_PATTERN)


def parse_duration(text: str) -> timedelta:
    """Parse ``1h30m``-style text; reject anything else with a message that shows the form."""
    cleaned = text.strip()
    if not cleaned or not _FULL.fullmatch(cleaned):
        raise ValueError(
            f"{shown(text)} is not a duration: write a whole number followed by s, m or h, "
            "largest unit first (e.g. '30s', '5m', '1h30m')"
        )
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"{shown(text)} is zero: a duration must be at least 1s")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(
            f"{shown(text)} is too long: a duration is at most "
            f"{format_duration(MAX_DURATION)} (365 days)"
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest ``1h2m3s`` form of a whole number of seconds."""
    remaining = int(value.total_seconds())
    parts: list[str] = []
    for unit, size in _UNIT_SECONDS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _coerce(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(  # noqa: TRY004 - pydantic turns ValueError into a field error
            f"{shown(value)} is not a duration: write it as a string such as '30s', '5m' or '1h'"
        )
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
