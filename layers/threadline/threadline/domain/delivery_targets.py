"""Every kind of delivery target, registered with the dispatcher (threadline.domain.deliveries) on import: webhook
subscriptions and connections (connector callbacks, issue 11 §3)."""

from threadline.domain import (
    connector_callbacks,  # noqa: F401 - registers the "connection" target kind
    webhook_subscriptions,  # noqa: F401 - registers the "webhook" target kind
)
