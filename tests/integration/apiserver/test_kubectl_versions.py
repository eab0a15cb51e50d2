"""Every kubectl on this machine, 1.27 to 1.33 where present, does the everyday verbs against
the sandbox: apply (create and update), replace, edit, patch, annotate, get -o yaml, and
delete; the TrafficShift CRD and a TrafficShift go through the same verbs. Versions are found
beside the kubectl on PATH (kubectl.1.27, ...: how the Google Cloud SDK ships them); the one on
PATH always runs."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import KUBECTL, REPO

CRD = REPO / "config" / "crd" / "trafficshift.yaml"
SAMPLE = REPO / "config" / "samples" / "bookinfo-reviews-v3.yaml"


def versions() -> list[tuple[str, str]]:
    """(label, path) of each kubectl present: the one on PATH, then kubectl.1.N beside it."""
    if KUBECTL is None:
        return []
    found = [("path", KUBECTL)]
    real = Path(KUBECTL).resolve()
    for sibling in sorted(real.parent.glob("kubectl.1.*")):
        match = re.fullmatch(r"kubectl\.(1\.\d+)", sibling.name)
        if match and os.access(sibling, os.X_OK):
            found.append((match.group(1), str(sibling)))
    return found


VERSIONS = versions()


class Versioned:
    def __init__(self, binary: str, kubeconfig: Path, cache: Path) -> None:
        self.binary = binary
        self.base = [binary, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.base, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, **(env or {})},
        )
        if result.returncode != 0:
            raise AssertionError(f"{self.binary} {' '.join(args)} failed:\n{result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)


def configmap(namespace: str, value: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"mode": value},
        }
    )


@pytest.mark.skipif(not VERSIONS, reason="kubectl is not installed")
@pytest.mark.parametrize(("label", "binary"), VERSIONS, ids=[label for label, _ in VERSIONS])
def test_everyday_verbs_work_with_this_kubectl(
    label: str, binary: str, kubeconfig: Path, tmp_path: Path
) -> None:
    kubectl = Versioned(binary, kubeconfig, tmp_path / "cache")
    namespace = "v" + re.sub(r"[^0-9a-z]", "-", label)
    kubectl.run("create", "namespace", namespace)

    kubectl.run("apply", "-f", "-", stdin=configmap(namespace, "a"))
    kubectl.run("apply", "-f", "-", stdin=configmap(namespace, "b"))
    assert kubectl.json("get", "-n", namespace, "configmap", "settings")["data"] == {"mode": "b"}
    kubectl.run("replace", "-f", "-", stdin=configmap(namespace, "c"))
    kubectl.run("patch", "-n", namespace, "configmap", "settings", "-p", '{"data":{"x":"1"}}')
    kubectl.run("annotate", "-n", namespace, "configmap", "settings", "team=reviews")

    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/mode: c/mode: edited/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    kubectl.run("edit", "-n", namespace, "configmap", "settings", env={"KUBE_EDITOR": str(editor)})
    edited = kubectl.json("get", "-n", namespace, "configmap", "settings")
    assert edited["data"] == {"mode": "edited", "x": "1"}
    assert edited["metadata"]["annotations"]["team"] == "reviews"

    # The project's own CRD and a TrafficShift, as a user installs and changes them.
    kubectl.run("apply", "-f", str(CRD))
    shift = yaml.safe_load(SAMPLE.read_text())
    shift["metadata"]["namespace"] = namespace
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(shift))
    shift["spec"]["steps"] = [25, 50, 100]
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(shift))
    stored = kubectl.json("get", "-n", namespace, "trafficshift", "reviews-v3")
    assert stored["spec"]["steps"] == [25, 50, 100]
    as_yaml = kubectl.run("get", "-n", namespace, "tshift", "reviews-v3", "-o", "yaml").stdout
    assert yaml.safe_load(as_yaml)["spec"]["steps"] == [25, 50, 100]
    kubectl.run("delete", "-n", namespace, "trafficshift", "reviews-v3")
    kubectl.run("delete", "-n", namespace, "configmap", "settings")
