"""References to alerting secrets, and turning them into values without ever showing them.

A `SecretRef` names where a secret lives: an environment variable of the controller, a key of a
Kubernetes Secret, or (for development only) the value itself. The value of an inline ref is a
pydantic `SecretStr`, so it prints as ``**********`` in repr, str and dumps.

`SecretResolver` reads env and inline refs itself; Kubernetes Secrets are read through the small
`SecretSource` Protocol, which the kube layer implements (only ``controller.kube`` may talk to
the API server). Every error names the reference, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol, Self

from pydantic import Field, SecretStr, model_validator

from controller.api.base import ApiModel, DnsLabel

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class SecretUnavailableError(RuntimeError):
    """A secret could not be read; the message names the reference, never a value."""


class SecretKeySelector(ApiModel):
    """One key of a Kubernetes Secret; no namespace means the controller's own namespace."""

    namespace: DnsLabel | None = None
    name: DnsLabel
    key: str = Field(min_length=1, pattern=r"^[-._a-zA-Z0-9]+$")

    def describe(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"key '{self.key}' of Secret {where}{self.name}"


class SecretRef(ApiModel):
    """Exactly one of `env`, `secretKeyRef` or `value` (the last for development only)."""

    env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    secret_key_ref: SecretKeySelector | None = None
    value: SecretStr | None = Field(
        default=None, description="The secret itself: for local development only."
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Self:
        given = [x for x in (self.env, self.secret_key_ref, self.value) if x is not None]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of env (an environment variable name), secretKeyRef "
                "({name, key, namespace?}) or value (development only), e.g. "
                "{env: WEIGHTGATE_SLACK_WEBHOOK_URL}"
            )
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to show (never the value)."""
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.secret_key_ref is not None:
            return self.secret_key_ref.describe()
        return "an inline value"


class SecretSource(Protocol):
    """Reads one key of a Kubernetes Secret (implemented by the kube layer).

    Raise `SecretUnavailableError` (naming the Secret and key, not the value) when the Secret or
    key is missing or unreadable; any other exception is reported the same way by the caller.
    """

    def read_secret_key(self, namespace: str | None, name: str, key: str) -> str: ...


class SecretResolver:
    """Resolves `SecretRef`s: env and inline values here, Kubernetes Secrets via `kube`."""

    def __init__(
        self, kube: SecretSource | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self._kube = kube
        self._environ = os.environ if environ is None else environ

    def resolve(self, ref: SecretRef) -> str:
        if ref.value is not None:
            return ref.value.get_secret_value()
        if ref.env is not None:
            return self._from_env(ref.env)
        if ref.secret_key_ref is not None:
            return self._from_secret(ref.secret_key_ref)
        raise SecretUnavailableError("empty secret reference: set env, secretKeyRef or value")

    def _from_env(self, name: str) -> str:
        value = self._environ.get(name)
        if not value:
            raise SecretUnavailableError(
                f"environment variable {name} is not set or empty: set it in the controller's "
                "Deployment (e.g. from a Secret with valueFrom.secretKeyRef)"
            )
        return value

    def _from_secret(self, selector: SecretKeySelector) -> str:
        if self._kube is None:
            raise SecretUnavailableError(
                f"{selector.describe()} cannot be read: this controller has no Kubernetes "
                "Secret reader wired in; use an env reference instead"
            )
        try:
            value = self._kube.read_secret_key(selector.namespace, selector.name, selector.key)
        except SecretUnavailableError:
            raise
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes one safe message
            raise SecretUnavailableError(
                f"{selector.describe()} could not be read ({type(exc).__name__}): check that "
                "it exists and that the controller's ServiceAccount may get it"
            ) from None
        if not value:
            raise SecretUnavailableError(f"{selector.describe()} is empty")
        return value
