"""ApiServerProcess: run the sandbox API server as a separate process and wait until it listens.

The sandbox keeps cluster state in its own process so that killing the controller never loses
it; tests and the demo start it through this class, which passes ``--port 0`` and reads the URL
back from the ready file, so parallel runs never collide on a port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class ApiServerProcess:
    """``python -m controller.sandbox.apiserver serve`` as a child process."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        history_limit: int | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.state_file = state_file
        self.history_limit = history_limit
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._workdir = tempfile.TemporaryDirectory(prefix="sandbox-apiserver-")

    def command(self) -> list[str]:
        ready = Path(self._workdir.name) / "ready"
        args = [
            sys.executable,
            "-m",
            "controller.sandbox.apiserver",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ]
        if self.state_file is not None:
            args += ["--state-file", str(self.state_file)]
        if self.history_limit is not None:
            args += ["--history-limit", str(self.history_limit)]
        return args

    def start(self, timeout: float = 15.0) -> ApiServerProcess:
        """Start the server and wait for its ready file; raise with its log if it dies first."""
        ready = Path(self._workdir.name) / "ready"
        ready.unlink(missing_ok=True)
        log_path = self.log_file or Path(self._workdir.name) / "server.log"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                self.command(), stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready.exists() and ready.read_text().strip():
                self.url = ready.read_text().strip()
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"sandbox API server did not become ready within {timeout}s; its log:\n"
            + log_path.read_text(errors="replace")
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def close(self) -> None:
        self.stop()
        self._workdir.cleanup()

    def __enter__(self) -> ApiServerProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
