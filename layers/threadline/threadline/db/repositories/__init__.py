"""All SQL lives here. Each repository takes a connection whose transaction (and tenant) the caller set."""
