"""Pipeline mode (``weightgate run -f shift.yaml``): apply one TrafficShift and drive it to the
end in the foreground with the same reconcile code the daemon uses.

Exit codes: 0 promoted, 3 rolled back, 2 invalid input, 4 could not finish (the API server
unreachable past the deadline, or the overall timeout). Re-running after an interruption resumes
where the shift was: all state is in its status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from controller.api.documents import check_documents
from controller.api.profile import GateProfile
from controller.api.status import Phase
from controller.api.trafficshift import TrafficShift
from controller.kube.cluster import KubeCluster
from controller.kube.errors import ConflictError, KubeError, NotFoundError, UnavailableError
from controller.kube.resources import TRAFFIC_SHIFTS
from controller.manifests import ManifestError, read_documents
from controller.reconcile import Dependencies, TickOutcome, reconcile_once
from controller.telemetry import get_logger

EXIT_PROMOTED = 0
EXIT_ROLLED_BACK = 3
EXIT_INVALID = 2
EXIT_UNFINISHED = 4
EXIT_BY_PHASE = {
    Phase.PROMOTED: EXIT_PROMOTED,
    Phase.ROLLED_BACK: EXIT_ROLLED_BACK,
    Phase.INVALID: EXIT_INVALID,
}


class PipelineError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_shift(path: Path, profiles: Mapping[str, GateProfile]) -> TrafficShift:
    """The one TrafficShift in ``path``, validated with its gates resolved, or exit code 2."""
    try:
        documents = read_documents(path)
    except ManifestError as exc:
        raise PipelineError(str(exc), EXIT_INVALID) from exc
    result = check_documents(documents, profiles)
    if result.problems:
        raise PipelineError("\n".join(str(p) for p in result.problems), EXIT_INVALID)
    if len(result.shifts) != 1:
        raise PipelineError(
            f"{path}: found {len(result.shifts)} TrafficShifts; `weightgate run` drives exactly "
            "one (put others in their own files)",
            EXIT_INVALID,
        )
    return result.shifts[0][1]


def apply_shift(cluster: KubeCluster, shift: TrafficShift, namespace: str) -> tuple[str, str]:
    """Create the TrafficShift, or update its spec; unchanged specs are left alone (resume)."""
    manifest: dict[str, Any] = shift.to_manifest()
    manifest.pop("status", None)
    # Only what a user sets: a file saved with `kubectl get -o yaml` carries server fields
    # (resourceVersion, uid, generation...) that a create must not send.
    manifest["metadata"] = {
        k: v for k, v in manifest["metadata"].items() if k in _USER_METADATA and v not in ({}, None)
    }
    manifest["metadata"]["namespace"] = namespace
    name = shift.name
    try:
        live = cluster.client.get(TRAFFIC_SHIFTS, namespace, name)
    except NotFoundError:
        cluster.client.create(TRAFFIC_SHIFTS, namespace, manifest)
        return namespace, name
    if live.get("spec") != manifest["spec"]:
        cluster.client.replace(TRAFFIC_SHIFTS, {**live, "spec": manifest["spec"]})
    return namespace, name


_USER_METADATA = {"name", "labels", "annotations"}


def apply_with_retries(
    cluster: KubeCluster,
    shift: TrafficShift,
    namespace: str,
    *,
    options: DriveOptions | None = None,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str]:
    """``apply_shift``, riding out an unavailable API or a conflicting writer the way every tick
    does, until ``options.unreachable_deadline``."""
    options = options or DriveOptions()
    clock = now or utc_now
    started = clock()
    while True:
        try:
            return apply_shift(cluster, shift, namespace)
        except (UnavailableError, ConflictError) as exc:
            if clock() - started > options.unreachable_deadline:
                raise PipelineError(
                    _giving_up(exc, options.unreachable_deadline), EXIT_UNFINISHED
                ) from exc
            get_logger(shift=shift.name, namespace=namespace).warning("apply.retry", error=str(exc))
            sleep(options.tick_seconds)


@dataclass(frozen=True)
class DriveOptions:
    tick_seconds: float = 1.0
    unreachable_deadline: timedelta = timedelta(minutes=2)
    timeout: timedelta | None = None
    # After the shift ends, keep ticking this long to deliver the alerts it owes; whatever is
    # still undelivered stays in the status for the daemon (or the next run) to deliver.
    alert_drain: timedelta = timedelta(seconds=30)


def utc_now() -> datetime:
    return datetime.now(UTC)


def drive(
    deps: Dependencies,
    namespace: str,
    name: str,
    *,
    options: DriveOptions = DriveOptions(),
    on_tick: Callable[[TickOutcome], None] = lambda _: None,
    now: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> TickOutcome:
    """Tick until the shift ends; PipelineError(exit 4) when it cannot."""
    started = now()
    unreachable_since: datetime | None = None
    ended_at: datetime | None = None
    last: TickOutcome | None = None
    log = get_logger(shift=name, namespace=namespace)
    while True:
        moment = now()
        if options.timeout is not None and moment - started > options.timeout:
            raise PipelineError(
                f"gave up after {options.timeout}: the shift is still running "
                "(re-run to resume it)",
                EXIT_UNFINISHED,
            )
        try:
            outcome = reconcile_once(deps, namespace, name, moment)
        except (UnavailableError, ConflictError) as exc:
            # Both pass: an outage ends, and a conflict that outlasted one tick's redos only
            # means another writer came first (the next tick re-reads). Give up only when every
            # tick fails for longer than the deadline.
            unreachable_since = unreachable_since or moment
            conflict = isinstance(exc, ConflictError)
            log.warning("status.conflict" if conflict else "api.unreachable", error=str(exc))
            if moment - unreachable_since > options.unreachable_deadline:
                raise PipelineError(
                    _giving_up(exc, options.unreachable_deadline), EXIT_UNFINISHED
                ) from exc
            sleep(options.tick_seconds)
            continue
        except KubeError as exc:
            raise PipelineError(str(exc), EXIT_UNFINISHED) from exc
        unreachable_since = None
        if outcome.phase is None:
            if last is not None and last.finished and last.write_confirmed:
                return last  # it ended (a delete it carried out, then let go), then went
            raise PipelineError(f"TrafficShift {namespace}/{name} was deleted", EXIT_UNFINISHED)
        on_tick(outcome)
        last = outcome
        if outcome.finished and outcome.write_confirmed and not _pending(outcome):
            ended_at = ended_at or moment
            if not _owes_alerts(outcome) or moment - ended_at >= options.alert_drain:
                return outcome
        sleep(options.tick_seconds)


def _owes_alerts(outcome: TickOutcome) -> bool:
    return outcome.status is not None and bool(outcome.status.pending_alerts)


def _giving_up(exc: KubeError, deadline: timedelta) -> str:
    if isinstance(exc, ConflictError):
        return (
            f"every status write has conflicted for more than {deadline} (something else keeps "
            f"writing the TrafficShift): {exc}"
        )
    return f"the Kubernetes API has been unreachable for more than {deadline}: {exc}"


def _pending(outcome: TickOutcome) -> bool:
    return outcome.status is not None and outcome.status.write_pending


def exit_code_for(outcome: TickOutcome) -> int:
    return EXIT_BY_PHASE.get(outcome.phase, EXIT_UNFINISHED) if outcome.phase else EXIT_UNFINISHED
