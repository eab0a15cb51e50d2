"""Route sources keep the router current with the API (or files) and survive their outages."""

from __future__ import annotations

from pathlib import Path

import yaml

from controller.sandbox.mesh import Mesh, api_route_source, file_route_source
from controller.sandbox.mesh.sources import PollingRouteSource
from tests.integration.mesh.conftest import (
    NAMESPACE,
    destination_rule,
    no_sleep,
    virtual_service,
)
from tests.integration.mesh.fake_api import FakeIstioApi
from tests.integration.promstack.helpers import poll_until


def weights(source: PollingRouteSource) -> list[tuple[str | None, int]]:
    routes = source.routing_table().routes or ()
    return [(d.subset, d.weight) for route in routes for d in route.destinations]


def test_api_source_reads_the_reviews_objects(fake_api: FakeIstioApi) -> None:
    fake_api.put(NAMESPACE, "virtualservices", virtual_service({"v1": 80, "v3": 20}))
    fake_api.put(NAMESPACE, "destinationrules", destination_rule())
    source = api_route_source(fake_api.url, NAMESPACE)
    source.poll_once()
    assert weights(source) == [("v1", 80), ("v3", 20)]
    assert set(source.routing_table().subsets) == {"v1", "v2", "v3"}
    assert source.status()["synced"] is True


def test_api_source_follows_a_weight_change_within_a_second(fake_api: FakeIstioApi) -> None:
    fake_api.put(NAMESPACE, "virtualservices", virtual_service({"v1": 100, "v3": 0}))
    fake_api.put(NAMESPACE, "destinationrules", destination_rule())
    source = api_route_source(fake_api.url, NAMESPACE, interval=0.1)
    source.start()
    try:
        fake_api.put(NAMESPACE, "virtualservices", virtual_service({"v1": 50, "v3": 50}))
        poll_until(
            lambda: weights(source) == [("v1", 50), ("v3", 50)] or None,
            timeout=1.0,
            what="the source to see the new weights",
            interval=0.05,
        )
    finally:
        source.stop()


def test_api_source_keeps_last_routes_while_the_api_is_down(fake_api: FakeIstioApi) -> None:
    fake_api.put(NAMESPACE, "virtualservices", virtual_service({"v3": 100}))
    fake_api.put(NAMESPACE, "destinationrules", destination_rule())
    source = api_route_source(fake_api.url, NAMESPACE)
    source.poll_once()
    fake_api.down = True
    source.poll_once()
    assert weights(source) == [("v3", 100)]
    assert "HTTP 503" in source.status()["last_error"]
    fake_api.down = False
    source.poll_once()
    assert source.status()["last_error"] is None


def test_api_source_keeps_last_routes_when_the_api_is_unreachable(
    fake_api: FakeIstioApi,
) -> None:
    fake_api.put(NAMESPACE, "virtualservices", virtual_service({"v3": 100}))
    source = api_route_source(fake_api.url, NAMESPACE)
    source.poll_once()
    fake_api.stop()
    source.poll_once()
    assert weights(source) == [("v3", 100)]
    assert source.status()["last_error"].startswith("GET ")


def test_deleted_virtual_service_means_plain_service_routing(fake_api: FakeIstioApi) -> None:
    fake_api.put(NAMESPACE, "virtualservices", virtual_service({"v3": 100}))
    source = api_route_source(fake_api.url, NAMESPACE)
    source.poll_once()
    fake_api.delete(NAMESPACE, "virtualservices", "reviews")
    source.poll_once()
    assert source.routing_table().routes is None


def test_unparsable_virtual_service_keeps_last_routes_and_reports_why(
    fake_api: FakeIstioApi,
) -> None:
    fake_api.put(NAMESPACE, "virtualservices", virtual_service({"v3": 100}))
    source = api_route_source(fake_api.url, NAMESPACE)
    source.poll_once()
    broken = virtual_service({"v3": 100})
    broken["spec"]["http"][0]["route"][0]["weight"] = 300
    fake_api.put(NAMESPACE, "virtualservices", broken)
    source.poll_once()
    assert weights(source) == [("v3", 100)]
    assert "spec.http[0].route[0].weight" in source.status()["last_error"]


def test_before_any_read_the_mesh_routes_like_a_plain_service(fake_api: FakeIstioApi) -> None:
    fake_api.down = True
    source = api_route_source(fake_api.url, NAMESPACE)
    source.poll_once()
    assert source.status()["synced"] is False
    mesh = Mesh(source, seed=1, sleep=no_sleep)
    assert mesh.product_page().status == 200


def test_file_source_reads_multi_document_yaml_and_follows_edits(tmp_path: Path) -> None:
    path = tmp_path / "reviews.yaml"
    other = {**virtual_service({"v2": 100}), "metadata": {"name": "ratings"}}
    documents = [other, virtual_service({"v1": 100}), destination_rule()]
    path.write_text(yaml.safe_dump_all(documents))
    source = file_route_source(path, None, NAMESPACE)
    source.poll_once()
    assert weights(source) == [("v1", 100)]
    path.write_text(yaml.safe_dump_all([virtual_service({"v3": 100}), destination_rule()]))
    source.poll_once()
    assert weights(source) == [("v3", 100)]


def test_file_source_reads_the_bookinfo_fixtures(bookinfo_dir: Path) -> None:
    source = file_route_source(
        bookinfo_dir / "virtual-service-reviews-50-v3.yaml",
        bookinfo_dir / "destination-rule-all.yaml",
        NAMESPACE,
    )
    source.poll_once()
    assert weights(source) == [("v1", 50), ("v3", 50)]
    assert dict(source.routing_table().subsets["v3"]) == {"version": "v3"}


def test_file_source_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    source = file_route_source(tmp_path / "absent.yaml", None, NAMESPACE)
    source.poll_once()
    assert "absent.yaml" in source.status()["last_error"]
