"""Real servers for tests, each started on a port the test picked (never a fixed port)."""
