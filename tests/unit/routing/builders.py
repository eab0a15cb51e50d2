"""Small builders of VirtualService and DestinationRule specs for the routing tests."""

from __future__ import annotations

from typing import Any


def dest(
    subset: str | None, weight: int | None = None, *, host: str = "reviews", **extra: Any
) -> dict[str, Any]:
    """A route entry to `host`/`subset`; `extra` goes on the entry (e.g. headers)."""
    destination: dict[str, Any] = {"host": host}
    if subset is not None:
        destination["subset"] = subset
    entry: dict[str, Any] = {"destination": destination, **extra}
    if weight is not None:
        entry["weight"] = weight
    return entry


def http(
    *entries: dict[str, Any], name: str | None = None, match: list[Any] | None = None
) -> dict[str, Any]:
    route: dict[str, Any] = {}
    if name is not None:
        route["name"] = name
    if match is not None:
        route["match"] = match
    route["route"] = list(entries)
    return route


def vs(*routes: dict[str, Any], hosts: list[str] | None = None) -> dict[str, Any]:
    return {"hosts": ["reviews"] if hosts is None else hosts, "http": list(routes)}


def header_match(value: str) -> list[dict[str, Any]]:
    return [{"headers": {"end-user": {"exact": value}}}]


def dr(*subsets: str) -> dict[str, Any]:
    return {
        "host": "reviews",
        "subsets": [{"name": s, "labels": {"version": s}} for s in subsets],
    }
