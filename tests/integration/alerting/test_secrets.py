"""Configured secrets stay secret: after a rollback alerted through a signed webhook and a Slack
webhook whose URL holds a token - with the receiver first refusing each and quoting the request
back, so the error path runs too - neither the webhook secret nor the Slack token appears in
the daemon's log, the TrafficShift (statuses seen while retrying included) or its Events."""

from __future__ import annotations

import json
import uuid

from controller.alerts import SIGNATURE_HEADER, verify_signature
from tests.integration.alerting.conftest import StartDaemon
from tests.integration.alerting.receivers import Delivery, recording_receiver
from tests.integration.alerting.sampling import Sampler
from tests.integration.alerting.scene import Scene
from tests.integration.alerting.settings_files import slack, webhook, write_settings
from tests.integration.controller.knobs import kubectl
from tests.integration.sandbox_fixtures import poll

WEBHOOK_SECRET_ENV = "WG_TEST_WEBHOOK_SECRET"
SLACK_URL_ENV = "WG_TEST_SLACK_URL"
SLACK_TOKEN = "SECRETTOKEN123"
SLACK_PATH = f"/services/T000/B000/{SLACK_TOKEN}"
HOOK_PATH = "/hook"
REFUSALS = 2  # per receiver path, before it accepts
QUICK_RETRY = {"initialBackoff": "1s", "maxBackoff": "1s"}


def signature_of(delivery: Delivery) -> str | None:
    wanted = SIGNATURE_HEADER.lower()
    return next((v for k, v in delivery.headers.items() if k.lower() == wanted), None)


def test_no_configured_secret_appears_in_logs_status_or_events(
    scene: Scene, start_daemon: StartDaemon
) -> None:
    """Webhook `secret: {env}` and Slack `webhookUrl: {env}` (token in the path) both in use and
    both first refused: no secret value in the log, `kubectl get tshift -o yaml`, the statuses
    sampled while retrying, or `kubectl get events -o yaml`."""
    webhook_secret = f"whsec-{uuid.uuid4().hex}"
    shift = scene.new_shift(
        "secrets",
        alerts=[
            {"provider": "signed", "events": ["rollback"]},
            {"provider": "chat", "events": ["rollback"]},
        ],
    )
    with recording_receiver(refuse_first=REFUSALS) as receiver:
        slack_url = receiver.url + SLACK_PATH
        config = write_settings(
            scene.sandbox_dir,
            scene.workdir / "controller.yaml",
            {
                "signed": webhook(receiver.url + HOOK_PATH, WEBHOOK_SECRET_ENV),
                "chat": slack(SLACK_URL_ENV),
            },
            retry=QUICK_RETRY,
        )
        env = {WEBHOOK_SECRET_ENV: webhook_secret, SLACK_URL_ENV: slack_url}
        daemon = start_daemon(config, env=env)
        scene.fault_canary(error_rate=0.3)
        with Sampler(lambda: json.dumps(scene.status(shift.name)), every=0.2) as statuses:
            scene.apply(shift)
            scene.wait_phase(shift.name, "RolledBack", timeout=40)
            poll(
                "both alerts delivered",
                lambda: receiver.on(HOOK_PATH) and receiver.on(SLACK_PATH),
                timeout=20,
            )
            poll("an empty outbox", lambda: not scene.status(shift.name).get("pendingAlerts"), 10)
        (signed,) = receiver.on(HOOK_PATH)
        (chat,) = receiver.on(SLACK_PATH)

    # The secrets were really in play, and so was the error path that could leak them.
    assert verify_signature(signed.body, signature_of(signed), webhook_secret)
    assert "rolled back" in json.loads(chat.body)["text"]
    assert len(receiver.refused) == 2 * REFUSALS
    refused = daemon.find("alerts.delivery_failed")
    assert {r["provider"] for r in refused} == {"signed", "chat"}
    assert all("HTTP 503" in r["error"] for r in refused)
    retried = [s for s in statuses.path() if '"lastError": "' in s and "HTTP 503" in s]
    assert retried, "no status showed a refused delivery"

    places = {
        "the daemon's log": daemon.output(),
        "kubectl get tshift -o yaml": kubectl(scene.info, "get", "tshift", "-o", "yaml").stdout,
        "statuses seen while retrying": "\n".join(statuses.path()),
        "kubectl get events -o yaml": kubectl(scene.info, "get", "events", "-o", "yaml").stdout,
    }
    for where, text in places.items():
        for secret in (webhook_secret, SLACK_TOKEN, slack_url):
            assert secret not in text, f"{where} shows a configured secret"
