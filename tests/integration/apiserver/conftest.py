"""Fixtures for the sandbox API server's acceptance tests: the server as a real subprocess,
real kubectl against it, and the official Python client configured from the same kubeconfig."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from controller.sandbox.apiserver import write_kubeconfig
from controller.sandbox.apiserver.process import ApiServerProcess

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO / ".." / "shared"
ISTIO = SHARED / "fixtures" / "istio"
KUBECTL = shutil.which("kubectl")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here starts the server process, so it all carries the integration mark."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


class Kubectl:
    """Runs the real kubectl against one server with its own kubeconfig and discovery cache."""

    def __init__(self, kubeconfig: Path, cache_dir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.cache_dir = cache_dir

    def argv(self, *args: str) -> list[str]:
        assert KUBECTL is not None
        return [
            KUBECTL,
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.argv(*args), input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerProcess]:
    """One sandbox API server process per test module."""
    log = tmp_path_factory.mktemp("apiserver") / "server.log"
    process = ApiServerProcess(log_file=log).start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def kubeconfig(server: ApiServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", server.url)


@pytest.fixture(scope="module")
def kubectl(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: these tests drive the server with the real kubectl")
    return Kubectl(kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))


@pytest.fixture(scope="module")
def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture(scope="module")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> str:
    """A fresh namespace per test, created through the API as a user would."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


@pytest.fixture(scope="module")
def istio_crds(kubectl: Kubectl) -> Path:
    """The Istio CRDs applied with kubectl apply -f, as a user installs them."""
    crds = ISTIO / "crds"
    if not crds.is_dir():
        pytest.skip(f"shared Istio fixtures not found at {crds} (clone without ../shared)")
    kubectl.run("apply", "-f", str(crds))
    return ISTIO


STEPS_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "steppers.test.weightgate.dev"},
    "spec": {
        "group": "test.weightgate.dev",
        "scope": "Namespaced",
        "names": {
            "plural": "steppers",
            "singular": "stepper",
            "kind": "Stepper",
            "shortNames": ["stp"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["steps"],
                                "properties": {
                                    "steps": {
                                        "type": "array",
                                        "maxItems": 5,
                                        "items": {"type": "integer", "minimum": 1, "maximum": 100},
                                    },
                                    "mode": {"type": "string", "enum": ["auto", "manual"]},
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "observedGeneration": {"type": "integer"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}
STEPPERS = ("test.weightgate.dev", "v1", "steppers")


@pytest.fixture(scope="module")
def steps_crd(kubectl: Kubectl) -> dict[str, Any]:
    """A small CRD with a schema (steps: ints 1..100) and the status subresource."""
    kubectl.run("apply", "-f", "-", stdin=json.dumps(STEPS_CRD))
    return STEPS_CRD


def stepper(name: str, steps: list[Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "test.weightgate.dev/v1",
        "kind": "Stepper",
        "metadata": {"name": name},
        "spec": {"steps": steps, **spec},
    }


@pytest.fixture
def make_stepper(
    custom: client.CustomObjectsApi, steps_crd: dict[str, Any], namespace: str
) -> Callable[..., dict[str, Any]]:
    def make(name: str, steps: list[Any], **spec: Any) -> dict[str, Any]:
        created: dict[str, Any] = custom.create_namespaced_custom_object(
            *STEPPERS[:2], namespace, STEPPERS[2], stepper(name, steps, **spec)
        )
        return created

    return make
