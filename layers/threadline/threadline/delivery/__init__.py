"""Outbound deliveries: signed POSTs to targets outside Threadline (webhook subscriptions, connector callbacks),
retried until answered. The rules live in threadline.delivery.dispatcher; this package holds the mechanics: the
signature, the address guard, the pinned HTTP connection, the secret box and the queue."""
