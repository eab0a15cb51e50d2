"""The ``weightgate`` command line: parse arguments, wire parts together, map outcomes to exit
codes. No logic of its own lives here.

Exit codes shared by every command: 0 success, 2 invalid input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml

from controller import __version__
from controller.api.crd import GENERATED_HEADER, crd_manifest
from controller.api.documents import SourcedDocument, check_documents
from controller.api.problems import Problem
from controller.api.profile import GateProfile
from controller.manifests import DEFAULT_PROFILE_DIR, ManifestError, load_profiles, read_documents

EXIT_OK = 0
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
    help=f"Folder of gate profiles that shifts may name (default: {DEFAULT_PROFILE_DIR} "
    "when it exists). Profiles among FILES count too.",
)
def validate(files: tuple[Path, ...], profile_dir: Path | None) -> None:
    """Check TrafficShift and GateProfile manifests; print every problem with its place.

    Exits 0 when every document is valid, 2 otherwise.
    """
    problems: list[Problem] = []
    documents: list[SourcedDocument] = []
    profiles: dict[str, GateProfile] = {}
    directory = profile_dir or (DEFAULT_PROFILE_DIR if DEFAULT_PROFILE_DIR.is_dir() else None)
    try:
        if directory is not None:
            profiles = load_profiles(directory)
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
