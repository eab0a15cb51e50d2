"""The sandbox alert sink over HTTP: what it received (Alertmanager's notifications and any
webhook POSTed straight to it), forgetting it, and refusing the next deliveries."""

from __future__ import annotations

from typing import Any

import requests


class SinkClient:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session = requests.Session()

    def received(self) -> dict[str, Any]:
        """``{"count", "rejected", "received": [{"path", "received_at", "body"}]}``."""
        response = self._session.get(f"{self.url}/received", timeout=5)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def deliveries(self, path: str) -> list[dict[str, Any]]:
        """What was accepted on `path`, oldest first."""
        return [r for r in self.received()["received"] if r["path"] == path]

    def alertmanager_alerts(self, shift: str) -> list[dict[str, Any]]:
        """Every alert in every Alertmanager notification about TrafficShift `shift`."""
        return [
            alert
            for record in self.received()["received"]
            if isinstance(record["body"], dict)
            for alert in record["body"].get("alerts") or []
            if alert.get("labels", {}).get("trafficshift") == shift
        ]

    def clear(self) -> None:
        self._session.delete(f"{self.url}/received", timeout=5).raise_for_status()

    def fail_next(self, times: int, status: int = 503) -> None:
        """Answer the next `times` deliveries with `status` (0: stop refusing)."""
        response = self._session.post(
            f"{self.url}/admin/fail", json={"status": status, "times": times}, timeout=5
        )
        response.raise_for_status()

    def close(self) -> None:
        self._session.close()
