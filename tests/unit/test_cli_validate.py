"""`weightgate validate`: exit 0 on the shipped samples and profiles, 2 with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from controller.api.durations import parse_duration
from controller.cli import main
from controller.manifests import (
    DEFAULT_PROFILE_DIR,
    MAX_VALUES,
    ManifestError,
    expanded_size,
    load_profiles,
    profile_dir,
    read_documents,
)

REPO = Path(__file__).resolve().parents[2]
SHIFT_HEAD = """apiVersion: weightgate.dev/v1alpha1
kind: TrafficShift
metadata: {name: bad, namespace: bookinfo}
spec:
  virtualService: reviews
  stable: v1
  canary: v3
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.output


def test_shipped_samples_and_profiles_are_valid() -> None:
    files = sorted(str(p) for p in (REPO / "config").glob("*/*.yaml") if "crd" not in p.parts)
    code, output = run("--profiles", str(REPO / "config" / "gates"), *files)
    assert code == 0, output
    assert "valid" in output


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("  steps: [50, 30]\n", ["spec.steps", "strictly increase"]),
        ("  steps: [50, 120]\n", ["spec.steps", "120", "from 1 to 100"]),
        ("  steps: [50]\n  interval: 30 secs\n", ["spec.interval", "'30s'"]),
        (
            "  steps: [50]\n  analysis:\n    gates: [{name: eror-rate, max: 1}]\n",
            ["spec.analysis.gates[0].name", "unknown gate 'eror-rate'"],
        ),
    ],
    ids=["decreasing-steps", "weight-120", "malformed-duration", "unknown-gate"],
)
def test_invalid_file_exits_2_naming_file_and_field(
    tmp_path: Path, body: str, words: list[str]
) -> None:
    bad = tmp_path / "shift.yaml"
    bad.write_text(SHIFT_HEAD + body)
    code, output = run("--profiles", str(REPO / "config" / "gates"), str(bad))
    assert code == 2
    assert f"{bad} (document 1)" in output
    for word in words:
        assert word in output


def test_multi_document_file_reports_each_document(tmp_path: Path) -> None:
    bad = tmp_path / "two.yaml"
    bad.write_text(SHIFT_HEAD + "  steps: [50]\n---\n" + SHIFT_HEAD + "  steps: [5, 1]\n")
    code, output = run("--profiles", str(REPO / "config" / "gates"), str(bad))
    assert code == 2
    assert "(document 2): spec.steps" in output
    assert "(document 1)" not in output


