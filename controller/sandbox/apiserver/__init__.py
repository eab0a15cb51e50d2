"""The sandbox's Kubernetes API stand-in: a loopback HTTP server that kubectl and the official
Python client work against.

It serves discovery and OpenAPI v3, CRUD/list/watch with resourceVersion, generation, 409 on
stale writes, merge/JSON patch (strategic merge for built-ins only, 415 for custom resources),
the status subresource, CRD registration with schema validation (422 with field paths),
fieldValidation, fault injection and an optional state file. Start it in-process with
``ApiServer().start()`` or as a process with ``python -m controller.sandbox.apiserver serve``.
"""

from .faults import FaultRule
from .kubeconfig import write_kubeconfig
from .server import ApiServer

__all__ = ["ApiServer", "FaultRule", "write_kubeconfig"]
