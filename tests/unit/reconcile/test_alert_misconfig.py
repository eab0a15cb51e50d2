"""Alert settings that cannot work (a Secret that is missing) show at the first attempt: the
AlertsMisconfigured condition and one Warning Event, then a long backoff with no status write
per retry; fixing nothing in between changes nothing."""

from __future__ import annotations

import random
from dataclasses import replace

from controller.alerts import ALERTS_MISCONFIGURED, AlertSettings, Dispatcher, SecretResolver
from controller.api.status import Phase
from tests.unit.alerts.fakes import ScriptedTransport
from tests.unit.reconcile.builders import (
    bookinfo_cluster,
    make_deps,
    shift_manifest,
    stored_status,
    tick,
)
from tests.unit.reconcile.fakes import FakePrometheus

HOOK = {"type": "webhook", "url": "http://hook.example/in", "secret": {"env": "HOOK_SECRET"}}


def test_a_missing_secret_is_a_condition_and_one_warning_at_once_then_quiet() -> None:
    config = AlertSettings.model_validate({"providers": {"hook": HOOK}})
    transport = ScriptedTransport()
    dispatcher = Dispatcher(
        config, secrets=SecretResolver(environ={}), transport=transport, rng=random.Random(1)
    )
    cluster = bookinfo_cluster(shift_manifest(alerts=[{"provider": "hook"}]))
    deps = replace(
        make_deps(cluster, FakePrometheus.healthy(error_rate=5.0)),
        alerts=dispatcher,
        alert_settings=config,
    )
    with dispatcher:
        for seconds in (0, 10, 20):
            outcome = tick(deps, seconds)
        assert outcome.phase is Phase.ROLLED_BACK
        status = stored_status(cluster)
        (pending,) = status.pending_alerts
        assert pending.misconfigured
        condition = next(c for c in status.conditions if c.type == ALERTS_MISCONFIGURED)
        assert (condition.status, condition.reason) == ("True", "DeliveryMisconfigured")
        assert "provider 'hook': secret unavailable" in condition.message
        assert "HOOK_SECRET" in condition.message
        assert "retried every 30m" in condition.message
        assert cluster.event_reasons().count(ALERTS_MISCONFIGURED) == 1
        writes = len(cluster.calls_of("replace_shift_status"))

        for seconds in range(21, 20 + 29 * 60, 60):  # half an hour of ticks
            tick(deps, seconds)

        assert len(cluster.calls_of("replace_shift_status")) == writes
        assert cluster.event_reasons().count(ALERTS_MISCONFIGURED) == 1
        assert transport.sent == []
