"""Monitoring objects fit together and fit the controller: the Service and ServiceMonitor reach
the metrics port, the alert rules fire when they should (checked by the real promtool), and
every dashboard query is valid PromQL over metrics the controller exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.metrics import ControllerMetrics
from tests.unit.deploy.conftest import Rendered, find_binary

SHIFT = {"namespace": "bookinfo", "trafficshift": "reviews-v3"}
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$namespace": ".*",
    "$trafficshift": ".*",
    "$gate": ".*",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return find_binary("promtool", "Debian package prometheus")


def _promtool(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def _exported_names() -> set[str]:
    """Every series name the controller can expose (counters' _total, histograms' parts)."""
    exposition = ControllerMetrics().exposition().decode()
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.MULTILINE):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def _dashboard(rendered: Rendered) -> dict[str, Any]:
    data = rendered.one("ConfigMap", "weightgate-grafana-dashboard")["data"]
    assert list(data) == ["weightgate-dashboard.json"]
    return dict(yaml.safe_load(data["weightgate-dashboard.json"]))


def _panel_queries(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    return {
        panel["title"]: [t["expr"] for t in panel.get("targets", [])]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }


def _as_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def _fill(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)


def _expected_alert(rule: dict[str, Any], **labels: str) -> dict[str, Any]:
    every_label = {**labels, **rule["labels"]}
    return {
        "exp_labels": every_label,
        "exp_annotations": {k: _fill(v, every_label) for k, v in rule["annotations"].items()},
    }


def test_service_selects_the_pods_and_targets_the_metrics_port(
    rendered: Rendered, deployment: dict[str, Any]
) -> None:
    service = rendered.one("Service", "weightgate-metrics")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]


def test_service_monitor_scrapes_the_service_and_keeps_the_shift_namespace_label(
    rendered: Rendered,
) -> None:
    """honorLabels: the shift's `namespace` label must not become `exported_namespace`."""
    monitor = rendered.one("ServiceMonitor", "weightgate")
    service = rendered.one("Service", "weightgate-metrics")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True


@pytest.fixture
def rules_dir(rendered: Rendered, tmp_path: Path) -> Path:
    """The PrometheusRule's groups as a plain Prometheus rule file."""
    rule = rendered.one("PrometheusRule", "weightgate")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return tmp_path


def _rule(rendered: Rendered, alert: str) -> dict[str, Any]:
    groups = rendered.one("PrometheusRule", "weightgate")["spec"]["groups"]
    return next(r for g in groups for r in g["rules"] if r.get("alert") == alert)


