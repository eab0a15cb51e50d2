"""Routes naming providers the controller does not configure."""

from __future__ import annotations

from controller.alerts import misconfigured_message, missing_providers
from tests.unit.alerts.builders import routes, settings

CONFIGURED = settings(oncall={"type": "alertmanager", "url": "http://am:9093"})


def test_missing_providers_lists_each_unknown_name_once_in_spec_order() -> None:
    wanted = routes(
        ("pager", ["rollback"]),
        ("oncall", ["rollback"]),
        ("chat", ["promoted"]),
        ("pager", ["drift"]),
    )
    assert missing_providers(wanted, CONFIGURED) == ["pager", "chat"]


def test_all_configured_means_nothing_missing_and_no_message() -> None:
    wanted = routes(("oncall", ["rollback"]))
    assert missing_providers(wanted, CONFIGURED) == []
    assert misconfigured_message(wanted, CONFIGURED) == ""


def test_message_names_the_field_paths_the_known_providers_and_the_fix() -> None:
    wanted = routes(("oncall", ["rollback"]), ("pager", ["rollback"]))
    assert misconfigured_message(wanted, CONFIGURED) == (
        "spec.alerts[1].provider 'pager': no such alert provider in the controller settings "
        "(configured: 'oncall'). Alerts for these routes are not sent: fix the provider name, "
        "or add it under alerts.providers in the controller settings."
    )
