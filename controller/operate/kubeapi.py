"""The operator commands' view of the cluster (`ShiftApi`) over the one Kubernetes client."""

from __future__ import annotations

from typing import Any

from controller.kube.client import KubeClient
from controller.kube.cluster import KubeCluster
from controller.kube.resources import TRAFFIC_SHIFTS


class KubeShiftApi:
    def __init__(self, client: KubeClient, *, istio_version: str = "v1") -> None:
        self.client = client
        self.cluster = KubeCluster(client, istio_version=istio_version, instance="weightgate-cli")

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        return self.cluster.get_shift(namespace, name)

    def list_shifts(self, namespace: str | None = None) -> list[dict[str, Any]]:
        items, _ = self.cluster.list_shifts(namespace)
        return sorted(items, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        return self.cluster.get_virtual_service(namespace, name)

    def patch_shift(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.client.merge_patch(TRAFFIC_SHIFTS, namespace, name, patch)

    def close(self) -> None:
        self.client.close()
