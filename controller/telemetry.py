"""Logging setup: structlog, JSON in the cluster, readable in a terminal.

Every log line about a shift carries the same keys (shift, namespace, step, weight, gate, value,
verdict) so one query in a log store follows a shift from start to rollback. The controller's own
Prometheus metrics join this module with the alerting issue.
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Any, TextIO

import structlog


class LogFormat(StrEnum):
    AUTO = "auto"  # readable on a terminal, JSON otherwise
    JSON = "json"
    CONSOLE = "console"


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(
    log_format: LogFormat = LogFormat.AUTO, level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog once for the process; safe to call again (e.g. in tests)."""
    out = stream or sys.stderr
    as_json = log_format is LogFormat.JSON or (log_format is LogFormat.AUTO and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    _level["value"] = _LEVELS.get(level, logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


_level = {"value": logging.INFO}


def debug_enabled() -> bool:
    """Whether debug lines are written (hot paths skip building them otherwise)."""
    return _level["value"] <= logging.DEBUG


def get_logger(**context: Any) -> Any:
    """A bound logger with ``context`` (e.g. shift=..., namespace=...) on every line."""
    return structlog.get_logger("weightgate").bind(**context)
