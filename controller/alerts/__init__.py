"""weightgate.alerts: telling people about a shift's rollback, promotion, hold, drift or
invalid spec, through Alertmanager, Slack or a signed webhook, at least once.

The only package that talks to alert receivers. The outbox is pure data kept in the shift's
status (`PendingAlert`, planned with `plan`/`alerts_for`, advanced with `after_attempt`), and
`Dispatcher` delivers what is due in bounded time without ever raising. Provider settings are
`AlertSettings`; secrets are `SecretRef`s resolved through `SecretResolver`.
"""

from controller.alerts.alertmanager import alertmanager_alerts
from controller.alerts.book import (
    MAX_FIRING,
    MAX_PENDING,
    AlertBook,
    AlertDispatch,
    DispatchReport,
    Undeliverable,
    plan,
    resolving_alert,
    settle,
)
from controller.alerts.checks import (
    ALERTS_MISCONFIGURED,
    delivery_misconfigured,
    misconfigured_message,
    missing_providers,
)
from controller.alerts.config import (
    AlertmanagerProvider,
    AlertSettings,
    Provider,
    RetryPolicy,
    SlackProvider,
    WebhookProvider,
)
from controller.alerts.dispatcher import Dispatcher
from controller.alerts.facts import AlertTrigger, ShiftFacts
from controller.alerts.outbox import (
    DeliveryResult,
    RandomSource,
    after_attempt,
    alerts_for,
    backoff_delay,
    due,
    gives_up,
    next_due,
)
from controller.alerts.pending import AlertFacts, AlertState, GateFacts, PendingAlert, Severity
from controller.alerts.secretref import (
    SecretKeySelector,
    SecretRef,
    SecretResolver,
    SecretSource,
    SecretUnavailableError,
)
from controller.alerts.slack import slack_message
from controller.alerts.webhook import SIGNATURE_HEADER, verify_signature, webhook_payload

__all__ = [
    "ALERTS_MISCONFIGURED",
    "MAX_FIRING",
    "MAX_PENDING",
    "SIGNATURE_HEADER",
    "AlertBook",
    "AlertDispatch",
    "AlertFacts",
    "AlertSettings",
    "AlertState",
    "AlertTrigger",
    "AlertmanagerProvider",
    "DeliveryResult",
    "DispatchReport",
    "Dispatcher",
    "GateFacts",
    "PendingAlert",
    "Provider",
    "RandomSource",
    "RetryPolicy",
    "SecretKeySelector",
    "SecretRef",
    "SecretResolver",
    "SecretSource",
    "SecretUnavailableError",
    "Severity",
    "ShiftFacts",
    "SlackProvider",
    "Undeliverable",
    "WebhookProvider",
    "after_attempt",
    "alertmanager_alerts",
    "alerts_for",
    "backoff_delay",
    "delivery_misconfigured",
    "due",
    "gives_up",
    "misconfigured_message",
    "missing_providers",
    "next_due",
    "plan",
    "resolving_alert",
    "settle",
    "slack_message",
    "verify_signature",
    "webhook_payload",
]