def test_unreadable_and_malformed_files_are_problems_not_crashes(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed\n")
    code, output = run(str(broken), str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "not valid YAML at line" in output
    assert "missing.yaml" in output
    assert "cannot read file" in output


def test_shipped_profiles_are_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = load_profiles(profile_dir(DEFAULT_PROFILE_DIR))
    assert {"default", "strict", "latency-sensitive"} <= set(found)


def test_an_explicit_missing_profile_folder_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert profile_dir(missing) == missing
    with pytest.raises(ManifestError, match="gate profile folder not found"):
        load_profiles(missing)


def _bomb(levels: int) -> str:
    """A billion-laughs document: each level is nine aliases of the one before."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (SHIFT_HEAD.encode() + b"  steps: [50, 100]\n  interval: 99999999999h\n", "is too long"),
        (SHIFT_HEAD.encode().replace(b"bad", b"\xff\xfe"), "not UTF-8 text: byte 0xff at line 3"),
        (b"metadata:\n  name: !!timestamp notadate\n", "is tagged !!timestamp but is not a date"),
        (b"a: !!int 0xZZ\n", "not valid YAML: ValueError"),
        (b"a: !!binary 'not base64!!'\n", "failed to decode base64"),
        (_bomb(9).encode(), "YAML aliases expand this file to more than 100,000 values"),
    ],
    ids=["huge-duration", "not-utf8", "timestamp-tag", "int-tag", "binary-tag", "alias-bomb"],
)
def test_malformed_input_is_a_clear_problem_and_exit_2(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    """Issue #14: each of these printed a traceback and exited 1 (the alias bomb: hundreds of MB
    of error output)."""
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    code, output = run("--profiles", str(REPO / "config" / "gates"), str(path))
    assert code == 2
    assert expected in output
    assert "Traceback" not in output
    assert len(output) < 2_000


def test_aliases_are_counted_as_expanded_and_a_file_under_the_limit_is_read(
    tmp_path: Path,
) -> None:
    """Four levels: keys 5, lists 10 + 91 + 820 + 7381 + 66430, the mapping 1: 74,738 values."""
    assert expanded_size(yaml.safe_load(_bomb(4)), MAX_VALUES) == 74_738
    assert expanded_size(yaml.safe_load(_bomb(5)), MAX_VALUES) == MAX_VALUES + 1  # stops there
    path = tmp_path / "aliases.yaml"
    path.write_text(_bomb(4))
    assert len(read_documents(path)) == 1


def test_an_echoed_input_is_clipped() -> None:
    with pytest.raises(ValueError, match=r"\.\.\. \(1002 characters\) is not a duration") as info:
        parse_duration("x" * 1000)
    assert len(str(info.value)) < 400


GATES = "  analysis:\n    gates:\n    - {name: error-rate, max: MAX}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SHIFT_HEAD + "  steps: ['50', 100]\n", "got the string '50': write the value without"),
        (SHIFT_HEAD + "  steps: [true, 100]\n", "got true, a boolean: write a number"),
        (SHIFT_HEAD + "  steps: [50, 100]\n  paused: 'yes'\n", "spec.paused"),
        (
            SHIFT_HEAD + "  steps: [50, 100]\n  analysis: {confidence: '0.99'}\n",
            "spec.analysis.confidence",
        ),
        (
            SHIFT_HEAD.replace("name: bad,", 'name: "bad\\n",') + "  steps: [50, 100]\n",
            "metadata.name: 'bad\\n' is not a valid Kubernetes object name",
        ),
        (SHIFT_HEAD + "  steps: [50, 100]\n  steps: [10, 100]\n", "the key 'steps' is given twice"),
        (
            SHIFT_HEAD + "  steps: [50, 100]\n" + GATES.replace("MAX", ".nan"),
            "spec.analysis.gates[0].max: Input should be a finite number",
        ),
        (
            SHIFT_HEAD + "  steps: [50, 100]\n" + GATES.replace("MAX", "-.inf"),
            "NaN and infinities are not thresholds",
        ),
        ("# nothing but a comment\n", "no document: the file is empty"),
        (
            SHIFT_HEAD + "  steps: [50, 100]\n  alerts:\n  - on: [rollback]\n",
            "the key 'on' is read as a boolean",
        ),
    ],
    ids=[
        "quoted-step",
        "boolean-step",
        "quoted-boolean",
        "quoted-confidence",
        "name-with-newline",
        "duplicate-key",
        "nan-threshold",
        "infinite-threshold",
        "empty-file",
        "unquoted-on",
    ],
)
def test_the_validator_is_as_strict_as_the_crd(tmp_path: Path, text: str, expected: str) -> None:
    """Issue #14: each of these was accepted (exit 0), or rejected with a message that did not
    say why ("Keys should be strings" for `on:`)."""
    path = tmp_path / "lax.yaml"
    path.write_text(text)
    code, output = run("--profiles", str(REPO / "config" / "gates"), str(path))
    assert code == 2, output
    assert expected in output


def test_schema_and_gate_problems_are_reported_in_one_pass(tmp_path: Path) -> None:
    """Issue #14: an unknown gate was reported only once the schema problems were fixed."""
    path = tmp_path / "both.yaml"
    path.write_text(
        SHIFT_HEAD
        + "  steps: [50, 100]\n  bogus: 1\n  analysis:\n    gates:\n"
        + "    - {name: eror-rate, max: 1}\n    - {name: mine, query: 'up'}\n"
    )
    code, output = run("--profiles", str(REPO / "config" / "gates"), str(path))
    assert code == 2
    assert "spec.bogus: unknown field 'bogus'" in output
    assert "spec.analysis.gates[0].name: unknown gate 'eror-rate'" in output
    assert "Did you mean 'error-rate'?" in output
    assert "gates[1]" not in output  # a custom gate with a query is known by its query
    assert "2 problem(s)" in output


def test_a_missing_profile_is_reported_beside_schema_problems(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(SHIFT_HEAD + "  steps: [50, 100]\n  bogus: 1\n  analysis: {profile: nope}\n")
    code, output = run("--profiles", str(REPO / "config" / "gates"), str(path))
    assert code == 2
    assert "spec.bogus" in output
    assert "gate profile 'nope' not found" in output
