"""The real Alertmanager binary, run for the sandbox with every alert routed to a webhook sink.

Owns Alertmanager's configuration (one route, one webhook receiver, one-second grouping so an
alert reaches the sink within a couple of seconds), and its start with gossip disabled (an empty
`--cluster.listen-address`), on a loopback port, with a temp storage path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from controller.sandbox.promstack.process import LoopbackBinaryProcess


class AlertmanagerProcess(LoopbackBinaryProcess):
    """Alertmanager sending every alert to `sink_url` (a webhook receiver)."""

    binary = "prometheus-alertmanager"  # Debian's name for the alertmanager binary

    def __init__(
        self,
        sink_url: str,
        workdir: Path,
        *,
        port: int | None = None,
        group_by: Sequence[str] = ("...",),
        group_wait: str = "1s",
        group_interval: str = "1s",
        repeat_interval: str = "1h",
    ) -> None:
        super().__init__("alertmanager", workdir, port)
        self.sink_url = sink_url
        self.group_by = list(group_by)  # "...": every distinct label set is its own group
        self.group_wait = group_wait
        self.group_interval = group_interval
        self.repeat_interval = repeat_interval
        self.data_dir = self.workdir / "alertmanager-data"
        self.config_path = self.workdir / "alertmanager.yml"

    def argv(self, executable: str) -> list[str]:
        return [
            executable,
            f"--config.file={self.config_path}",
            f"--storage.path={self.data_dir}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip: no extra port, no peers to wait for
        ]

    def write_config(self) -> None:
        config = {
            "route": {
                "receiver": "sink",
                "group_by": self.group_by,
                "group_wait": self.group_wait,
                "group_interval": self.group_interval,
                "repeat_interval": self.repeat_interval,
            },
            "receivers": [
                {
                    "name": "sink",
                    "webhook_configs": [{"url": self.sink_url, "send_resolved": True}],
                }
            ],
        }
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
