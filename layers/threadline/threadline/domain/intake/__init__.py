"""What comes in: connector ingests and statuses, Meta's WhatsApp notifications, connections and their keys."""
