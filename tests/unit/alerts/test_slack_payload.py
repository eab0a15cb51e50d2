"""Slack incoming-webhook messages: the text fallback and the blocks carry the same facts."""

from __future__ import annotations

import json
from typing import Any

from controller.alerts import alerts_for, resolving_alert, slack_message
from tests.unit.alerts.builders import T0, at, promoted, rollback_alert, rolled_back_facts, routes

EXTERNAL = "http://prometheus.example:9090"


def _blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def test_rollback_text_is_the_escaped_summary_with_a_severity_mark() -> None:
    message = slack_message(rollback_alert(), external_url=EXTERNAL)
    assert message["text"] == (
        ":red_circle: TrafficShift bookinfo/reviews-v3 rolled back to 'v1' at step 2/3 (50% to "
        "canary 'v3'): gate 'error-rate' value 5.2 (threshold '&lt;= 1')"
    )


def test_rollback_blocks_show_header_fields_query_link_and_kubectl() -> None:
    message = slack_message(rollback_alert(), external_url=EXTERNAL)
    header, description, fields, query, context = message["blocks"]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":red_circle: TrafficShift rolled back: bookinfo/reviews-v3",
        },
    }
    assert description["text"]["text"].startswith("Rolled back VirtualService 'reviews'")
    assert [f["text"] for f in fields["fields"]] == [
        "*Gate*\nerror-rate",
        "*Value*\n5.2",
        "*Threshold*\n&lt;= 1",
        "*Step*\n2/3",
        "*Weight*\n50% to 'v3'",
        "*VirtualService*\nreviews",
        "*Severity*\ncritical",
    ]
    assert query["text"]["text"].startswith("*Query*\n```sum(rate(istio_requests_total{")
    assert f"<{EXTERNAL}/graph?g0.expr=sum%28rate" in query["text"]["text"]
    assert "|Open in Prometheus>" in query["text"]["text"]
    assert context["elements"][0]["text"] == (
        "`kubectl -n bookinfo describe trafficshift reviews-v3` · dedup "
        "bookinfo/reviews-v3/3/rollback/2024-05-01T12:00:00Z"
    )


def test_mrkdwn_control_characters_from_the_shift_are_escaped() -> None:
    message = slack_message(rollback_alert(), external_url=EXTERNAL)
    description = message["blocks"][1]["text"]["text"]
    assert "'&lt;= 1'" in description
    assert "<=" not in description


def test_promoted_message_has_no_gate_fields_or_query() -> None:
    (alert,) = alerts_for([promoted()], routes(("oncall", ["promoted"])), rolled_back_facts(), T0)
    message = slack_message(alert, external_url=EXTERNAL)
    assert message["text"].startswith(":ok: TrafficShift bookinfo/reviews-v3 promoted canary")
    assert "*Gate*" not in _blocks_text(message)
    assert "*Query*" not in _blocks_text(message)


def test_resolved_message_is_marked_resolved() -> None:
    message = slack_message(resolving_alert(rollback_alert(), at(60)), external_url=EXTERNAL)
    assert message["text"].startswith(":white_check_mark: ")
    assert message["blocks"][0]["text"]["text"].endswith(
        "TrafficShift rolled back (resolved): bookinfo/reviews-v3"
    )
    assert message["blocks"][1]["text"]["text"].startswith("Resolved at 2024-05-01T12:01:00Z")
