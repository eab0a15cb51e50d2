"""The ``weightgate`` command line: parse arguments, wire parts together, map outcomes to exit
codes. No logic of its own lives here.

Exit codes shared by every command: 0 success, 2 invalid input.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import timedelta
from pathlib import Path

import click
import yaml

from controller import __version__
from controller.api.crd import GENERATED_HEADER, crd_manifest
from controller.api.documents import SourcedDocument, check_documents, resolve_gates
from controller.api.judging import judge_description
from controller.api.problems import Problem
from controller.api.profile import GateProfile
from controller.api.status import IntentAction
from controller.kube.client import KubeClient, context_namespace, load_configuration
from controller.kube.errors import KubeError, NotFoundError, UnavailableError
from controller.manifests import DEFAULT_PROFILE_DIR, ManifestError, load_profiles, read_documents
from controller.manifests import profile_dir as shipped_or
from controller.operate.commands import (
    RefusedError,
    managed_route,
    operator_name,
    request_intent,
    set_paused,
)
from controller.operate.detail import render_detail
from controller.operate.kubeapi import KubeShiftApi
from controller.operate.views import render_history, render_table, shift_document, view_of
from controller.pipeline import (
    DriveOptions,
    PipelineError,
    apply_with_retries,
    drive,
    exit_code_for,
    load_shift,
    utc_now,
)
from controller.progress import ProgressPrinter
from controller.sandbox.commands import run_until_signal, set_fault
from controller.sandbox.promstack import BinaryNotFoundError, ProcessStartError
from controller.sandbox.stack import SandboxError, SandboxInfo
from controller.settings import Settings, SettingsError, load_settings
from controller.telemetry import LogFormat, configure_logging
from controller.wiring import wire

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="weightgate")
def main() -> None:
    """weightgate: gated, resumable Istio traffic shifts with rollback and alerting."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--profiles",
    "profile_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Folder of gate profiles that shifts may name (default: {DEFAULT_PROFILE_DIR}, "
    "else the shipped profiles). Profiles among FILES count too.",
)
def validate(files: tuple[Path, ...], profile_dir: Path | None) -> None:
    """Check TrafficShift and GateProfile manifests; print every problem with its place.

    Exits 0 when every document is valid, 2 otherwise.
    """
    problems: list[Problem] = []
    documents: list[SourcedDocument] = []
    profiles: dict[str, GateProfile] = {}
    try:
        profiles = load_profiles(shipped_or(profile_dir))
    except ManifestError as exc:
        problems.extend(exc.problems)
    for path in files:
        try:
            documents.extend(read_documents(path))
        except ManifestError as exc:
            problems.extend(exc.problems)
    result = check_documents(documents, profiles)
    problems.extend(result.problems)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found in {len(files)} file(s).", err=True)
        sys.exit(EXIT_INVALID)
    shifts = len(result.shifts)
    own_profiles = sum(
        1
        for d in documents
        if isinstance(d.content, dict) and d.content.get("kind") == "GateProfile"
    )
    click.echo(
        f"ok: {len(documents)} document(s) in {len(files)} file(s) valid "
        f"({shifts} TrafficShift, {own_profiles} GateProfile)."
    )
    for _, shift in result.shifts:
        judge = shift.spec.analysis.judge
        for gate in resolve_gates(shift.spec, result.profiles):
            click.echo(f"  {shift.name}: gate {gate.name}: {judge_description(gate, judge)}")


@main.command()
def crd() -> None:
    """Print the TrafficShift CustomResourceDefinition generated from the API models."""
    click.echo(GENERATED_HEADER + yaml.safe_dump(crd_manifest(), sort_keys=False), nl=False)


@main.group()
def sandbox() -> None:
    """The local sandbox: a Kubernetes API stand-in, a bookinfo-like mesh with Istio telemetry,
    and the real Prometheus and Alertmanager, all on loopback."""


