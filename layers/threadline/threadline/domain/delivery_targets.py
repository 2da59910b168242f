"""Every kind of delivery target, registered with the dispatcher (threadline.domain.deliveries) on import: webhook
subscriptions here; connector callbacks (issue 11 §3) add their module to this list."""

from threadline.domain import webhook_subscriptions  # noqa: F401 - registers the "webhook" target kind
