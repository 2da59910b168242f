"""The event log (catch-up and retention) and tenants' webhook subscriptions; the delivery target kinds."""
