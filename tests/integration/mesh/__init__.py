"""Tests of the sandbox mesh: routing, faults, telemetry, and the mesh under real Prometheus."""
