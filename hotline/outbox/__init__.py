"""The outbox: messages to citizens and staff, written with the change that causes them, delivered at least once."""
