"""Every kind of delivery target, registered with the dispatcher (threadline.delivery.dispatcher) on import: webhook
subscriptions and connections (connector callbacks, issue 11 §3)."""

from threadline.domain.events import subscriptions  # noqa: F401 - registers the "webhook" target kind
from threadline.domain.replies import connector_callbacks  # noqa: F401 - registers the "connection" target kind
