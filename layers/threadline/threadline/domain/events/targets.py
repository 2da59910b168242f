"""The composition root of deliveries: every kind of delivery target, by name, for the dispatcher.

Only what dispatches imports this map (DeliveryDispatchFunction, the scheduled sweep, `make dev`'s local dispatcher,
the events benchmark) and passes it to threadline.delivery.dispatcher; tests may pass a map of their own. Writers
never need it: they write deliveries through threadline.delivery.outbox. A new kind of target is one class with the
threadline.delivery.targets.TargetKind methods, and one entry here.
"""

from __future__ import annotations

from threadline.delivery.targets import TargetKinds
from threadline.domain.events.subscriptions import WebhookTarget
from threadline.domain.replies.connector_callbacks import ConnectionTarget

TARGET_KINDS: TargetKinds = {"webhook": WebhookTarget(), "connection": ConnectionTarget()}
