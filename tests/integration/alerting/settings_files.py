"""Controller settings files for these tests: the one `sandbox up` wrote (DIR/controller.yaml,
with its Alertmanager provider `sandbox`), plus or instead of providers of the test's own and,
when a test needs quick retries or an early give-up, its own retry policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controller.settings import SANDBOX_SETTINGS_FILE


def write_settings(
    sandbox_dir: Path,
    target: Path,
    providers: dict[str, dict[str, Any]],
    *,
    retry: dict[str, str] | None = None,
) -> Path:
    """DIR/controller.yaml with `providers` added (a provider of the same name is replaced)."""
    settings: dict[str, Any] = yaml.safe_load(
        (sandbox_dir / SANDBOX_SETTINGS_FILE).read_text(encoding="utf-8")
    )
    alerts = settings.setdefault("alerts", {})
    alerts["providers"] = {**(alerts.get("providers") or {}), **providers}
    if retry is not None:
        alerts["retry"] = retry
    target.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return target


def webhook(url: str, secret_env: str, timeout_seconds: float | None = None) -> dict[str, Any]:
    """A generic webhook provider whose shared secret comes from environment `secret_env`."""
    provider: dict[str, Any] = {"type": "webhook", "url": url, "secret": {"env": secret_env}}
    if timeout_seconds is not None:
        provider["timeoutSeconds"] = timeout_seconds
    return provider


def slack(url_env: str) -> dict[str, Any]:
    """A Slack provider whose incoming-webhook URL (the credential) comes from `url_env`."""
    return {"type": "slack", "webhookUrl": {"env": url_env}}


def alertmanager(url: str) -> dict[str, Any]:
    return {"type": "alertmanager", "url": url}
