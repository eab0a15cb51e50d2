"""The identity of a shift: which spec fields, when edited, make it a different shift.

Editing the target (VirtualService, route, host), the subsets or the steps invalidates the
recorded step, so the shift starts over. Thresholds, interval and analysis settings only change
how the current shift is judged, so they are left out of the hash and simply apply.
"""

from __future__ import annotations

import hashlib
import json

from controller.api.trafficshift import TrafficShiftSpec

# Bump when the hashed fields change, so an old recorded hash never matches by accident.
_HASH_VERSION = "1"


def shift_hash(spec: TrafficShiftSpec) -> str:
    """A short, stable fingerprint of the fields whose change restarts a shift."""
    identity = {
        "version": _HASH_VERSION,
        "virtualService": spec.virtual_service,
        "route": spec.route,
        "host": spec.host,
        "stable": spec.stable,
        "canary": spec.canary,
        "steps": list(spec.steps),
    }
    encoded = json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]
