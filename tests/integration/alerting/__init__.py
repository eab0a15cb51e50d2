"""Acceptance tests of alerting and observability: real rollbacks on the sandbox, their alerts
through Alertmanager, Slack and the signed webhook, receivers that fail, a SIGKILL before
delivery, the daemon's /metrics, and secrets that must never show."""
