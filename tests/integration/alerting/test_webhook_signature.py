"""The generic webhook end to end: a rollback's alert reaches a receiver of the test's own,
signed with the shared secret the controller read from its environment."""

from __future__ import annotations

import json
import uuid

from controller.alerts import SIGNATURE_HEADER, verify_signature
from tests.integration.alerting.processes import run_pipeline
from tests.integration.alerting.receivers import Delivery, recording_receiver
from tests.integration.alerting.scene import Scene
from tests.integration.alerting.settings_files import webhook, write_settings
from tests.integration.sandbox_fixtures import poll

SECRET_ENV = "WG_TEST_SECRET"
HOOK_PATH = "/hooks/weightgate"


def header(delivery: Delivery, name: str) -> str | None:
    return next((v for k, v in delivery.headers.items() if k.lower() == name.lower()), None)


def test_webhook_body_verifies_with_the_shared_secret_and_no_other(scene: Scene) -> None:
    """After a rollback, the recorded body verifies with `verify_signature` and the secret from
    `secret: {env: WG_TEST_SECRET}`, and fails with another secret or an altered body."""
    secret = f"whsec-{uuid.uuid4().hex}"
    with recording_receiver() as receiver:
        config = write_settings(
            scene.sandbox_dir,
            scene.workdir / "controller.yaml",
            {"signed": webhook(receiver.url + HOOK_PATH, SECRET_ENV)},
        )
        scene.fault_canary(error_rate=0.3)
        shift = scene.new_shift("signed", alerts=[{"provider": "signed", "events": ["rollback"]}])

        result = run_pipeline(
            scene.sandbox_dir,
            shift.path,
            scene.workdir / "run.log",
            config=config,
            env={SECRET_ENV: secret},
        )

        assert result.code == 3, result.output
        poll("the webhook delivery", lambda: receiver.on(HOOK_PATH) or None, timeout=10)
        (delivery,) = receiver.on(HOOK_PATH)

    signature = header(delivery, SIGNATURE_HEADER)
    assert signature is not None
    assert signature.startswith("sha256=")
    assert verify_signature(delivery.body, signature, secret)
    assert not verify_signature(delivery.body, signature, "another-secret")
    altered = delivery.body.replace(b'"weight":50', b'"weight":5')
    assert altered != delivery.body
    assert not verify_signature(altered, signature, secret)

    payload = json.loads(delivery.body)
    (firing,) = scene.status(shift.name)["firingAlerts"]
    assert payload["dedupKey"] == firing["dedupKey"]
    assert (payload["event"], payload["state"], payload["alertname"]) == (
        "rollback",
        "firing",
        "TrafficShiftRolledBack",
    )
    assert payload["trafficShift"]["name"] == shift.name
    assert (payload["step"], payload["steps"], payload["weight"]) == (1, 2, 50)
    assert payload["gate"]["name"] == "error-rate"
    assert payload["gate"]["value"] > 1
    assert secret not in delivery.body.decode()
