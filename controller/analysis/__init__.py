"""Gate analysis: a TrafficShift's gates turned into PromQL, queried, and judged.

- ``selectors``: the Istio labels that select the canary's and the stable subset's telemetry.
- ``templates``: builtin gate queries as named templates; safe rendering of custom templates.
- ``client``: the `QueryClient` seam, `Sample` and `PrometheusError` (no I/O).
- ``prometheus``: the only module that talks to Prometheus (`PrometheusQueryClient`).
- ``verdicts``: one gate's value(s) against its thresholds -> Pass/Fail/Inconclusive/Error.
- ``evaluate``: one analysis pass over all gates of a shift (`evaluate_gates`).
"""
