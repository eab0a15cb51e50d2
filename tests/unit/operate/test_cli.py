"""The operator commands' exit codes: 0 done, 1 refused, 2 bad input, 4 unreachable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from controller import cli
from controller.kube.errors import UnavailableError
from tests.unit.operate.fakes import FakeShiftApi, progressing, shift_object


class Unreachable(FakeShiftApi):
    def get_shift(self, namespace: str, name: str) -> dict[str, Any]:
        raise UnavailableError("GET TrafficShift: connection refused")

    def list_shifts(self, namespace: str | None = None) -> list[dict[str, Any]]:
        raise UnavailableError("LIST TrafficShifts: connection refused")


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u, namespace: bookinfo}}]\n"
    )
    return path


def run(api: FakeShiftApi, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setattr(cli, "KubeShiftApi", lambda *_a, **_k: api)
    return CliRunner().invoke(cli.main, [*args, "--kubeconfig", str(kubeconfig)])


def test_retry_of_a_progressing_shift_exits_1_saying_why(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeShiftApi(shift_object(status=progressing()))
    result = run(api, kubeconfig, monkeypatch, "retry", "reviews-v3")
    assert result.exit_code == 1
    assert "only a RolledBack shift can be retried" in result.output
    assert api.patches == []


def test_abort_of_a_running_shift_exits_0_and_writes_the_intent(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeShiftApi(shift_object(status=progressing()))
    result = run(api, kubeconfig, monkeypatch, "abort", "reviews-v3")
    assert result.exit_code == 0, result.output
    assert api.patches[0]["metadata"]["annotations"]["weightgate.dev/intent"] == "abort"


def test_a_missing_shift_exits_2(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(FakeShiftApi(), kubeconfig, monkeypatch, "pause", "nope")
    assert result.exit_code == 2
    assert "not found" in result.output


def test_an_unreachable_api_exits_4(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(Unreachable(), kubeconfig, monkeypatch, "status")
    assert result.exit_code == 4
    assert "reachable" in result.output


def test_promote_full_without_yes_asks_and_a_no_refuses(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeShiftApi(shift_object(status=progressing()))
    monkeypatch.setattr(cli, "KubeShiftApi", lambda *_a, **_k: api)
    result = CliRunner().invoke(
        cli.main, ["promote", "reviews-v3", "--full", "--kubeconfig", str(kubeconfig)], input="n\n"
    )
    assert result.exit_code == 1
    assert api.patches == []


def test_status_json_lists_every_shift(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeShiftApi(shift_object(status=progressing()), shift_object(name="other"))
    result = run(api, kubeconfig, monkeypatch, "status", "-o", "json")
    assert result.exit_code == 0, result.output
    names = [item["name"] for item in json.loads(result.output)["items"]]
    assert names == ["other", "reviews-v3"]
