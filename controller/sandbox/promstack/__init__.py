"""The sandbox's monitoring stack: the real Prometheus and Alertmanager binaries, supervised.

Owns launching, readiness, restart and clean stop of `prometheus` and `prometheus-alertmanager`
(Debian packages) on loopback ports and temp directories, plus the supervision shared with the
sandbox's Python servers (ready files, `python -m` children).
"""

from controller.sandbox.promstack.alertmanager import AlertmanagerProcess
from controller.sandbox.promstack.process import (
    BinaryNotFoundError,
    ManagedProcess,
    ProcessStartError,
    PythonModuleProcess,
    free_port,
    port_is_open,
)
from controller.sandbox.promstack.prometheus import PrometheusProcess

__all__ = [
    "AlertmanagerProcess",
    "BinaryNotFoundError",
    "ManagedProcess",
    "ProcessStartError",
    "PrometheusProcess",
    "PythonModuleProcess",
    "free_port",
    "port_is_open",
]
