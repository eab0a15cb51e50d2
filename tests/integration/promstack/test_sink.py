"""The alert sink records every delivery, serves them back, and can refuse on demand."""

from __future__ import annotations

import requests

from controller.sandbox.sink import SinkServer


def test_posted_json_is_served_back_at_received(sink_server: SinkServer) -> None:
    payload = {"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "X"}}]}
    response = requests.post(f"{sink_server.url}/alerts", json=payload, timeout=5)
    assert response.status_code == 200
    received = requests.get(f"{sink_server.url}/received", timeout=5).json()
    assert received["count"] == 1
    assert received["received"][0]["path"] == "/alerts"
    assert received["received"][0]["body"] == payload


def test_non_json_body_is_kept_as_raw_text(sink_server: SinkServer) -> None:
    requests.post(f"{sink_server.url}/hook", data=b"plain words", timeout=5)
    body = requests.get(f"{sink_server.url}/received", timeout=5).json()["received"][0]["body"]
    assert body == {"raw": "plain words"}


def test_delete_received_forgets_everything(sink_server: SinkServer) -> None:
    for n in range(3):
        requests.post(f"{sink_server.url}/alerts", json={"n": n}, timeout=5)
    assert requests.delete(f"{sink_server.url}/received", timeout=5).status_code == 200
    assert requests.get(f"{sink_server.url}/received", timeout=5).json()["count"] == 0


def test_fail_next_refuses_that_many_deliveries_then_records_again(
    sink_server: SinkServer,
) -> None:
    set_up = requests.post(
        f"{sink_server.url}/admin/fail", json={"status": 503, "times": 2}, timeout=5
    )
    assert set_up.status_code == 200
    statuses = [
        requests.post(f"{sink_server.url}/alerts", json={"n": n}, timeout=5).status_code
        for n in range(3)
    ]
    assert statuses == [503, 503, 200]
    received = requests.get(f"{sink_server.url}/received", timeout=5).json()
    assert (received["count"], received["rejected"]) == (1, 2)
    assert received["received"][0]["body"] == {"n": 2}


def test_bad_fail_settings_are_refused(sink_server: SinkServer) -> None:
    response = requests.post(f"{sink_server.url}/admin/fail", json={"status": 200}, timeout=5)
    assert response.status_code == 400
    assert "status" in response.json()["error"]
