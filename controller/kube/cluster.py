"""The cluster as the reconcile loop sees it: TrafficShifts, VirtualServices, DestinationRules
and Events over ``KubeClient``. Implements ``controller.reconcile.ports.Cluster``."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

from controller.kube.client import KubeClient
from controller.kube.errors import KubeError
from controller.kube.events import shift_event
from controller.kube.resources import EVENTS, TRAFFIC_SHIFTS, Resource
from controller.telemetry import get_logger


class KubeCluster:
    def __init__(
        self, client: KubeClient, *, istio_version: str = "v1", instance: str = ""
    ) -> None:
        self.client = client
        self.virtual_services = Resource(
            "networking.istio.io", istio_version, "virtualservices", "VirtualService"
        )
        self.destination_rules = Resource(
            "networking.istio.io", istio_version, "destinationrules", "DestinationRule"
        )
        self.instance = instance or socket.gethostname()

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        return self.client.get(TRAFFIC_SHIFTS, namespace, name)

    def list_shifts(self, namespace: str | None = None) -> tuple[list[dict[str, Any]], str]:
        return self.client.list_objects(TRAFFIC_SHIFTS, namespace)

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        return self.client.get(self.virtual_services, namespace, name)

    def get_destination_rule(self, namespace: str, name: str) -> dict[str, Any]:
        return self.client.get(self.destination_rules, namespace, name)

    def patch_virtual_service(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return self.client.json_patch(self.virtual_services, namespace, name, operations)

    def replace_shift_status(self, shift: dict[str, Any]) -> dict[str, Any]:
        return self.client.replace_status(TRAFFIC_SHIFTS, shift)

    def patch_shift(
        self, namespace: str, name: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return self.client.json_patch(TRAFFIC_SHIFTS, namespace, name, operations)

    def record_event(
        self, shift: dict[str, Any], *, reason: str, message: str, warning: bool, now: datetime
    ) -> None:
        """Best effort: an Event that cannot be written is logged, never fatal to the tick (the
        status history holds the same transition)."""
        event = shift_event(
            shift, reason=reason, message=message, warning=warning, now=now, instance=self.instance
        )
        try:
            self.client.create(EVENTS, shift["metadata"]["namespace"], event)
        except KubeError as exc:
            get_logger(shift=shift["metadata"]["name"]).warning(
                "event.not_recorded", reason=reason, error=str(exc)
            )
