"""The real Prometheus binary, run for the sandbox on a loopback port and a temp data dir.

Owns Prometheus's configuration (scrape and evaluate every second; targets in a file_sd file so
they can change while it runs, which lets one Prometheus serve a whole test session), its start
and readiness (`/-/ready`), its stop, and a restart on the same port and data directory, which
the controller's tests use to simulate a Prometheus outage.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Self

import yaml

from controller.sandbox.promstack.process import LoopbackBinaryProcess

JOB_NAME = "sandbox"


class PrometheusProcess(LoopbackBinaryProcess):
    """Prometheus scraping `targets` ("127.0.0.1:PORT") every `interval`."""

    binary = "prometheus"

    def __init__(
        self,
        targets: Iterable[str],
        workdir: Path,
        *,
        port: int | None = None,
        interval: str = "1s",
        rule_files: Sequence[Path] = (),
        alertmanager_urls: Sequence[str] = (),
    ) -> None:
        super().__init__("prometheus", workdir, port)
        self._targets = list(dict.fromkeys(targets))
        self._targets_lock = threading.Lock()
        self.interval = interval
        self.rule_files = list(rule_files)
        self.alertmanager_urls = list(alertmanager_urls)
        self.data_dir = self.workdir / "prometheus-data"
        self.config_path = self.workdir / "prometheus.yml"
        self.targets_path = self.workdir / "prometheus-targets.json"

    @property
    def targets(self) -> list[str]:
        with self._targets_lock:
            return list(self._targets)

    def restart(self, timeout: float = 30.0) -> Self:
        """Stop, then start again on the same port with the same data (an outage and back)."""
        self.stop()
        return self.start(timeout)

    def set_targets(self, targets: Iterable[str]) -> None:
        """Replace the scrape targets; Prometheus notices the file within about a second."""
        with self._targets_lock:
            self._targets = list(dict.fromkeys(targets))
            self._write_targets()

    def add_target(self, target: str) -> None:
        self.set_targets([*self.targets, target])

    def remove_target(self, target: str) -> None:
        self.set_targets([t for t in self.targets if t != target])

    def argv(self, executable: str) -> list[str]:
        return [
            executable,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=1d",
            # Firing alerts are re-sent every minute by default; an alert that fired before the
            # Alertmanager was discovered (about 5 s after start) would wait that long.
            f"--rules.alert.resend-delay={self.interval}",
        ]

    def write_config(self) -> None:
        with self._targets_lock:
            self._write_targets()
        config: dict[str, object] = {
            "global": {
                "scrape_interval": self.interval,
                "scrape_timeout": self.interval,
                "evaluation_interval": self.interval,
            },
            "scrape_configs": [
                {
                    "job_name": JOB_NAME,
                    "file_sd_configs": [
                        {"files": [str(self.targets_path)], "refresh_interval": "1s"}
                    ],
                }
            ],
        }
        if self.rule_files:
            config["rule_files"] = [str(path) for path in self.rule_files]
        if self.alertmanager_urls:
            hosts = [url.split("://", 1)[-1].rstrip("/") for url in self.alertmanager_urls]
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": hosts}]}]}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    def _write_targets(self) -> None:
        groups = [{"targets": self._targets, "labels": {}}] if self._targets else []
        temporary = self.targets_path.with_name(f".{self.targets_path.name}.tmp")
        temporary.write_text(json.dumps(groups), encoding="utf-8")
        temporary.replace(self.targets_path)  # atomic, so Prometheus never reads half a file
