"""The WhatsApp channel: Meta's Cloud API behind the Channel protocol, Meta's notifications translated into the inbound batch, WhatsApp keys."""
