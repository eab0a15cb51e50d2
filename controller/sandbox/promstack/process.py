"""Supervision of the sandbox's child processes: start, wait until ready, stop for sure.

Owns what every sandbox process has in common: a log file in its work directory, readiness by
polling an HTTP URL (or a ready file) with a deadline while watching for an early exit, and a
stop that terminates, waits, and kills after a timeout so nothing is left running or listening.
Also picks free loopback ports for binaries that cannot be told to use port 0 and report back.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import requests

from controller.sandbox.promstack.readyfile import read_ready_file

INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager"
POLL_SECONDS = 0.05


class BinaryNotFoundError(RuntimeError):
    """A binary the sandbox runs is not installed."""


class ProcessStartError(RuntimeError):
    """A child process exited or did not become ready in time; carries its log's tail."""


def require_binary(name: str) -> str:
    """The full path of `name` on PATH, or an error that says how to install it."""
    path = shutil.which(name)
    if path is None:
        raise BinaryNotFoundError(
            f"`{name}` is not on PATH. The sandbox runs the real Prometheus and Alertmanager "
            f"binaries; install them with: {INSTALL_HINT}"
        )
    return path


def free_port() -> int:
    """A loopback port free right now (another process could still take it: retry on clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on `host:port`."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class ManagedProcess:
    """One child process whose output goes to `<workdir>/<name>.log`."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The handle of the current (or last) child, for tests that check it exited."""
        return self._process

    def spawn(self, argv: Sequence[str]) -> None:
        if self.running:
            raise ProcessStartError(f"{self.name}: already running as pid {self.pid}")
        self._close_log()
        self._log = self.log_path.open("ab")
        self._log.write(f"--- {time.strftime('%H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        self._log.flush()
        self._process = subprocess.Popen(  # noqa: S603  # argv is built by us, never a shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop it
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate, wait up to `timeout` seconds, then kill. Safe to call twice."""
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        self._close_log()

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_http_ready(self, url: str, timeout: float) -> None:
        """Poll `url` until it answers 200; fail early if the process exits."""

        def answered() -> bool:
            try:
                return requests.get(url, timeout=1).status_code == 200
            except requests.RequestException:
                return False

        self._wait_until(answered, timeout, f"GET {url} to answer 200")

    def _wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise ProcessStartError(
                    f"{self.name} exited with code {self._process.returncode} while waiting for "
                    f"{what}. Last lines of {self.log_path}:\n{self.log_tail()}"
                )
            if condition():
                return
            time.sleep(POLL_SECONDS)
        raise ProcessStartError(
            f"{self.name} did not become ready within {timeout:.0f}s (waiting for {what}). "
            f"Last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class PythonModuleProcess(ManagedProcess):
    """`python -m <module> <args> --ready-file F`, ready when F names the server's URL."""

    def __init__(self, module: str, args: Sequence[str], workdir: Path, name: str) -> None:
        super().__init__(name, workdir)
        self.module = module
        self.args = list(args)
        self.ready_file = self.workdir / f"{name}.ready"
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise ProcessStartError(f"{self.name}: not started; call start() first")
        return self._url

    def start(self, timeout: float = 20.0) -> Self:
        self.ready_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", self.module, *self.args, "--ready-file", str(self.ready_file)]
        self.spawn(argv)
        self._wait_until(
            lambda: read_ready_file(self.ready_file) is not None,
            timeout,
            f"its ready file {self.ready_file}",
        )
        self._url = read_ready_file(self.ready_file)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self.ready_file.unlink(missing_ok=True)


class LoopbackBinaryProcess(ManagedProcess):
    """A server binary on a loopback port we pick, ready when `/-/ready` answers 200.

    Subclasses name their `binary` and build their config and argv. A port picked here is
    retried if another process grabbed it first; a port given by the caller (or kept for a
    restart) is not.
    """

    binary: str = ""
    start_attempts = 3

    def __init__(self, name: str, workdir: Path, port: int | None) -> None:
        super().__init__(name, workdir)
        self._port = port

    @property
    def port(self) -> int:
        if self._port is None:
            raise ProcessStartError(f"{self.name}: no port yet; call start() first")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Self:
        """Write the config, start the binary and wait for `/-/ready`."""
        executable = require_binary(self.binary)
        self.write_config()
        chosen_here = self._port is None
        for attempt in range(1, self.start_attempts + 1):
            if chosen_here:
                self._port = free_port()
            self.spawn(self.argv(executable))
            try:
                self.wait_ready(timeout)
            except ProcessStartError:
                clash = "address already in use" in self.log_tail()
                self.stop()
                if not (chosen_here and clash and attempt < self.start_attempts):
                    raise
            else:
                return self
        raise AssertionError("unreachable: the last attempt returns or raises")

    def wait_ready(self, timeout: float = 30.0) -> None:
        self.wait_http_ready(f"{self.url}/-/ready", timeout)

    def write_config(self) -> None:
        raise NotImplementedError

    def argv(self, executable: str) -> list[str]:
        raise NotImplementedError
