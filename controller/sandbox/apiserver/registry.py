"""The registry of resource types the sandbox serves: built-ins plus those CRDs register.

A ResourceType is what discovery, OpenAPI, routing and validation need to know about one
``group/plural``: its served versions (each with schema, printer columns and whether it has the
status subresource), kind names, scope and short names. Objects are stored once per group/plural,
whatever version they were written in, as a real server with conversion strategy ``None`` does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry: a table column filled from a JSONPath."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class VersionInfo:
    """One served version of a resource type."""

    name: str
    schema: Schema | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    has_status: bool = False


@dataclass(frozen=True)
class ResourceType:
    """Everything the server knows about one ``group/plural``."""

    group: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    versions: tuple[VersionInfo, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    custom: bool = False
    list_kind: str = ""

    @property
    def resource(self) -> str:
        """``plural.group`` as used in error messages and RBAC."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    def version(self, name: str) -> VersionInfo | None:
        return next((v for v in self.versions if v.name == name), None)

    @property
    def preferred_version(self) -> str:
        return sort_kube_versions(v.name for v in self.versions)[0]


def kube_version_key(version: str) -> tuple[int, int, int, str]:
    """Sort key putting GA before beta before alpha, higher numbers first (kube-aware order)."""
    match = _KUBE_VERSION.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    stage_rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (stage_rank, -int(major), -int(minor or 0), version)


def sort_kube_versions(versions: Iterable[str]) -> list[str]:
    return sorted(versions, key=kube_version_key)


class Registry:
    """Thread-safe map of ``(group, plural)`` to ResourceType, with CRD-owned entries."""

    def __init__(self, builtins: Iterable[ResourceType]) -> None:
        self._lock = threading.RLock()
        self._types: dict[tuple[str, str], ResourceType] = {}
        self._crd_owner: dict[str, tuple[str, str]] = {}
        self.revision = 0
        for resource_type in builtins:
            self._types[(resource_type.group, resource_type.plural)] = resource_type

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at ``group/version/plural``, or None when that is not served."""
        with self._lock:
            resource_type = self._types.get((group, plural))
        if resource_type is None or resource_type.version(version) is None:
            return None
        return resource_type

    def get(self, group: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._types.get((group, plural))

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def groups(self) -> dict[str, list[str]]:
        """Group name to its served versions, preferred first; core group under ``""``."""
        versions: dict[str, set[str]] = {}
        for resource_type in self.all():
            versions.setdefault(resource_type.group, set()).update(
                v.name for v in resource_type.versions
            )
        return {group: sort_kube_versions(names) for group, names in versions.items()}

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.all() if t.group == group and t.version(version) is not None]

    def register_crd(self, crd_name: str, resource_type: ResourceType) -> None:
        with self._lock:
            previous = self._crd_owner.get(crd_name)
            if previous is not None:
                self._types.pop(previous, None)
            key = (resource_type.group, resource_type.plural)
            self._types[key] = resource_type
            self._crd_owner[crd_name] = key
            self.revision += 1

    def unregister_crd(self, crd_name: str) -> ResourceType | None:
        with self._lock:
            key = self._crd_owner.pop(crd_name, None)
            self.revision += 1
            return self._types.pop(key, None) if key else None

    def crd_conflict(self, crd_name: str, group: str, plural: str) -> bool:
        """True when ``group/plural`` is already served by a built-in or another CRD."""
        with self._lock:
            existing = self._types.get((group, plural))
            return existing is not None and self._crd_owner.get(crd_name) != (group, plural)