@sandbox.command("up")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".sandbox"),
    show_default=True,
    help="Where the sandbox keeps its state, logs, kubeconfig and sandbox.json.",
)
@click.option(
    "--rps",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="Requests per second the built-in load generator sends to /productpage.",
)
def sandbox_up(directory: Path, rps: float) -> None:
    """Start the sandbox and run until Ctrl-C / SIGTERM, then stop every part."""

    def announce(info: SandboxInfo) -> None:
        click.echo(f"sandbox ready in {directory}:")
        for key, value in asdict(info).items():
            click.echo(f"  {key:<13} {value}")
        click.echo(
            f"try: kubectl --kubeconfig {info.kubeconfig} get virtualservice reviews -o yaml"
        )

    try:
        crashed = run_until_signal(directory, rps, announce)
    except (SandboxError, ProcessStartError, BinaryNotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    if crashed:
        click.echo(
            f"error: sandbox part(s) exited: {', '.join(crashed)}; everything stopped "
            f"(logs in {directory}/<part>/)",
            err=True,
        )
        sys.exit(EXIT_FAILED)
    click.echo("sandbox stopped.")


@sandbox.command("fault")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".sandbox"),
    show_default=True,
)
@click.option("--version", "version", help="reviews version to change, e.g. v3.")
@click.option("--error-rate", type=click.FloatRange(0, 1), help="Fraction answered 5xx.")
@click.option("--latency-ms", type=click.FloatRange(min=0), help="Added median latency (ms).")
@click.option("--clear", is_flag=True, help="Remove faults (of --version, or of every version).")
def sandbox_fault(
    directory: Path,
    version: str | None,
    error_rate: float | None,
    latency_ms: float | None,
    clear: bool,
) -> None:
    """Change a reviews version's error rate or latency while the sandbox runs."""
    if not clear and (version is None or (error_rate is None and latency_ms is None)):
        click.echo(
            "error: give --version and --error-rate and/or --latency-ms, or --clear", err=True
        )
        sys.exit(EXIT_INVALID)
    try:
        state = set_fault(
            directory, version, error_rate=error_rate, latency_ms=latency_ms, clear=clear
        )
    except SandboxError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(json.dumps(state, indent=2))


def _settings(config: Path | None, sandbox_dir: Path | None, **flags: object) -> Settings:
    try:
        return load_settings(config, sandbox_dir, **flags)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)


@main.command()
@click.option(
    "-f",
    "--file",
    "manifest",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The TrafficShift manifest to apply and drive.",
)
@click.option("-n", "--namespace", help="Namespace (default: the manifest's, else the context's).")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--sandbox",
    "sandbox_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Use the sandbox started with `weightgate sandbox up --dir DIR`.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Controller settings file (YAML).",
)
@click.option("--prometheus-url", help="Prometheus base URL.")
@click.option("--check-interval", help="How often gates are checked, e.g. 10s.")
@click.option(
    "--profiles",
    "profiles_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Gate profile folder (default: config/gates).",
)
@click.option(
    "--timeout",
    "timeout_seconds",
    type=click.FloatRange(min=1),
    help="Give up (exit 4) after this many seconds; re-run to resume.",
)
@click.option(
    "--tick-seconds",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="How often the shift is reconciled.",
)
def run(
    manifest: Path,
    namespace: str | None,
    kubeconfig: Path | None,
    sandbox_dir: Path | None,
    config: Path | None,
    prometheus_url: str | None,
    check_interval: str | None,
    profiles_dir: Path | None,
    timeout_seconds: float | None,
    tick_seconds: float,
) -> None:
    """Apply a TrafficShift and drive it to the end in the foreground (pipeline mode).

    Exit codes: 0 promoted, 3 rolled back, 2 invalid input, 4 could not finish.
    """
    settings = _settings(
        config,
        sandbox_dir,
        kubeconfig=kubeconfig,
        prometheus_url=prometheus_url,
        check_interval=check_interval,
        gate_profiles_dir=profiles_dir,
    )
    configure_logging(settings.log_format, "warning")
    try:
        wired = wire(settings)
    except (KubeError, ManifestError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        shift = load_shift(manifest, wired.deps.profiles)
        target_namespace = (
            namespace
            or shift.metadata.namespace
            or context_namespace(settings.kubeconfig)
            or "default"
        )
        ns, name = apply_with_retries(wired.cluster, shift, target_namespace)
        click.echo(f"driving TrafficShift {ns}/{name} (Ctrl-C stops watching; re-run resumes)")
        options = DriveOptions(
            tick_seconds=tick_seconds,
            timeout=(timedelta(seconds=timeout_seconds) if timeout_seconds else None),
        )
        outcome = drive(
            replace(wired.deps, finalizers=True),  # a delete mid-run rolls back (onDelete)
            ns,
            name,
            options=options,
            on_tick=ProgressPrinter(shift.spec, click.echo, utc_now),
        )
    except PipelineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KubeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)
    finally:
        wired.close()
    code = exit_code_for(outcome)
    click.echo(
        f"{ns}/{name}: {outcome.phase.value if outcome.phase else 'gone'} "
        f"(exit {code}) {outcome.message}".rstrip()
    )
    sys.exit(code)


