"""The sandbox mesh's behaviour, independent of HTTP: productpage -> sidecar router -> reviews.

Owns one product-page request end to end: route it with the current `reviews` routes, call the
chosen simulated workload, and record Istio's telemetry from both sidecars (the `source` reporter
on productpage's side, the `destination` reporter on the reviews pod's side), plus the counts
`/admin/state` shows. The HTTP server and the load generator are thin layers over this.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.sandbox.mesh.routing import (
    RequestContext,
    RouteDecision,
    Workload,
    select_workload,
)
from controller.sandbox.mesh.sources import RouteSource
from controller.sandbox.mesh.telemetry import IstioMetrics, Peer, new_registry, request_labels
from controller.sandbox.mesh.workloads import FaultBoard, ReviewsResponse, ReviewsWorkload

REVIEWS_VERSIONS = ("v1", "v2", "v3")
SERVICE = "reviews"
# Connection-level headers stay behind; everything else reaches the router, so a VirtualService
# can match on any header the caller of /productpage sent (bookinfo forwards `end-user`).
_NOT_FORWARDED = frozenset(
    {"host", "connection", "content-length", "keep-alive", "accept-encoding"}
)


@dataclass(frozen=True)
class ProductPageResult:
    """What productpage got from reviews; `status` is the reviews call's status code."""

    status: int
    reviews_version: str | None
    response_flags: str
    duration_ms: float
    route_index: int | None
    reviews: Mapping[str, Any] | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "reviews_version": self.reviews_version,
            "status": self.status,
            "response_flags": self.response_flags,
            "duration_ms": round(self.duration_ms, 3),
            "route_index": self.route_index,
            "reviews": self.reviews,
            "error": self.error,
        }


class Mesh:
    """productpage-v1 calling reviews v1/v2/v3 through a router that follows `source`."""

    def __init__(
        self,
        source: RouteSource,
        namespace: str = "bookinfo",
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.namespace = namespace
        self.source = source
        self.faults = FaultBoard(list(REVIEWS_VERSIONS))
        self.metrics = IstioMetrics()
        self.registry = new_registry(self.metrics)
        seeds = _simulation_rng(seed)
        self._router_rng = _simulation_rng(seeds.getrandbits(64))
        self.workloads = {
            version: ReviewsWorkload(
                Workload(f"reviews-{version}", {"app": SERVICE, "version": version}),
                self.faults,
                _simulation_rng(seeds.getrandbits(64)),
                sleep,
            )
            for version in REVIEWS_VERSIONS
        }
        self._endpoints = [w.workload for w in self.workloads.values()]
        self.productpage = Peer(
            "productpage-v1", namespace, "productpage", "v1", "bookinfo-productpage"
        )
        self._counts: Counter[tuple[str, str]] = Counter()
        self._counts_lock = threading.Lock()

    def product_page(
        self, headers: Mapping[str, str] | None = None, query: Mapping[str, str] | None = None
    ) -> ProductPageResult:
        """Serve one /productpage: route, call reviews, record telemetry."""
        started = time.monotonic()
        decision = self.route(headers or {}, query or {})
        if decision.workload is None:
            return self._answer_unrouted(decision, started)
        response = self._call(decision.workload)
        elapsed = _ms_since(started)
        self._record("source", decision.workload, response.status, elapsed)
        body = response.body if response.status == 200 else None
        return ProductPageResult(
            response.status, response.version, "-", elapsed, decision.route_index, body
        )

    def route(self, headers: Mapping[str, str], query: Mapping[str, str]) -> RouteDecision:
        """What productpage's sidecar decides for the reviews call of this page request."""
        forwarded = {k.lower(): v for k, v in headers.items() if k.lower() not in _NOT_FORWARDED}
        user = query.get("user")
        if user:
            forwarded["end-user"] = user  # what bookinfo's login does for later requests
        request = RequestContext(
            headers=forwarded,
            source_labels={"app": "productpage", "version": "v1"},
            source_namespace=self.namespace,
        )
        table = self.source.routing_table()
        return select_workload(table, request, self._endpoints, self._router_rng)

    def _answer_unrouted(self, decision: RouteDecision, started: float) -> ProductPageResult:
        failure = decision.failure
        assert failure is not None, "a decision without a workload always carries its failure"
        elapsed = _ms_since(started)
        self._record("source", None, failure.status, elapsed, failure.flag)
        self._count("unrouted", f"{failure.status} {failure.flag}")
        return ProductPageResult(
            failure.status, None, failure.flag, elapsed, decision.route_index, None, failure.reason
        )

    def _call(self, workload: Workload) -> ReviewsResponse:
        started = time.monotonic()
        response = self.workloads[workload.version].handle()
        self._record("destination", workload, response.status, _ms_since(started))
        self._count(workload.version, str(response.status))
        return response

    def _record(
        self,
        reporter: str,
        workload: Workload | None,
        status: int,
        duration_ms: float,
        flags: str = "-",
    ) -> None:
        destination = None
        if workload is not None:
            destination = Peer(
                workload.name, self.namespace, SERVICE, workload.version, "bookinfo-reviews"
            )
        labels = request_labels(
            reporter=reporter,
            source=self.productpage,
            destination=destination,
            service=SERVICE,
            service_namespace=self.namespace,
            response_code=status,
            response_flags=flags,
        )
        self.metrics.record(labels, duration_ms)

    def _count(self, version: str, outcome: str) -> None:
        with self._counts_lock:
            self._counts[(version, outcome)] += 1

    def counts(self) -> dict[str, dict[str, int]]:
        """Requests per reviews version (or "unrouted") and status code."""
        with self._counts_lock:
            snapshot = dict(self._counts)
        result: dict[str, dict[str, int]] = {}
        for (version, outcome), count in sorted(snapshot.items()):
            result.setdefault(version, {})[outcome] = count
        return result

    def state(self) -> dict[str, Any]:
        table = self.source.routing_table()
        return {
            "namespace": self.namespace,
            "virtual_service_present": table.routes is not None,
            "resource_version": table.resource_version,
            "routes": table.summary(),
            "subsets": {name: dict(labels) for name, labels in table.subsets.items()},
            "route_source": self.source.status(),
            "faults": self.faults.snapshot(),
            "counts": self.counts(),
        }


def _simulation_rng(seed: int | None) -> random.Random:
    return random.Random(seed)  # noqa: S311  # simulates traffic, guards no secret


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000.0
