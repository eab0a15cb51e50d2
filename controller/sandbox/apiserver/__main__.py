"""Command line: ``serve`` runs the sandbox API server, ``fault`` injects faults into one.

    python -m controller.sandbox.apiserver serve --host 127.0.0.1 --port 0 \
        [--state-file F] [--ready-file F] [--history-limit N]
    python -m controller.sandbox.apiserver fault --url URL --verb patch \
        --resource virtualservices --status 503 --count 3
    python -m controller.sandbox.apiserver fault --url URL --list | --clear

``serve`` writes its URL to the ready file (atomically) once it listens, and exits 0 after
SIGTERM or SIGINT, having closed every connection.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .admin import AdminError, clear_faults, inject_fault, list_faults
from .server import ApiServer
from .state import write_atomically


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m controller.sandbox.apiserver")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the sandbox Kubernetes API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 lets the OS pick a free port")
    serve.add_argument("--state-file", type=Path, help="JSON file that keeps objects over restarts")
    serve.add_argument("--ready-file", type=Path, help="written with the URL once listening")
    serve.add_argument("--history-limit", type=int, default=1000, help="watch events kept")
    serve.add_argument("--log-requests", action="store_true", help="log every request to stderr")
    fault = commands.add_parser("fault", help="inject, list or clear faults in a running server")
    fault.add_argument("--url", required=True, help="the server's URL, e.g. http://127.0.0.1:8001")
    action = fault.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="print the active faults")
    action.add_argument("--clear", action="store_true", help="remove every active fault")
    fault.add_argument("--verb", default="*", help="get, list, watch, create, update, patch...")
    fault.add_argument("--resource", default="*", help="plural, plural.group or plural/status")
    fault.add_argument("--namespace", default="")
    fault.add_argument("--name", default="")
    fault.add_argument("--status", type=int, default=0, help="HTTP status to answer (403, 503...)")
    fault.add_argument("--latency-ms", type=int, default=0, help="delay added before answering")
    fault.add_argument("--count", type=int, default=1, help="matching requests affected; 0 = all")
    fault.add_argument("--probability", type=float, default=1.0)
    fault.add_argument("--seed", type=int, default=None)
    fault.add_argument("--message", default="")
    return parser


def serve(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server = ApiServer(
        args.host,
        args.port,
        state_file=args.state_file,
        history_limit=args.history_limit,
        log_requests=args.log_requests,
    ).start()
    try:
        if args.ready_file:
            write_atomically(args.ready_file, server.url + "\n")
        print(f"sandbox API server listening on {server.url}", file=sys.stderr, flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


def fault(args: argparse.Namespace) -> int:
    if args.list:
        print(json.dumps(list_faults(args.url), indent=2))
    elif args.clear:
        clear_faults(args.url)
    else:
        rule = inject_fault(
            args.url,
            verb=args.verb,
            resource=args.resource,
            namespace=args.namespace,
            name=args.name,
            status=args.status,
            latency_ms=args.latency_ms,
            count=args.count or None,
            probability=args.probability,
            seed=args.seed,
            message=args.message,
        )
        print(json.dumps(rule))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return serve(args) if args.command == "serve" else fault(args)
    except (AdminError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
