"""The workshop kit: embedded services, the fake LLM upstream, the pytest plugin and the CLI."""
