"""Checking a TrafficShift's alert routes against the configured providers (pure).

A route naming a provider the controller does not know would silently alert nobody, so the
integrator records an ``AlertsMisconfigured`` condition (and a Warning event) with
`misconfigured_message`; the shift itself still runs. The same condition carries what delivery
found wrong in the controller's own settings (`delivery_misconfigured`: a Secret or key that is
missing), as soon as the first attempt finds it, not when the retries give up.
"""

from __future__ import annotations

from collections.abc import Sequence

from controller.alerts.config import AlertSettings
from controller.api.alerting import PendingAlert
from controller.api.durations import format_duration
from controller.api.trafficshift import AlertRoute

ALERTS_MISCONFIGURED = "AlertsMisconfigured"


def missing_providers(routes: Sequence[AlertRoute], settings: AlertSettings) -> list[str]:
    """Provider names used by `routes` but not configured, each once, in spec order."""
    missing = [r.provider for r in routes if r.provider not in settings.providers]
    return list(dict.fromkeys(missing))


def delivery_misconfigured(pending: Sequence[PendingAlert], settings: AlertSettings) -> str:
    """What the outbox's last attempts found wrong in the controller's own alert settings (a
    Secret or key missing, a provider not configured); "" when nothing."""
    found = list(
        dict.fromkeys(
            f"provider '{a.provider}': {a.last_error}" for a in pending if a.misconfigured
        )
    )
    if not found:
        return ""
    every = format_duration(settings.retry.misconfigured_backoff)
    return (
        f"alerts cannot be delivered as the controller is configured: {'; '.join(found)}. They "
        f"are retried every {every} until fixed (or given up after "
        f"{format_duration(settings.retry.give_up_after)}): fix the alert settings or the "
        "Secret they name."
    )


def misconfigured_message(routes: Sequence[AlertRoute], settings: AlertSettings) -> str:
    """What is wrong and where, for the condition and event; "" when nothing is."""
    missing = set(missing_providers(routes, settings))
    if not missing:
        return ""
    wrong = [
        f"spec.alerts[{index}].provider '{route.provider}'"
        for index, route in enumerate(routes)
        if route.provider in missing
    ]
    known = ", ".join(f"'{name}'" for name in sorted(settings.providers)) or "none"
    return (
        f"{'; '.join(wrong)}: no such alert provider in the controller settings (configured: "
        f"{known}). Alerts for these routes are not sent: fix the provider name, or add it "
        "under alerts.providers in the controller settings."
    )
