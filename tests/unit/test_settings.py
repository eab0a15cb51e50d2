"""Settings precedence (flags > environment > file) and errors that name file and field."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from controller.settings import DriftPolicy, SettingsError, load_settings


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "controller.yaml"
    path.write_text("prometheus_url: http://file:9090\nmetrics_port: 9000\ncheck_interval: 20s\n")
    return path


def test_defaults_without_file() -> None:
    settings = load_settings()
    assert settings.check_interval == timedelta(seconds=10)
    assert settings.drift_policy is DriftPolicy.PAUSE
    assert settings.namespaces == []


def test_file_values_apply(settings_file: Path) -> None:
    settings = load_settings(settings_file)
    assert settings.prometheus_url == "http://file:9090"
    assert settings.metrics_port == 9000
    assert settings.check_interval == timedelta(seconds=20)


def test_environment_beats_file(settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIGHTGATE_METRICS_PORT", "9100")
    assert load_settings(settings_file).metrics_port == 9100


def test_flags_beat_environment(settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIGHTGATE_PROMETHEUS_URL", "http://env:9090")
    settings = load_settings(settings_file, prometheus_url="http://flag:9090")
    assert settings.prometheus_url == "http://flag:9090"


def test_sandbox_dir_points_at_its_prometheus_and_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "sandbox.json").write_text(json.dumps({"prometheus": "http://127.0.0.1:1234"}))
    settings = load_settings(sandbox_dir=tmp_path)
    assert settings.prometheus_url == "http://127.0.0.1:1234"
    assert settings.kubeconfig == tmp_path / "kubeconfig"


def test_missing_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="weightgate sandbox up --dir"):
        load_settings(sandbox_dir=tmp_path)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("metrics_port: 70000\n", ["controller.yaml", "metrics_port", "65535"]),
        ("check_interval: 10 seconds\n", ["check_interval", "'30s'"]),
        ("prometheus_ur1: http://x\n", ["prometheus_ur1", "Extra inputs"]),
        ("- a list\n", ["YAML mapping"]),
    ],
    ids=["port-range", "bad-duration", "unknown-field", "not-a-mapping"],
)
def test_bad_file_names_file_and_field(tmp_path: Path, content: str, words: list[str]) -> None:
    path = tmp_path / "controller.yaml"
    path.write_text(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    for word in words:
        assert word in str(caught.value)
