"""Which synthetic services exist and where: the naming shared by the exporter and the scale
benchmark, so the objects the benchmark creates match the telemetry the exporter reports.

Service i is ``svc-0000``-style (zero-padded to four digits or more) in namespace
``scale-{i mod M}``; every service has the subsets ``v1`` (stable) and ``v2`` (canary).
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE_PREFIX = "scale-"
SERVICE_PREFIX = "svc-"
STABLE_VERSION = "v1"
CANARY_VERSION = "v2"
VERSIONS = (STABLE_VERSION, CANARY_VERSION)


@dataclass(frozen=True)
class ServiceRef:
    """One synthetic service: its short name, its namespace and its position in the catalog."""

    index: int
    name: str
    namespace: str


def namespace_names(namespaces: int) -> list[str]:
    return [f"{NAMESPACE_PREFIX}{i}" for i in range(namespaces)]


def service_catalog(services: int, namespaces: int) -> list[ServiceRef]:
    """The first `services` services spread round-robin over `namespaces` namespaces."""
    if services < 1 or namespaces < 1:
        raise ValueError(
            f"services ({services}) and namespaces ({namespaces}) must both be at least 1"
        )
    if namespaces > services:
        raise ValueError(
            f"{namespaces} namespaces for {services} services would leave some empty: use at "
            "most one namespace per service"
        )
    width = max(4, len(str(services - 1)))
    spaces = namespace_names(namespaces)
    return [
        ServiceRef(i, f"{SERVICE_PREFIX}{i:0{width}d}", spaces[i % namespaces])
        for i in range(services)
    ]
