"""Re-export: the outbox entry models live in ``controller.api.alerting`` because the
TrafficShift status holds them (``status.pendingAlerts`` / ``status.firingAlerts``)."""

from controller.api.alerting import (
    MAX_ERROR_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_QUERY_CHARS,
    AlertFacts,
    AlertKey,
    AlertState,
    GateFacts,
    PendingAlert,
    Severity,
)

__all__ = [
    "MAX_ERROR_CHARS",
    "MAX_MESSAGE_CHARS",
    "MAX_QUERY_CHARS",
    "AlertFacts",
    "AlertKey",
    "AlertState",
    "GateFacts",
    "PendingAlert",
    "Severity",
]
