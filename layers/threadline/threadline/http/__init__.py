"""HTTP plumbing shared by the handlers: resolver factory and the one mapping of errors to contract envelopes."""
