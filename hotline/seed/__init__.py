"""The demo city and its data."""
