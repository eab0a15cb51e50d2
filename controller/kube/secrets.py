"""Reading one key of a Kubernetes Secret for alert providers (webhook URLs, HMAC keys).

Only the named Secret is read (RBAC grants ``get`` on it by name, never list or watch). Errors
name the Secret and key, never a value.
"""

from __future__ import annotations

import base64
import binascii

from controller.kube.client import KubeClient
from controller.kube.errors import KubeError
from controller.kube.resources import SECRETS


class SecretUnavailableError(KubeError):
    """A Secret key could not be read; names the Secret and key, never a value. (The alerts
    resolver reports any exception from its SecretSource the same way.)"""


class KubeSecretSource:
    """``alerts.SecretSource`` over the API; ``namespace=None`` means the controller's own."""

    def __init__(self, client: KubeClient, own_namespace: str) -> None:
        self.client = client
        self.own_namespace = own_namespace

    def read_secret_key(self, namespace: str | None, name: str, key: str) -> str:
        where = f"Secret {namespace or self.own_namespace}/{name} key {key!r}"
        try:
            secret = self.client.get(SECRETS, namespace or self.own_namespace, name)
        except KubeError as exc:
            raise SecretUnavailableError(
                f"{where}: cannot read it (HTTP {exc.status}); check that it exists and that the "
                "controller's Role grants get on it"
            ) from None  # the client error may quote the request, never the value: still drop it
        encoded = (secret.get("data") or {}).get(key)
        if encoded is None:
            raise SecretUnavailableError(f"{where}: no such key; add it to the Secret")
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError):
            raise SecretUnavailableError(f"{where}: not base64-encoded UTF-8 text") from None
