"""How many API requests and PromQL queries the controller spends on a set of shifts: counts, not
times, taken at the real sandbox API (its /admin/requests counts every request it served) and at
a counting wrapper around the real Prometheus client.

Ticks run in this process at chosen moments (no scheduler, no sleeping): six shifts in their own
namespace, each with its own VirtualService and DestinationRule, judged on the sandbox mesh's
reviews telemetry. With the watch cache, a tick that changes nothing sends no request; with
batching, one round of checks for all six shifts (the sequential judge, the default) costs one
query, for every subset's request, 5xx and duration-bucket counters, where per-shift checks cost
one query per shift.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.analysis.client import Sample
from controller.analysis.prometheus import PrometheusQueryClient
from controller.api.crd import crd_manifest
from controller.kube.cached import CachedCluster, cache_stores
from controller.kube.client import KubeClient, load_configuration
from controller.kube.cluster import KubeCluster
from controller.kube.resources import TRAFFIC_SHIFTS
from controller.manifests import load_profiles, profile_dir
from controller.metrics import ControllerMetrics
from controller.reconcile import Dependencies, reconcile_once
from controller.reconcile.board import GateBoard
from controller.reconcile.freshness import refresh_round
from controller.rollout import Policy
from controller.rounds import GateRounds
from controller.sandbox.apiserver.admin import request_counts
from controller.sandbox.apiserver.kubeconfig import write_kubeconfig
from controller.sandbox.istio import istio_crds
from controller.sandbox.promstack import PythonModuleProcess
from controller.sandbox.stack import SandboxInfo, seed

NAMESPACE = "perf-counts"
SHIFTS = 6
COUNTER_QUERIES = 1  # the sequential judge reads requests, 5xx and buckets in one query
CHECK_INTERVAL = timedelta(seconds=10)


class CountingClient:
    def __init__(self, client: PrometheusQueryClient) -> None:
        self.client = client
        self.sent = 0

    def instant_query(self, promql: str) -> list[Sample]:
        self.sent += 1
        return self.client.instant_query(promql)


def _objects(index: int) -> list[dict[str, Any]]:
    name = f"perf-{index}"
    meta = {"name": name, "namespace": NAMESPACE}
    route = [
        {"destination": {"host": "reviews", "subset": "v1"}, "weight": 100},
        {"destination": {"host": "reviews", "subset": "v3"}, "weight": 0},
    ]
    return [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": meta,
            "spec": {"hosts": ["reviews"], "http": [{"route": route}]},
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": meta,
            "spec": {
                "host": "reviews",
                "subsets": [
                    {"name": "v1", "labels": {"version": "v1"}},
                    {"name": "v3", "labels": {"version": "v3"}},
                ],
            },
        },
        {
            "apiVersion": "weightgate.dev/v1alpha1",
            "kind": "TrafficShift",
            "metadata": meta,
            "spec": {
                "virtualService": name,
                "destinationRule": name,
                "stable": "v1",
                "canary": "v3",
                "steps": [10, 50, 100],
                "interval": "1h",  # nothing advances while the test counts
                "analysis": {
                    "window": "30s",
                    "minRequests": 0,  # every gate is queried, traffic or not
                    # The mesh serves reviews in the sandbox's namespace.
                    "target": {"service": "reviews", "namespace": "bookinfo"},
                },
            },
        },
    ]


@dataclass(frozen=True)
class Api:
    """A private sandbox API server: nothing but the test's own calls reach it (the session
    sandbox's mesh polls its routes every 200 ms, which would blur the counts)."""

    url: str
    kubeconfig: Path


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    server = PythonModuleProcess(
        "controller.sandbox.apiserver",
        ["serve", "--host", "127.0.0.1", "--port", "0"],
        tmp_path,
        "api",
    )
    server.start(timeout=30)
    try:
        seed(server.url, [*istio_crds(), crd_manifest()])
        seed(
            server.url, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
        )
        yield Api(server.url, write_kubeconfig(tmp_path / "kubeconfig", server.url, NAMESPACE))
    finally:
        server.stop()


@pytest.fixture
def perf_namespace(api: Api) -> list[tuple[str, str]]:
    client = KubeClient(load_configuration(api.kubeconfig))
    cluster = KubeCluster(client)
    kinds = {
        "VirtualService": cluster.virtual_services,
        "DestinationRule": cluster.destination_rules,
        "TrafficShift": TRAFFIC_SHIFTS,
    }
    try:
        for index in range(SHIFTS):
            for obj in _objects(index):
                client.create(kinds[obj["kind"]], NAMESPACE, obj)
    finally:
        client.close()
    return [(NAMESPACE, f"perf-{i}") for i in range(SHIFTS)]


