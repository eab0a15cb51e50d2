"""The mesh over HTTP: product page, admin endpoints, metrics, and the load generator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from controller.sandbox.mesh import Mesh, MeshServer, StaticRouteSource
from tests.integration.mesh.conftest import destination_rule, virtual_service
from tests.integration.promstack.helpers import poll_until


@pytest.fixture
def server() -> Iterator[MeshServer]:
    source = StaticRouteSource(virtual_service({"v3": 100}), destination_rule())
    mesh_server = MeshServer(Mesh(source, seed=9), rps=0)
    mesh_server.start()
    try:
        yield mesh_server
    finally:
        mesh_server.stop()


def test_product_page_html_shows_red_stars_from_v3(server: MeshServer) -> None:
    response = requests.get(f"{server.url}/productpage", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'class="stars-red"' in response.text
    assert '<strong id="reviews-version">v3</strong>' in response.text


def test_product_page_json_names_the_answering_version(server: MeshServer) -> None:
    body = requests.get(f"{server.url}/productpage?format=json", timeout=5).json()
    assert (body["reviews_version"], body["status"]) == ("v3", 200)
    by_accept = requests.get(
        f"{server.url}/productpage", headers={"Accept": "application/json"}, timeout=5
    ).json()
    assert by_accept["reviews_version"] == "v3"


def test_v1_page_has_no_stars_and_failures_show_bookinfo_message(server: MeshServer) -> None:
    source = server.mesh.source
    assert isinstance(source, StaticRouteSource)
    source.set(virtual_service({"v1": 100}), destination_rule())
    page = requests.get(f"{server.url}/productpage", timeout=5).text
    assert 'class="stars-' not in page
    requests.post(f"{server.url}/admin/faults", json={"version": "v1", "error_rate": 1}, timeout=5)
    page = requests.get(f"{server.url}/productpage", timeout=5).text
    assert "product reviews are currently unavailable" in page


def test_admin_faults_set_read_and_clear(server: MeshServer) -> None:
    url = f"{server.url}/admin/faults"
    set_response = requests.post(
        url, json={"version": "v3", "error_rate": 1.0, "latency_ms": 5}, timeout=5
    )
    assert set_response.status_code == 200
    assert requests.get(url, timeout=5).json()["v3"]["error_rate"] == 1.0
    body = requests.get(f"{server.url}/productpage?format=json", timeout=5).json()
    assert (body["status"], body["reviews_version"]) == (503, "v3")
    requests.post(url, json={"clear": True}, timeout=5)
    assert requests.get(url, timeout=5).json()["v3"]["error_rate"] == 0.0


def test_admin_rejects_bad_bodies_with_400_naming_the_field(server: MeshServer) -> None:
    faults = requests.post(
        f"{server.url}/admin/faults", json={"version": "v3", "error_rate": 2}, timeout=5
    )
    assert faults.status_code == 400
    assert "error_rate" in faults.json()["error"]
    load = requests.post(f"{server.url}/admin/load", json={"rps": "fast"}, timeout=5)
    assert load.status_code == 400
    assert "rps" in load.json()["error"]
    not_json = requests.post(f"{server.url}/admin/load", data=b"{", timeout=5)
    assert not_json.status_code == 400


def test_admin_state_shows_routes_subsets_and_counts(server: MeshServer) -> None:
    for _ in range(3):
        requests.get(f"{server.url}/productpage?format=json", timeout=5)
    state = requests.get(f"{server.url}/admin/state", timeout=5).json()
    assert state["routes"][0]["destinations"] == [
        {"host": "reviews", "subset": "v3", "weight": 100}
    ]
    assert set(state["subsets"]) == {"v1", "v2", "v3"}
    assert state["counts"] == {"v3": {"200": 3}}
    assert state["load"]["rps"] == 0


def test_load_generator_rate_changes_while_running(server: MeshServer) -> None:
    response = requests.post(f"{server.url}/admin/load", json={"rps": 50}, timeout=5)
    assert response.json()["rps"] == 50

    def served() -> int:
        return sum(server.mesh.counts().get("v3", {}).values())

    def idle() -> bool | None:
        return server.loadgen.stats()["in_flight"] == 0 or None

    poll_until(lambda: served() >= 25 or None, timeout=5, what="25 generated requests")
    requests.post(f"{server.url}/admin/load", json={"rps": 0}, timeout=5)
    poll_until(idle, timeout=5, what="the load generator to go idle")
    paused_at = served()
    time.sleep(0.3)  # a negative check: unpaused, 50 rps would add about 15 requests here
    assert served() == paused_at


def test_slow_version_does_not_throttle_the_load_generator(server: MeshServer) -> None:
    requests.post(
        f"{server.url}/admin/faults", json={"version": "v3", "latency_ms": 400}, timeout=5
    )
    requests.post(f"{server.url}/admin/load", json={"rps": 40}, timeout=5)

    # With one request at a time, 400 ms each, two seconds would bring about 5 requests.
    def eight_in_flight() -> dict[str, object] | None:
        stats = server.loadgen.stats()
        return stats if stats["in_flight"] >= 8 else None

    started = poll_until(eight_in_flight, timeout=3, what="8 requests in flight at once")
    assert started["in_flight"] >= 8


def test_metrics_endpoint_serves_istio_series(server: MeshServer) -> None:
    requests.get(f"{server.url}/productpage", timeout=5)
    response = requests.get(f"{server.url}/metrics", timeout=5)
    assert response.status_code == 200
    assert "istio_requests_total{" in response.text
    assert "istio_request_duration_milliseconds_bucket{" in response.text


def test_unknown_endpoint_is_404(server: MeshServer) -> None:
    assert requests.get(f"{server.url}/nope", timeout=5).status_code == 404
