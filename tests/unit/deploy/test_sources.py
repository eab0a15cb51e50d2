"""deploy/ keeps one source of truth: its CRD and gate profiles are exact copies of config/
(kustomize cannot read files outside deploy/), the settings it ships load with the
controller's own loader, and the profiles load the way the controller reads its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from controller.manifests import load_profiles
from controller.settings import LogFormat, Settings, load_settings
from tests.unit.deploy.conftest import DEPLOY, REPO, Rendered

SYNC = "run deploy/sync.sh and commit the result"
CONFIG_GATES = REPO / "config" / "gates"
IN_CLUSTER_KNOBS = {
    "prometheus_url",
    "namespaces",
    "gate_profiles_dir",
    "istio_api_version",
    "check_interval",
    "drift_policy",
    "metrics_port",
    "log_format",
    "log_level",
}


def _gate_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.yaml"))}


def _write_like_kubelet(directory: Path, data: dict[str, str]) -> Path:
    """A ConfigMap volume as the kubelet lays it out: files in a timestamped folder, reached
    through the `..data` symlink, with one symlink per key."""
    stamped = directory / "..2024_01_01_00_00_00.000000001"
    stamped.mkdir(parents=True)
    for key, value in data.items():
        (stamped / key).write_text(value, encoding="utf-8")
    (directory / "..data").symlink_to(stamped.name)
    for key in data:
        (directory / key).symlink_to(f"..data/{key}")
    return directory


def test_deploy_crd_is_a_copy_of_the_generated_crd() -> None:
    config_crd = REPO / "config" / "crd" / "trafficshift.yaml"
    assert (
        DEPLOY / "core" / "crd" / "trafficshift.yaml"
    ).read_bytes() == config_crd.read_bytes(), (
        f"deploy/core/crd/trafficshift.yaml differs from config/crd/trafficshift.yaml: {SYNC}"
    )


def test_deploy_gate_profiles_are_copies_of_config_gates() -> None:
    copies, sources = _gate_files(DEPLOY / "core" / "gates"), _gate_files(CONFIG_GATES)
    assert sorted(copies) == sorted(sources), f"profile files differ: {SYNC}"
    stale = [name for name in sources if copies[name] != sources[name]]
    assert not stale, f"deploy/core/gates/{stale} differ from config/gates: {SYNC}"


def test_gate_profiles_configmap_holds_every_profile_unchanged(rendered: Rendered) -> None:
    """A profile added to config/gates must also be listed in deploy/core/kustomization.yaml."""
    data = rendered.one("ConfigMap", "weightgate-gate-profiles")["data"]
    sources = {name: text.decode("utf-8") for name, text in _gate_files(CONFIG_GATES).items()}
    assert data == sources


def test_gate_profiles_load_from_the_mounted_configmap(rendered: Rendered, tmp_path: Path) -> None:
    """What the controller sees at gate_profiles_dir validates with the GateProfile model."""
    data = rendered.one("ConfigMap", "weightgate-gate-profiles")["data"]
    profiles = load_profiles(_write_like_kubelet(tmp_path / "gates", data))
    assert sorted(profiles) == sorted(
        yaml.safe_load(text)["metadata"]["name"] for text in data.values()
    )
    assert "default" in profiles  # the profile a shift gets when it names none


@pytest.fixture
def shipped_settings(
    rendered: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """controller.yaml from the settings ConfigMap, loaded as the daemon loads --config."""
    for name in list(os.environ):
        if name.startswith("WEIGHTGATE_"):
            monkeypatch.delenv(name)
    data = rendered.one("ConfigMap", "weightgate-settings")["data"]
    assert list(data) == ["controller.yaml"]
    path = tmp_path / "controller.yaml"
    path.write_text(data["controller.yaml"], encoding="utf-8")
    return load_settings(path)


def test_shipped_settings_load_with_in_cluster_values(shipped_settings: Settings) -> None:
    """Paths point at the Deployment's mounts; JSON logs for the cluster's log pipeline."""
    assert shipped_settings.kubeconfig is None  # the ServiceAccount, not a file
    assert shipped_settings.gate_profiles_dir == Path("/etc/weightgate/gates")
    assert shipped_settings.metrics_port == 8080
    assert shipped_settings.log_format is LogFormat.JSON
    assert shipped_settings.namespaces == []


def test_shipped_settings_spell_out_what_an_sre_tunes(rendered: Rendered) -> None:
    """The ConfigMap is where an SRE looks: these settings are written out, not defaulted."""
    text = rendered.one("ConfigMap", "weightgate-settings")["data"]["controller.yaml"]
    written = set(yaml.safe_load(text))
    assert written >= IN_CLUSTER_KNOBS, (
        f"missing from deploy/core/controller.yaml: {IN_CLUSTER_KNOBS - written}"
    )
    assert "kubeconfig" not in written  # in the cluster: the ServiceAccount
