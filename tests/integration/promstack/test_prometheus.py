"""The sandbox's Prometheus: 1 s scrapes, targets changed live, restart on the same port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from controller.sandbox.promstack import (
    BinaryNotFoundError,
    ProcessStartError,
    PrometheusProcess,
    port_is_open,
)
from tests.integration.promstack.helpers import instant_query, poll_until

pytestmark = pytest.mark.integration


def scraped_up(prometheus: PrometheusProcess, instance: str) -> list[dict[str, object]] | None:
    return instant_query(prometheus.url, f'up{{instance="{instance}"}} == 1') or None


def test_session_prometheus_runs_with_one_second_intervals(prometheus: PrometheusProcess) -> None:
    assert requests.get(f"{prometheus.url}/-/ready", timeout=5).status_code == 200
    config = requests.get(f"{prometheus.url}/api/v1/status/config", timeout=5).json()
    loaded = config["data"]["yaml"]
    assert "scrape_interval: 1s" in loaded
    assert "evaluation_interval: 1s" in loaded


def test_target_added_while_running_gets_scraped(prometheus: PrometheusProcess) -> None:
    own = prometheus.url.removeprefix("http://")  # Prometheus exports its own /metrics
    prometheus.add_target(own)
    try:
        poll_until(lambda: scraped_up(prometheus, own), timeout=15, what=f"up for {own}")
    finally:
        prometheus.remove_target(own)
    assert own not in prometheus.targets


@pytest.fixture
def own_prometheus(tmp_path: Path) -> Iterator[PrometheusProcess]:
    """A Prometheus this test may stop and restart, scraping itself."""
    process = PrometheusProcess([], tmp_path)
    try:
        process.start()
        process.set_targets([process.url.removeprefix("http://")])
        yield process
    finally:
        process.stop()


def test_restart_keeps_port_and_data(own_prometheus: PrometheusProcess) -> None:
    instance = own_prometheus.url.removeprefix("http://")
    poll_until(lambda: scraped_up(own_prometheus, instance), timeout=15, what="first scrapes")
    port, data_dir = own_prometheus.port, own_prometheus.data_dir
    history = f'count_over_time(up{{instance="{instance}"}}[1h])'
    before = float(instant_query(own_prometheus.url, history)[0]["value"][1])

    own_prometheus.stop()
    assert not port_is_open(port), "a stopped Prometheus must look like an outage"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{own_prometheus.url}/-/ready", timeout=2)

    own_prometheus.start()
    assert (own_prometheus.port, own_prometheus.data_dir) == (port, data_dir)
    after = float(instant_query(own_prometheus.url, history)[0]["value"][1])
    assert after >= before, "samples scraped before the restart must still be there"


def test_restart_method_is_stop_then_start_on_the_same_port(
    own_prometheus: PrometheusProcess,
) -> None:
    port, first_pid = own_prometheus.port, own_prometheus.pid
    own_prometheus.restart()
    assert own_prometheus.port == port
    assert own_prometheus.pid != first_pid
    assert requests.get(f"{own_prometheus.url}/-/ready", timeout=5).status_code == 200


def test_missing_binary_error_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError) as caught:
        PrometheusProcess([], tmp_path).start()
    message = str(caught.value)
    assert "`prometheus` is not on PATH" in message
    assert (
        "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager" in message
    )


def test_taken_port_fails_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        process = PrometheusProcess([], tmp_path, port=port)
        with pytest.raises(ProcessStartError, match="address already in use"):
            process.start(timeout=10)
    assert process.process is not None
    assert process.process.returncode is not None
