"""Tests of controller.reconcile (one tick over fakes at the Cluster and Prometheus seams),
pipeline mode (controller.pipeline) and its progress view (controller.progress)."""
