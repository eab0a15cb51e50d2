"""Command line of the sandbox mesh: `python -m controller.sandbox.mesh ...`.

Owns argument parsing, choosing the route source (Kubernetes API, YAML files, or none), running
the server until SIGTERM/SIGINT, and announcing the URL through the ready file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from controller.sandbox.mesh.app import Mesh
from controller.sandbox.mesh.server import MeshServer
from controller.sandbox.mesh.sources import (
    RouteSource,
    StaticRouteSource,
    api_route_source,
    file_route_source,
)
from controller.sandbox.promstack.readyfile import serve_until_signalled


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m controller.sandbox.mesh",
        description="bookinfo-like mesh: productpage -> reviews v1/v2/v3 with Istio telemetry",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here once listening")
    parser.add_argument("--api", help="Kubernetes API URL to read the reviews routes from")
    parser.add_argument("--vs-file", type=Path, help="YAML with the reviews VirtualService")
    parser.add_argument("--dr-file", type=Path, help="YAML with the reviews DestinationRule")
    parser.add_argument("--namespace", default="bookinfo", help="namespace of the mesh")
    parser.add_argument("--rps", type=float, default=20.0, help="load generator rate (0: off)")
    parser.add_argument("--seed", type=int, help="seed the mesh's random choices")
    parser.add_argument(
        "--poll-interval", type=float, default=0.2, help="seconds between route reads"
    )
    args = parser.parse_args(argv)
    if args.api and args.vs_file:
        parser.error("give either --api or --vs-file, not both")
    if args.dr_file and not args.vs_file:
        parser.error("--dr-file goes with --vs-file")
    return args


def route_source(args: argparse.Namespace) -> RouteSource:
    if args.api:
        return api_route_source(args.api, args.namespace, interval=args.poll_interval)
    if args.vs_file:
        return file_route_source(
            args.vs_file, args.dr_file, args.namespace, interval=args.poll_interval
        )
    return StaticRouteSource(None, None, args.namespace)  # no VirtualService: a plain Service


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mesh = Mesh(route_source(args), namespace=args.namespace, seed=args.seed)
    server = MeshServer(mesh, port=args.port, rps=args.rps)
    server.start()
    serve_until_signalled(server, args.ready_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
