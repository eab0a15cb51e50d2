"""Server-side printing: meta.k8s.io Table and PartialObjectMetadata answers.

``kubectl get`` asks for ``as=Table``; the table has a Name column plus the version's printer
columns (a CRD's ``additionalPrinterColumns``, or Age by default), each cell filled from a small
JSONPath subset (``.a.b``, ``[n]``, ``[*]``, ``[?(@.k=="v")]``). ``date`` columns print as ages
the way kubectl does (``5s``, ``3m2s``, ``4h``, ``12d``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from .errors import JsonObject
from .registry import PrinterColumn
from .writes import Target

_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
_NAME_DESCRIPTION = "Name must be unique within a namespace."
_FILTER = re.compile(r"""^\?\(@\.([\w.-]+)\s*==\s*["']([^"']*)["']\)$""")
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[([^\]]*)\]")


def _two_units(big: int, small: int, big_unit: str, small_unit: str) -> str:
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


def human_age(seconds: int) -> str:
    """kubectl's HumanDuration: two units while short, one unit once long."""
    seconds = max(seconds, 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    years = days // 365
    steps = (
        (seconds < 120, f"{seconds}s"),
        (minutes < 10, _two_units(minutes, seconds % 60, "m", "s")),
        (minutes < 180, f"{minutes}m"),
        (hours < 8, _two_units(hours, minutes % 60, "h", "m")),
        (hours < 48, f"{hours}h"),
        (hours < 24 * 8, _two_units(days, hours % 24, "d", "h")),
        (days < 365 * 2, f"{days}d"),
        (years < 8, _two_units(years, days % 365, "y", "d")),
    )
    return next((text for short_enough, text in steps if short_enough), f"{years}y")


def json_path(obj: Any, path: str) -> list[Any]:
    """Every value the JSONPath subset selects (empty when nothing matches)."""
    current = [obj]
    for key, bracket in _TOKEN.findall(path.strip().strip("{}")):
        following: list[Any] = []
        for value in current:
            following.extend(_step(value, key, bracket))
        current = following
    return current


def _step(value: Any, key: str, bracket: str) -> list[Any]:
    if key:
        return [value[key]] if isinstance(value, dict) and key in value else []
    if not isinstance(value, list):
        return []
    if bracket == "*":
        return list(value)
    match = _FILTER.match(bracket)
    if match:
        field, wanted = match.groups()
        return [v for v in value if [str(x) for x in json_path(v, "." + field)][:1] == [wanted]]
    if bracket.lstrip("-").isdigit():
        index = int(bracket)
        return [value[index]] if -len(value) <= index < len(value) else []
    return []


def _cell(obj: JsonObject, column: PrinterColumn, now: datetime) -> Any:
    values = json_path(obj, column.json_path)
    if not values:
        return None
    value = values[0] if len(values) == 1 else values
    if column.type == "date" and isinstance(value, str):
        try:
            created = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return value
        return human_age(int((now - created).total_seconds()))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def columns_for(target: Target) -> tuple[PrinterColumn, ...]:
    info = target.type.version(target.version)
    return (info.printer_columns if info else ()) or (_AGE,)


def _column_definitions(columns: tuple[PrinterColumn, ...]) -> list[JsonObject]:
    name = {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": _NAME_DESCRIPTION,
        "priority": 0,
    }
    return [name] + [
        {
            "name": c.name,
            "type": "string" if c.type == "date" else c.type,
            "format": c.format,
            "description": c.description,
            "priority": c.priority,
        }
        for c in columns
    ]


def partial_metadata(obj: JsonObject) -> JsonObject:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def _row(
    obj: JsonObject, columns: tuple[PrinterColumn, ...], include: str, now: datetime
) -> JsonObject:
    row: JsonObject = {"cells": [obj["metadata"]["name"]] + [_cell(obj, c, now) for c in columns]}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = partial_metadata(obj)
    return row


def table(
    target: Target,
    items: list[JsonObject],
    *,
    resource_version: str,
    include: str,
    api_version: str = "meta.k8s.io/v1",
    extra_metadata: JsonObject | None = None,
) -> JsonObject:
    """A Table of ``items`` with this version's columns."""
    columns = columns_for(target)
    now = datetime.now(UTC)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": {"resourceVersion": resource_version, **(extra_metadata or {})},
        "columnDefinitions": _column_definitions(columns),
        "rows": [_row(obj, columns, include, now) for obj in items],
    }
