"""The ``weightgate`` command line: parse arguments, wire parts together, map outcomes to exit
codes. No logic of its own lives here.

Exit codes shared by every command: 0 success, 2 invalid input.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import click
import yaml

from controller import __version__
from controller.api.crd import GENERATED_HEADER, crd_manifest
from controller.api.documents import SourcedDocument, check_documents
from controller.api.problems import Problem
from controller.api.profile import GateProfile
from controller.kube.client import context_namespace
from controller.kube.errors import KubeError
from controller.manifests import DEFAULT_PROFILE_DIR, ManifestError, load_profiles, read_documents
from controller.manifests import profile_dir as shipped_or
from controller.pipeline import (
    DriveOptions,
    PipelineError,
    apply_shift,
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
        ns, name = apply_shift(wired.cluster, shift, target_namespace)
        click.echo(f"driving TrafficShift {ns}/{name} (Ctrl-C stops watching; re-run resumes)")
        options = DriveOptions(
            tick_seconds=tick_seconds,
            timeout=(timedelta(seconds=timeout_seconds) if timeout_seconds else None),
        )
        outcome = drive(
            wired.deps,
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
