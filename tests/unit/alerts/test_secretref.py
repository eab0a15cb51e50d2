"""Resolving secret references: env, inline, Kubernetes Secrets through the SecretSource seam."""

from __future__ import annotations

import pytest

from controller.alerts import SecretRef, SecretResolver, SecretUnavailableError


class FakeSecrets:
    """A SecretSource holding {(namespace, name, key): value}."""

    def __init__(self, values: dict[tuple[str | None, str, str], str]) -> None:
        self.values = values

    def read_secret_key(self, namespace: str | None, name: str, key: str) -> str:
        try:
            return self.values[(namespace, name, key)]
        except KeyError:
            raise SecretUnavailableError(f"key '{key}' of Secret {name} not found") from None


class BrokenSecrets:
    def read_secret_key(self, namespace: str | None, name: str, key: str) -> str:
        raise RuntimeError("403 Forbidden: token abc123 cannot get secrets")


def _ref(raw: dict[str, object]) -> SecretRef:
    return SecretRef.model_validate(raw)


def test_env_reference_reads_the_variable() -> None:
    resolver = SecretResolver(environ={"SLACK_URL": "https://hooks/x"})
    assert resolver.resolve(_ref({"env": "SLACK_URL"})) == "https://hooks/x"


def test_missing_env_variable_names_the_variable_and_the_fix() -> None:
    with pytest.raises(SecretUnavailableError, match="environment variable SLACK_URL is not set"):
        SecretResolver(environ={}).resolve(_ref({"env": "SLACK_URL"}))


def test_inline_value_is_used_as_is() -> None:
    assert SecretResolver(environ={}).resolve(_ref({"value": "dev-secret"})) == "dev-secret"


def test_secret_key_ref_goes_through_the_secret_source() -> None:
    source = FakeSecrets({("monitoring", "alerting", "slack-url"): "https://hooks/y"})
    ref = _ref(
        {"secretKeyRef": {"namespace": "monitoring", "name": "alerting", "key": "slack-url"}}
    )
    assert SecretResolver(kube=source, environ={}).resolve(ref) == "https://hooks/y"


def test_secret_key_ref_without_a_source_says_so() -> None:
    ref = _ref({"secretKeyRef": {"name": "alerting", "key": "slack-url"}})
    with pytest.raises(SecretUnavailableError, match="no Kubernetes Secret reader"):
        SecretResolver(environ={}).resolve(ref)


def test_a_failing_source_is_reported_without_its_own_text() -> None:
    ref = _ref({"secretKeyRef": {"name": "alerting", "key": "slack-url"}})
    with pytest.raises(SecretUnavailableError) as caught:
        SecretResolver(kube=BrokenSecrets(), environ={}).resolve(ref)
    assert "abc123" not in str(caught.value)
    assert "key 'slack-url' of Secret alerting could not be read (RuntimeError)" in str(
        caught.value
    )


def test_describe_never_shows_an_inline_value() -> None:
    assert _ref({"value": "dev-secret"}).describe() == "an inline value"
    assert "dev-secret" not in repr(_ref({"value": "dev-secret"}))
