"""The ready-file handshake between a sandbox server process and whoever launched it.

Owns the format: once a server listens, it writes `{"url": ..., "port": ..., "pid": ...}` to the
path given by `--ready-file`, atomically (write a temp file, then rename), so a launcher that sees
the file can read a complete URL. Readers also accept a bare URL or port on the first line, so a
sandbox server written elsewhere can join with a simpler file. ``serve_until_signalled`` is the
main loop the Python sandbox servers share: announce, wait for SIGTERM/SIGINT, stop.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Protocol


class Serving(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def port(self) -> int: ...

    def stop(self) -> None: ...


def write_ready_file(path: Path, url: str, port: int) -> None:
    """Announce `url` at `path`; the launcher treats the file's existence as readiness."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    payload = {"url": url, "port": port, "pid": os.getpid()}
    temporary.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    temporary.replace(path)


def read_ready_file(path: Path) -> str | None:
    """The URL announced at `path`, or None while the file is absent or incomplete."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    if text.startswith("{"):
        try:
            url = json.loads(text).get("url")
        except (ValueError, AttributeError):
            return None
        return url if isinstance(url, str) and url else None
    first = text.splitlines()[0].strip()
    return f"http://127.0.0.1:{first}" if first.isdigit() else first


def serve_until_signalled(server: Serving, ready_file: Path | None) -> None:
    """Announce the started ``server`` at ``ready_file`` (if any), run until SIGTERM or SIGINT,
    then stop it."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    if ready_file is not None:
        write_ready_file(ready_file, server.url, server.port)
    # A timeout keeps the main thread waking up, so the signal handlers run promptly.
    while not stopping.wait(0.5):
        pass
    server.stop()