@main.command()
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Controller settings file (YAML).",
)
@click.option(
    "--sandbox",
    "sandbox_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Use the sandbox started with `weightgate sandbox up --dir DIR`.",
)
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Watch TrafficShifts in this namespace (repeat for more; default: all namespaces).",
)
@click.option("--prometheus-url", help="Prometheus base URL.")
@click.option("--check-interval", help="How often gates are checked, e.g. 10s.")
@click.option(
    "--profiles",
    "profiles_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Gate profile folder (default: config/gates).",
)
def controller(
    config: Path | None,
    sandbox_dir: Path | None,
    kubeconfig: Path | None,
    namespaces: tuple[str, ...],
    prometheus_url: str | None,
    check_interval: str | None,
    profiles_dir: Path | None,
) -> None:
    """Run the controller daemon: drive every TrafficShift it watches until SIGTERM/SIGINT.

    Exit codes: 0 stopped by a signal, 2 invalid settings or credentials.
    """
    # Imported here so other commands never load the scheduler (APScheduler and its threads).
    from controller.daemon import serve  # noqa: PLC0415

    settings = _settings(
        config,
        sandbox_dir,
        kubeconfig=kubeconfig,
        namespaces=list(namespaces) or None,
        prometheus_url=prometheus_url,
        check_interval=check_interval,
        gate_profiles_dir=profiles_dir,
    )
    configure_logging(settings.log_format, settings.log_level)
    try:
        wired = wire(settings)
    except (KubeError, ManifestError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        code = serve(wired, settings)
    finally:
        wired.close()
    sys.exit(code)


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the sandbox's files here (default: a temporary folder, removed after).",
)
def demo(directory: Path | None) -> None:
    """Istio's traffic-shifting task on the local sandbox: reviews v1 -> v3 promoted step by
    step, then a faulty v3 rolled back with its alert. About two minutes; leaves nothing
    running."""
    from controller.demo import run_demo  # noqa: PLC0415 - sandbox parts load only for the demo

    configure_logging(LogFormat.CONSOLE, "error")
    try:
        result = run_demo(click.echo, directory)
    except (SandboxError, ProcessStartError, BinaryNotFoundError, KubeError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    if not result.ok:
        click.echo("The demo did not end as expected (see above).", err=True)
        sys.exit(EXIT_FAILED)
    click.echo("\nDone: promoted when healthy, rolled back and alerted when not.")


# --- Operating a shift: status, history, promote, abort, pause, resume, retry ----------------
# These only read the shift and write intent on it; the controller carries the intent out.

EXIT_UNREACHABLE = 4


def _operator_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False))(command)
    command = click.option(
        "--sandbox",
        "sandbox_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Use the sandbox started with `weightgate sandbox up --dir DIR`.",
    )(command)
    return click.option("-n", "--namespace", help="Namespace (default: the context's).")(command)


@contextmanager
def _operator_api(kubeconfig: Path | None, sandbox_dir: Path | None) -> Iterator[KubeShiftApi]:
    """The cluster for an operator command; Kubernetes failures become exit codes here."""
    settings = _settings(None, sandbox_dir, kubeconfig=kubeconfig)
    configure_logging(settings.log_format, "error")
    try:
        api = KubeShiftApi(
            KubeClient(load_configuration(settings.kubeconfig), settings.kube_timeout_seconds),
            istio_version=settings.istio_api_version,
        )
    except KubeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        yield api
    except RefusedError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except NotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except UnavailableError as exc:
        click.echo(f"error: {exc} (is the API server reachable?)", err=True)
        sys.exit(EXIT_UNREACHABLE)
    except KubeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    finally:
        api.close()


def _namespace_of(namespace: str | None, kubeconfig: Path | None, sandbox: Path | None) -> str:
    if namespace:
        return namespace
    settings = _settings(None, sandbox, kubeconfig=kubeconfig)
    return context_namespace(settings.kubeconfig) or "default"


