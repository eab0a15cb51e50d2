"""Controller-wide settings: from a YAML file, then environment variables (which win).

Environment variables are ``WEIGHTGATE_<FIELD>`` (nested with ``__``), e.g.
``WEIGHTGATE_PROMETHEUS_URL``. ``weightgate ... --sandbox DIR`` fills the URLs and kubeconfig
from what ``weightgate sandbox up`` wrote in DIR/sandbox.json.
"""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from controller.alerts.config import AlertSettings
from controller.api.durations import Duration
from controller.api.problems import field_path
from controller.telemetry import LogFormat


class DriftPolicy(StrEnum):
    PAUSE = "pause"  # stop and tell someone: a human changed the weights on purpose
    REASSERT = "reassert"  # put our weights back (for meshes where others fight over them)


class SettingsError(ValueError):
    """Settings could not be loaded; the message names the file and field."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WEIGHTGATE_", env_nested_delimiter="__", extra="forbid"
    )

    prometheus_url: str = "http://prometheus.istio-system.svc:9090"
    prometheus_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    kubeconfig: Path | None = None
    kube_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    namespaces: list[str] = Field(
        default_factory=list, description="Namespaces to watch; empty means all."
    )
    custom_query_namespaces: list[str] | None = Field(
        default=None,
        description="Namespaces whose TrafficShifts may carry their own PromQL in "
        "spec.analysis.gates (query, errorQuery, totalQuery); unset: every namespace. Custom "
        "queries run with the controller's access to Prometheus, so a shift can read any "
        "metric it can; gate profiles (config/gates) are the operator's and always allowed.",
    )
    gate_profiles_dir: Path = Path("config/gates")
    istio_api_version: str = Field(default="v1", pattern=r"^v1(alpha3|beta1)?$")
    check_interval: Duration = Field(default=timedelta(seconds=10))
    drift_policy: DriftPolicy = DriftPolicy.PAUSE
    query_batching: bool = Field(
        default=True,
        description="Judge all due shifts' builtin gates in one grouped query per gate and "
        "round; false: each shift queries Prometheus on its own (the benchmark's baseline).",
    )
    round_spread: Duration = Field(
        default=timedelta(seconds=5),
        description="With query batching: a round's passing results are acted on over this "
        "long (at most half the check interval), each shift at its own fixed offset, so a "
        "thousand shifts do not all write their status in one second; failures at once.",
    )
    watch_cache: bool = Field(
        default=True,
        description="Read TrafficShifts, VirtualServices and DestinationRules from watches; "
        "false: three GETs per tick (the benchmark's baseline).",
    )
    metrics_port: int = Field(default=8080, ge=0, le=65535)
    metrics_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - kubelet probes and Prometheus reach the pod IP
        description="Address of /metrics, /healthz and /readyz.",
    )
    log_format: LogFormat = LogFormat.AUTO
    log_level: str = Field(default="info", pattern=r"^(debug|info|warning|error)$")
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    leader_election: bool = Field(
        default=False, description="Run as one of several replicas; only the Lease holder acts."
    )
    lease_namespace: str = Field(
        default="weightgate-system", description="Namespace of the leader-election Lease."
    )
    lease_name: str = "weightgate-controller"
    lease_duration: Duration = Field(default=timedelta(seconds=15))
    renew_deadline: Duration = Field(default=timedelta(seconds=10))
    retry_period: Duration = Field(default=timedelta(seconds=2))
    identity: str = Field(
        default="", description="This replica's name in the Lease; default: the host name."
    )

    @model_validator(mode="after")
    def _lease_timing(self) -> Self:
        if not self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "leader election needs retry_period < renew_deadline < lease_duration (defaults "
                "2s < 10s < 15s): a leader must give up before its lease can expire"
            )
        return self


class _ValuesSource(PydanticBaseSettingsSource):
    """Settings from an already-read file, ranked below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        del field  # values are keyed by field name
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def _from_sources(file_values: dict[str, Any], flags: dict[str, Any]) -> Settings:
    """Command-line flags beat environment variables, which beat the settings file."""

    class _Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            del dotenv_settings, file_secret_settings  # no .env or secrets-dir sources
            return (init_settings, env_settings, _ValuesSource(settings_cls, file_values))

    return _Layered(**flags)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path}: settings must be a YAML mapping of field: value")
    return {str(k).replace("-", "_"): v for k, v in loaded.items()}


def sandbox_values(directory: Path) -> dict[str, Any]:
    """Settings that point at a sandbox started with ``weightgate sandbox up --dir DIR``."""
    info_path = directory / "sandbox.json"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"{info_path}: cannot read sandbox info ({exc}); start one with "
            f"`weightgate sandbox up --dir {directory}`"
        ) from exc
    return {"prometheus_url": info["prometheus"], "kubeconfig": directory / "kubeconfig"}


SANDBOX_SETTINGS_FILE = "controller.yaml"


def settings_file_for(config_file: Path | None, sandbox_dir: Path | None) -> Path | None:
    """The settings file to read: the one given, else the one `sandbox up` wrote (it defines
    the `sandbox` alert provider)."""
    if config_file is not None or sandbox_dir is None:
        return config_file
    written = sandbox_dir / SANDBOX_SETTINGS_FILE
    return written if written.is_file() else None


def load_settings(
    config_file: Path | None = None, sandbox_dir: Path | None = None, **overrides: Any
) -> Settings:
    config_file = settings_file_for(config_file, sandbox_dir)
    file_values: dict[str, Any] = _read_yaml(config_file) if config_file else {}
    flags = sandbox_values(sandbox_dir) if sandbox_dir is not None else {}
    flags.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return _from_sources(file_values, flags)
    except ValidationError as exc:
        where = str(config_file) if config_file else "settings"
        details = "; ".join(f"{field_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"{where}: {details}") from exc
