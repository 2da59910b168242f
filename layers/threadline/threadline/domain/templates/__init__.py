"""The account's message templates: listing them, keeping them in sync with the provider, and their webhooks."""
