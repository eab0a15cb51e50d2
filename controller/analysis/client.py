"""The seam between gate analysis and Prometheus: what a query returns and how it fails.

Owns `Sample`, the `QueryClient` protocol the analysis depends on, and `PrometheusError`, the one
exception type a client raises. `controller.analysis.prometheus` implements the protocol over
HTTP; tests hand in a fake. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Sample:
    """One series of an instant-query result: its labels and its value (NaN and ±Inf kept)."""

    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


class QueryClient(Protocol):
    def instant_query(self, promql: str) -> list[Sample]:
        """The result of `promql` evaluated now; [] when no series match.

        Raises PrometheusError when Prometheus cannot be reached, times out or rejects the
        query.
        """
        ...


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"  # connection refused, DNS, TLS: nothing answered
    TIMEOUT = "timeout"  # no answer within the client's timeout
    BAD_QUERY = "bad-query"  # Prometheus answered 400/422, or a non-numeric result: fix the PromQL
    SERVER = "server"  # any other error answer (5xx, 404, 401), or one that is not Prometheus's


class PrometheusError(Exception):
    """A query that produced no result; the message says which Prometheus and why."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
