"""Fixtures for the delivery tests: the sandbox sink (as a process and in-process), the real
Alertmanager sending to that sink, and builders of alerts for a unique shift per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest

from controller.alerts import PendingAlert, ShiftFacts, alerts_for
from controller.api.status import GateStatus, GateVerdict
from controller.api.trafficshift import AlertEvent, AlertRoute
from controller.rollout import Transition
from controller.sandbox.promstack import AlertmanagerProcess, PythonModuleProcess
from controller.sandbox.sink import SinkServer

QUERY = 'sum(rate(istio_requests_total{destination_version="v3",response_code=~"5.."}[1m]))'


@pytest.fixture(scope="module")
def sink_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PythonModuleProcess]:
    """The sink as the sandbox runs it: `python -m controller.sandbox.sink`."""
    workdir = tmp_path_factory.mktemp("sink")
    with PythonModuleProcess("controller.sandbox.sink", ["--port", "0"], workdir, "sink") as sink:
        sink.start()
        yield sink


@pytest.fixture(scope="module")
def alertmanager(
    sink_process: PythonModuleProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AlertmanagerProcess]:
    """The real Alertmanager, routing every alert to the sink within about a second."""
    workdir = tmp_path_factory.mktemp("alertmanager")
    with AlertmanagerProcess(f"{sink_process.url}/alerts", workdir) as process:
        process.start()
        yield process


@pytest.fixture
def sink_server() -> Iterator[SinkServer]:
    """A sink of this test's own, so its refusals (POST /admin/fail) touch nothing else."""
    server = SinkServer().start()
    try:
        yield server
    finally:
        server.stop()


def unique_shift() -> str:
    return f"reviews-{uuid.uuid4().hex[:10]}"


def rollback_for(shift: str, provider: str, now: datetime) -> PendingAlert:
    """The rollback alert of `shift` (bookinfo, 50% at step 2/3, error-rate 5.2 > 1)."""
    facts = ShiftFacts(
        namespace="bookinfo",
        name=shift,
        generation=2,
        virtual_service="reviews",
        canary="v3",
        stable="v1",
        step=2,
        steps=3,
        weight=50,
        gates=(
            GateStatus(
                name="error-rate",
                verdict=GateVerdict.FAIL,
                value=5.2,
                threshold="<= 1",
                query=QUERY,
            ),
        ),
    )
    told = Transition(
        "RolledBack",
        "Rolled back VirtualService 'reviews' to 'v1' at step 2/3: gate 'error-rate' failed.",
        warning=True,
        alert_event=AlertEvent.ROLLBACK,
    )
    route = AlertRoute(provider=provider, events=[AlertEvent.ROLLBACK])
    (alert,) = alerts_for([told], [route], facts, now)
    return alert
