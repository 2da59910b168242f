"""What the tests share besides fixtures: route calls, factories, payload builders, fakes' settings, paths."""
