"""What the rollback-time benchmark reads and changes in one lane of the sandbox, over plain HTTP.

Owns the lane's side of the conversation: the reviews VirtualService (read, reset to all-v1),
the TrafficShift (create, read, delete) on the sandbox API, the mesh's fault knobs, and the
Prometheus query that says whether v3's analysis window is clean again. Plain `requests`, not
kubectl: a kubectl start costs more CPU than the poll it would make, and the box has two cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

ISTIO_PATH = "/apis/networking.istio.io/v1/namespaces/{ns}/virtualservices/reviews"
SHIFTS_PATH = "/apis/weightgate.dev/v1alpha1/namespaces/{ns}/trafficshifts"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
TIMEOUT = 10.0
ALL_V1_HTTP: list[dict[str, Any]] = [
    {"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}
]


class LaneError(RuntimeError):
    """The sandbox answered a lane's request with an unexpected status; names the request."""


def subset_shares(vs: dict[str, Any]) -> dict[str, float]:
    """Percent of unmatched reviews traffic per subset, as the VirtualService's routes say.

    A lone destination without a weight takes 100%, as Istio reads it; only the routes without
    `match` count, since those are what the load generator's requests follow.
    """
    shares: dict[str, float] = {}
    for route in vs.get("spec", {}).get("http", []):
        if route.get("match"):
            continue
        destinations = route.get("route", [])
        for entry in destinations:
            subset = str(entry.get("destination", {}).get("subset", ""))
            weight = entry.get("weight", 100 if len(destinations) == 1 else 0)
            shares[subset] = shares.get(subset, 0.0) + float(weight)
        break  # Envoy takes the first route that matches; an unmatched route matches all
    return shares


def all_on(vs: dict[str, Any], subset: str) -> bool:
    """True when every unmatched request goes to `subset`."""
    shares = subset_shares(vs)
    return shares.get(subset, 0.0) >= 100.0 and all(
        weight == 0 for name, weight in shares.items() if name != subset
    )


@dataclass
class LaneClient:
    """HTTP calls for one lane: its namespace on the API, its mesh, the shared Prometheus."""

    api: str
    mesh: str
    prometheus: str
    namespace: str

    def __post_init__(self) -> None:
        self._http = requests.Session()

    def close(self) -> None:
        self._http.close()

    def _check(self, response: requests.Response, what: str, ok: tuple[int, ...]) -> None:
        if response.status_code not in ok:
            raise LaneError(
                f"{what} in namespace {self.namespace}: HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )

    def virtual_service(self) -> dict[str, Any]:
        response = self._http.get(self.api + ISTIO_PATH.format(ns=self.namespace), timeout=TIMEOUT)
        self._check(response, "GET VirtualService reviews", (200,))
        body: dict[str, Any] = response.json()
        return body

    def route_all_to_v1(self) -> None:
        """Put reviews back on Istio's virtual-service-all-v1 route (a merge patch replaces the
        whole `http` list)."""
        response = self._http.patch(
            self.api + ISTIO_PATH.format(ns=self.namespace),
            json={"spec": {"http": ALL_V1_HTTP}},
            headers=MERGE_PATCH,
            timeout=TIMEOUT,
        )
        self._check(response, "PATCH VirtualService reviews to all-v1", (200,))

    def create_shift(self, manifest: dict[str, Any]) -> None:
        response = self._http.post(
            self.api + SHIFTS_PATH.format(ns=self.namespace), json=manifest, timeout=TIMEOUT
        )
        self._check(response, f"POST TrafficShift {manifest['metadata']['name']}", (200, 201))

    def shift(self, name: str) -> dict[str, Any]:
        url = f"{self.api}{SHIFTS_PATH.format(ns=self.namespace)}/{name}"
        response = self._http.get(url, timeout=TIMEOUT)
        self._check(response, f"GET TrafficShift {name}", (200,))
        body: dict[str, Any] = response.json()
        return body

    def delete_shift(self, name: str) -> None:
        url = f"{self.api}{SHIFTS_PATH.format(ns=self.namespace)}/{name}"
        response = self._http.delete(url, timeout=TIMEOUT)
        self._check(response, f"DELETE TrafficShift {name}", (200, 202, 404))

    def set_fault(self, knobs: dict[str, Any]) -> None:
        response = self._http.post(f"{self.mesh}/admin/faults", json=knobs, timeout=TIMEOUT)
        self._check(response, f"POST /admin/faults {knobs}", (200,))

    def clear_faults(self) -> None:
        self.set_fault({"clear": True})

    def canary_requests(self, window: str) -> float:
        """v3 requests of this lane that Prometheus holds in the last `window` (what the gates
        of a new shift would read)."""
        query = (
            'sum(increase(istio_requests_total{reporter="destination",'
            'destination_service_name="reviews",'
            f'destination_workload_namespace="{self.namespace}",destination_version="v3"}}'
            f"[{window}]))"
        )
        response = self._http.get(
            f"{self.prometheus}/api/v1/query", params={"query": query}, timeout=TIMEOUT
        )
        self._check(response, f"Prometheus query {query}", (200,))
        result = response.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0
