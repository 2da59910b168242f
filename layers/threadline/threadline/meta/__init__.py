"""Meta's WhatsApp Cloud API: configuration, the Graph client, message payloads and webhook parsing."""