def _api_requests(api: Api) -> dict[str, int]:
    counts = request_counts(api.url)["byResourceVerb"]
    return {f"{res}.{verb}": n for res, verbs in counts.items() for verb, n in verbs.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    changed = {verb: after.get(verb, 0) - before.get(verb, 0) for verb in after}
    return {verb: count for verb, count in changed.items() if count}


def _deps(api: Api, sandbox: SandboxInfo, **changes: Any) -> tuple[Dependencies, KubeCluster]:
    cluster = KubeCluster(KubeClient(load_configuration(api.kubeconfig)))
    deps = Dependencies(
        cluster=cluster,
        prometheus=CountingClient(PrometheusQueryClient(sandbox.prometheus)),
        profiles=load_profiles(profile_dir(None)),
        policy=Policy(),
        check_interval=CHECK_INTERVAL,
    )
    return Dependencies(**{**deps.__dict__, **changes}), cluster


def _cached(cluster: KubeCluster) -> CachedCluster:
    stores = cache_stores(cluster)
    for store in stores.all():
        items, _ = cluster.client.list_objects(store.resource, NAMESPACE)
        store.sync(NAMESPACE, items)
    return CachedCluster(cluster, stores)


def _tick_all(deps: Dependencies, shifts: list[tuple[str, str]], now: datetime) -> None:
    for namespace, name in shifts:
        outcome = reconcile_once(deps, namespace, name, now)
        assert outcome.phase is not None, outcome.message


def test_cached_ticks_that_change_nothing_send_no_api_request(
    sandbox: SandboxInfo, api: Api, perf_namespace: list[tuple[str, str]]
) -> None:
    """After the start, 60 ticks of six quiet shifts cost 0 API requests from the cache, where
    reading directly costs three GETs per tick (shift, VirtualService, DestinationRule)."""
    board = GateBoard()  # shared, so neither kind of tick starts a check of its own
    plain, cluster = _deps(api, sandbox, board=board)
    deps, _ = _deps(api, sandbox, cluster=_cached(cluster), board=board)
    start = datetime.now(UTC)
    _tick_all(deps, perf_namespace, start)  # the first step: status, route, events
    # The next tick records that the route is in sync (a condition the start does not set).
    _tick_all(deps, perf_namespace, start + timedelta(seconds=0.5))

    before = _api_requests(api)
    for second in range(2, 12):
        _tick_all(deps, perf_namespace, start + timedelta(seconds=second * 0.5))
    assert _delta(before, _api_requests(api)) == {}

    before = _api_requests(api)
    _tick_all(plain, perf_namespace, start + timedelta(seconds=6))
    reads = {
        f"{kind}.get": SHIFTS for kind in ("trafficshifts", "virtualservices", "destinationrules")
    }
    assert _delta(before, _api_requests(api)) == reads


def test_one_batched_round_checks_every_shift_with_one_query_per_gate(
    sandbox: SandboxInfo, api: Api, perf_namespace: list[tuple[str, str]]
) -> None:
    """One round for six shifts sends one query (the counters of both gates) and each shift's
    next tick records its verdicts with one status write; a round that changes no verdict is
    written only by the shifts whose refresh round it is; per-shift checks of the same shifts
    send one query each."""
    plain, cluster = _deps(api, sandbox)
    board = GateBoard()
    deps, _ = _deps(api, sandbox, cluster=_cached(cluster), board=board)
    start = datetime.now(UTC)
    _tick_all(deps, perf_namespace, start)
    _tick_all(deps, perf_namespace, start + timedelta(seconds=1))  # registers every shift

    counting = deps.prometheus
    assert isinstance(counting, CountingClient)
    round_at = start + timedelta(seconds=2)
    GateRounds(board, counting, ControllerMetrics(), now=lambda: round_at).run()
    assert counting.sent == COUNTER_QUERIES

    before = _api_requests(api)
    after_round = round_at + timedelta(seconds=0.5)
    _tick_all(deps, perf_namespace, after_round)
    spent = _delta(before, _api_requests(api))
    # One status write per shift records its check; nothing is read. (An Event is sent when
    # the verdict starts a transition, e.g. Holding while v3 has no traffic.)
    assert spent.pop("trafficshifts.update") == SHIFTS
    assert set(spent) <= {"events.create"}
    for namespace, name in perf_namespace:
        status = deps.cluster.get_shift(namespace, name)["status"]
        assert status["lastCheckAt"]
        assert [gate["name"] for gate in status["gates"]] == ["error-rate", "latency-p99"]
        assert all("sum by (destination_service_name" in g["query"] for g in status["gates"])

    # The next round changes no verdict: only the shifts whose refresh round it is write.
    next_round = round_at + CHECK_INTERVAL
    GateRounds(board, counting, ControllerMetrics(), now=lambda: next_round).run()
    assert counting.sent == 2 * COUNTER_QUERIES
    before = _api_requests(api)
    taken_at = next_round + timedelta(seconds=0.5)
    _tick_all(deps, perf_namespace, taken_at)
    # The refresh round is judged at the tick's own time (this test's rounds are not aligned to
    # the clock as the daemon's are, so the round and the tick may fall in different slots).
    refreshing = [s for s in perf_namespace if refresh_round(*s, taken_at, CHECK_INTERVAL)]
    assert _delta(before, _api_requests(api)) == (
        {"trafficshifts.update": len(refreshing)} if refreshing else {}
    )

    per_shift = plain.prometheus
    assert isinstance(per_shift, CountingClient)
    _tick_all(plain, perf_namespace, next_round + CHECK_INTERVAL + timedelta(seconds=1))
    assert per_shift.sent == COUNTER_QUERIES * SHIFTS