def test_alert_rules_pass_promtool_check(promtool: str, rules_dir: Path) -> None:
    result = _promtool(promtool, "check", "rules", "rules.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def _run_rule_tests(promtool: str, rules_dir: Path, tests: list[dict[str, Any]]) -> None:
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}
    (rules_dir / "tests.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = _promtool(promtool, "test", "rules", "tests.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rollback_alert_fires_on_a_shifts_first_and_later_rollbacks(
    promtool: str, rules_dir: Path, rendered: Rendered
) -> None:
    """A counter series born at 1 (the first rollback) and one going 2 -> 3 both alert, for
    five minutes, and nothing alerts while counters stand still."""
    rule = _rule(rendered, "WeightgateRollback")
    first = {**SHIFT, "reason": "RolledBack"}
    later = {**SHIFT, "trafficshift": "ratings-v2", "reason": "ProgressDeadlineExceeded"}

    def series(labels: dict[str, str], values: str) -> dict[str, str]:
        body = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return {"series": f"weightgate_rollbacks_total{{{body}}}", "values": values}

    def at(minute: int, *alerts: dict[str, Any]) -> dict[str, Any]:
        return {
            "eval_time": f"{minute}m",
            "alertname": "WeightgateRollback",
            "exp_alerts": list(alerts),
        }

    test = {
        "interval": "1m",
        "input_series": [series(first, "_x10 1x40"), series(later, "2x30 3x20")],
        "alert_rule_test": [
            at(5),
            at(11, _expected_alert(rule, **first)),
            at(18),
            at(32, _expected_alert(rule, **later)),
            at(45),
        ],
    }
    _run_rule_tests(promtool, rules_dir, [test])


def test_holding_alert_fires_after_fifteen_minutes_in_holding(
    promtool: str, rules_dir: Path, rendered: Rendered
) -> None:
    """Not at 14 minutes, yes at 16; never for another phase; gone once the shift moves on."""
    rule = _rule(rendered, "WeightgateShiftHolding")
    holding = {**SHIFT, "phase": "Holding"}
    progressing = {**SHIFT, "trafficshift": "ratings-v2", "phase": "Progressing"}

    def series(labels: dict[str, str], values: str) -> dict[str, str]:
        body = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return {"series": f"weightgate_shift_phase{{{body}}}", "values": values}

    def at(minute: int, *alerts: dict[str, Any]) -> dict[str, Any]:
        return {
            "eval_time": f"{minute}m",
            "alertname": "WeightgateShiftHolding",
            "exp_alerts": list(alerts),
        }

    test = {
        "interval": "1m",
        "input_series": [series(holding, "0x4 1x25 0x10"), series(progressing, "1x40")],
        "alert_rule_test": [
            at(19),  # Holding since minute 5: 14 minutes
            at(21, _expected_alert(rule, **holding)),
            at(35),  # back to Progressing at minute 30
        ],
    }
    _run_rule_tests(promtool, rules_dir, [test])


def test_dashboard_is_labelled_for_the_grafana_sidecar(rendered: Rendered) -> None:
    labels = rendered.one("ConfigMap", "weightgate-grafana-dashboard")["metadata"]["labels"]
    assert labels["grafana_dashboard"] == "1"


def test_dashboard_shows_weight_gate_values_and_verdicts(rendered: Rendered) -> None:
    dashboard = _dashboard(rendered)
    queries = " ".join(q for qs in _panel_queries(dashboard).values() for q in qs)
    for metric in (
        "weightgate_shift_canary_weight_percent",
        "weightgate_gate_value",
        "weightgate_gate_verdicts_total",
        "weightgate_rollbacks_total",
    ):
        assert metric in queries, f"no panel shows {metric}"
    gate_panel = next(p for p in dashboard["panels"] if "weightgate_gate_value" in str(p))
    assert gate_panel["repeat"] == "gate"  # one panel per gate: their units differ
    assert dashboard["uid"] == "weightgate-shifts"


def test_dashboard_queries_only_metrics_the_controller_exports(rendered: Rendered) -> None:
    exported = _exported_names()
    dashboard = _dashboard(rendered)
    templating = [v.get("definition", "") for v in dashboard["templating"]["list"]]
    queries = [q for qs in _panel_queries(dashboard).values() for q in qs] + templating
    used = {name for q in queries for name in re.findall(r"\bweightgate_\w+", q)}
    assert used, "the dashboard queries no weightgate metric"
    assert used <= exported, f"not exported by controller.metrics: {sorted(used - exported)}"


def test_dashboard_queries_are_valid_promql(
    promtool: str, rendered: Rendered, tmp_path: Path
) -> None:
    """Each panel query (Grafana variables filled in) parses, checked as a recording rule."""
    queries = [q for qs in _panel_queries(_dashboard(rendered)).values() for q in qs]
    rules = [
        {"record": f"dashboard:query_{i}", "expr": _as_promql(q)} for i, q in enumerate(queries)
    ]
    (tmp_path / "dashboard.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )
    result = _promtool(promtool, "check", "rules", "dashboard.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_use_only_metrics_the_controller_exports(rendered: Rendered) -> None:
    groups = rendered.one("PrometheusRule", "weightgate")["spec"]["groups"]
    used = {
        n for g in groups for r in g["rules"] for n in re.findall(r"\bweightgate_\w+", r["expr"])
    }
    assert used == {"weightgate_rollbacks_total", "weightgate_shift_phase"}
    assert used <= _exported_names()
