"""write_kubeconfig: a kubeconfig that points kubectl and the Python client at the sandbox.

The sandbox serves plain HTTP on loopback and does no authentication, so the file names one
cluster (``server: http://127.0.0.1:PORT``), one user with a dummy bearer token (some clients
insist on credentials being present) and one context selecting the given namespace.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .state import write_atomically

CONTEXT = "weightgate-sandbox"


DUMMY_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox does no authentication


def kubeconfig(url: str, namespace: str = "default", token: str = DUMMY_TOKEN) -> dict[str, object]:
    """The kubeconfig document as a dict."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path | str, url: str, namespace: str = "default") -> Path:
    """Write a kubeconfig for ``url`` to ``path`` (atomically) and return the path."""
    target = Path(path)
    write_atomically(target, yaml.safe_dump(kubeconfig(url, namespace), sort_keys=False))
    return target
