"""A fake `ShiftApi` (our own seam) holding TrafficShifts and VirtualServices in memory."""

from __future__ import annotations

import copy
from typing import Any

from controller.kube.errors import ConflictError, NotFoundError


class FakeShiftApi:
    def __init__(self, *shifts: dict[str, Any], conflicts: int = 0) -> None:
        self.shifts = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in shifts}
        self.virtual_services: dict[tuple[str, str], dict[str, Any]] = {}
        self.patches: list[dict[str, Any]] = []
        self.conflicts = conflicts  # answer this many patches with 409 first

    def close(self) -> None:
        """Nothing to release; the CLI closes whatever api it used."""

    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        try:
            return copy.deepcopy(self.shifts[(namespace, name)])
        except KeyError:
            raise NotFoundError(f"TrafficShift {namespace}/{name} not found", 404) from None

    def list_shifts(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return [s for (ns, _), s in sorted(self.shifts.items()) if namespace in (None, ns)]

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]:
        try:
            return self.virtual_services[(namespace, name)]
        except KeyError:
            raise NotFoundError(f"VirtualService {namespace}/{name} not found", 404) from None

    def patch_shift(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        if self.conflicts:
            self.conflicts -= 1
            raise ConflictError("the object has been modified", 409)
        self.patches.append(patch)
        obj = self.shifts[(namespace, name)]
        obj["metadata"].setdefault("annotations", {}).update(
            patch.get("metadata", {}).get("annotations", {})
        )
        obj["spec"].update(patch.get("spec", {}))
        return obj


def shift_object(
    name: str = "reviews-v3", status: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "weightgate.dev/v1alpha1",
        "kind": "TrafficShift",
        "metadata": {
            "name": name,
            "namespace": "bookinfo",
            "resourceVersion": "7",
            "creationTimestamp": "2024-05-01T12:00:00Z",
        },
        "spec": {
            "virtualService": "reviews",
            "stable": "v1",
            "canary": "v3",
            "steps": [50, 100],
            "interval": "30s",
            **spec,
        },
    }
    if status is not None:
        obj["status"] = status
    return obj


def progressing(step: int = 1, weight: int = 50, **fields: Any) -> dict[str, Any]:
    return {
        "phase": "Progressing",
        "currentStep": step,
        "canaryWeight": weight,
        "stepStartedAt": "2024-05-01T12:00:10Z",
        **fields,
    }
