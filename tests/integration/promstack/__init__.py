"""Tests of the sandbox monitoring stack: real Prometheus, Alertmanager, and the alert sink."""
