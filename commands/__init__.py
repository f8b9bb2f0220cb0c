"""Commands (imperative messages) and the handlers that turn them into events."""
