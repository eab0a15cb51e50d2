"""Command line of the synthetic Istio telemetry exporter:
``python -m controller.sandbox.exporter --services N --namespaces M --port 0 --ready-file F``.

Owns argument parsing, running the server until SIGTERM/SIGINT, and announcing the URL through
the ready file (the sandbox's usual handshake).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from controller.sandbox.exporter.catalog import service_catalog
from controller.sandbox.exporter.model import TrafficModel
from controller.sandbox.exporter.render import ScrapeRenderer
from controller.sandbox.exporter.server import ExporterServer
from controller.sandbox.promstack.readyfile import serve_until_signalled


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m controller.sandbox.exporter",
        description="synthetic Istio telemetry: N services (v1 and v2) over M namespaces",
    )
    parser.add_argument("--services", type=int, required=True, help="number of services")
    parser.add_argument("--namespaces", type=int, default=1, help="namespaces to spread over")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here once listening")
    parser.add_argument("--rps", type=float, default=10.0, help="requests/s per version")
    parser.add_argument(
        "--error-percent", type=float, default=0.1, help="percent of requests answered 503"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the per-service latencies")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        services = service_catalog(args.services, args.namespaces)
        model = TrafficModel(rps=args.rps, error_fraction=args.error_percent / 100)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    server = ExporterServer(ScrapeRenderer(services, model, args.seed), port=args.port)
    server.start()
    serve_until_signalled(server, args.ready_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
