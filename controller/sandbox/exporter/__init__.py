"""A synthetic Istio telemetry exporter for scale benchmarks: N services over M namespaces, each
with a stable `v1` and a canary `v2`, reported as a `reporter="destination"` sidecar would.

Counters follow wall time and a seed, not real requests, so a thousand services cost one cheap
render per scrape. Run it with ``python -m controller.sandbox.exporter``.
"""

from __future__ import annotations

from controller.sandbox.exporter.catalog import ServiceRef, namespace_names, service_catalog
from controller.sandbox.exporter.model import TrafficModel
from controller.sandbox.exporter.render import ScrapeRenderer
from controller.sandbox.exporter.server import ExporterServer

__all__ = [
    "ExporterServer",
    "ScrapeRenderer",
    "ServiceRef",
    "TrafficModel",
    "namespace_names",
    "service_catalog",
]