def _emit(document: object, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo(yaml.safe_dump(document, sort_keys=True), nl=False)


@main.command()
@click.argument("name", required=False)
@_operator_options
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
@click.option("-w", "--watch", is_flag=True, help="Redraw every second until the shift ends.")
def status(
    name: str | None,
    namespace: str | None,
    kubeconfig: Path | None,
    sandbox_dir: Path | None,
    output: str,
    watch: bool,
) -> None:
    """Show every shift (all namespaces unless -n), or one shift in detail.

    Exit codes: 0 shown, 2 bad input or no such shift, 4 API server unreachable.
    """
    if watch and (name is None or output != "text"):
        click.echo("error: --watch needs a NAME and text output", err=True)
        sys.exit(EXIT_INVALID)
    with _operator_api(kubeconfig, sandbox_dir) as api:
        if name is None:
            views = [view_of(obj) for obj in api.list_shifts(namespace)]
            if output == "text":
                click.echo(render_table(views, utc_now()))
            else:
                _emit({"items": [shift_document(v, utc_now()) for v in views]}, output)
            return
        _status_of_one(api, _namespace_of(namespace, kubeconfig, sandbox_dir), name, output, watch)


def _status_of_one(api: KubeShiftApi, ns: str, name: str, output: str, watch: bool) -> None:
    while True:
        view = view_of(api.get_shift(ns, name))
        route = managed_route(api, view)
        if output != "text":
            _emit(shift_document(view, utc_now(), route), output)
            return
        if watch:
            click.clear()
        click.echo(render_detail(view, route, utc_now()))
        if not watch or view.status.phase.is_final:
            return
        time.sleep(1.0)


@main.command()
@click.argument("name")
@_operator_options
def history(
    name: str, namespace: str | None, kubeconfig: Path | None, sandbox_dir: Path | None
) -> None:
    """The shift's transitions: time, time since the previous one, step, weight, reason, why."""
    ns = _namespace_of(namespace, kubeconfig, sandbox_dir)
    with _operator_api(kubeconfig, sandbox_dir) as api:
        view = view_of(api.get_shift(ns, name))
        click.echo(f"TrafficShift {ns}/{name}: {view.status.phase.value}")
        click.echo("\n".join(render_history(view.status.history)))


def _request(
    action: IntentAction,
    name: str,
    namespace: str | None,
    kubeconfig: Path | None,
    sandbox_dir: Path | None,
) -> None:
    ns = _namespace_of(namespace, kubeconfig, sandbox_dir)
    with _operator_api(kubeconfig, sandbox_dir) as api:
        done = request_intent(api, ns, name, action, operator_name())
    click.echo(
        f"{action.value} requested on {ns}/{name} (intent {done.intent_id}); the controller "
        "carries it out at its next tick"
    )


@main.command()
@click.argument("name")
@_operator_options
@click.option(
    "--full", is_flag=True, help="Go to 100% now, skipping the remaining steps and gates."
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask before --full.")
def promote(
    name: str,
    namespace: str | None,
    kubeconfig: Path | None,
    sandbox_dir: Path | None,
    full: bool,
    yes: bool,
) -> None:
    """Skip the rest of the current step's dwell (the gates must still pass at the next check),
    or with --full send all traffic to the canary now.

    Exit codes: 0 requested, 1 refused, 2 bad input, 4 API server unreachable.
    """
    if (
        full
        and not yes
        and not click.confirm(f"Send 100% of {name}'s traffic to the canary now, without gates?")
    ):
        click.echo("refused: not confirmed", err=True)
        sys.exit(EXIT_FAILED)
    action = IntentAction.PROMOTE_FULL if full else IntentAction.PROMOTE
    _request(action, name, namespace, kubeconfig, sandbox_dir)


@main.command()
@click.argument("name")
@_operator_options
def abort(
    name: str, namespace: str | None, kubeconfig: Path | None, sandbox_dir: Path | None
) -> None:
    """Roll the shift back to stable now ("aborted by operator"); alerts as any rollback.

    Exit codes: 0 requested, 1 refused, 2 bad input, 4 API server unreachable.
    """
    _request(IntentAction.ABORT, name, namespace, kubeconfig, sandbox_dir)


@main.command()
@click.argument("name")
@_operator_options
def retry(
    name: str, namespace: str | None, kubeconfig: Path | None, sandbox_dir: Path | None
) -> None:
    """Start a rolled-back shift over from the first step.

    Exit codes: 0 requested, 1 refused, 2 bad input, 4 API server unreachable.
    """
    _request(IntentAction.RETRY, name, namespace, kubeconfig, sandbox_dir)


def _pause_or_resume(
    paused: bool,
    name: str,
    namespace: str | None,
    kubeconfig: Path | None,
    sandbox_dir: Path | None,
) -> None:
    ns = _namespace_of(namespace, kubeconfig, sandbox_dir)
    with _operator_api(kubeconfig, sandbox_dir) as api:
        set_paused(api, ns, name, paused)
    click.echo(f"{ns}/{name}: spec.paused set to {str(paused).lower()}")


@main.command()
@click.argument("name")
@_operator_options
def pause(
    name: str, namespace: str | None, kubeconfig: Path | None, sandbox_dir: Path | None
) -> None:
    """Hold the shift at its current weight (sets spec.paused).

    Exit codes: 0 requested, 1 refused, 2 bad input, 4 API server unreachable.
    """
    _pause_or_resume(True, name, namespace, kubeconfig, sandbox_dir)


@main.command()
@click.argument("name")
@_operator_options
def resume(
    name: str, namespace: str | None, kubeconfig: Path | None, sandbox_dir: Path | None
) -> None:
    """Continue a paused shift; the current step's dwell starts over (nothing is skipped).

    Exit codes: 0 requested, 1 refused, 2 bad input, 4 API server unreachable.
    """
    _pause_or_resume(False, name, namespace, kubeconfig, sandbox_dir)
