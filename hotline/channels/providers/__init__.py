"""Outbound adapters of the text channels, each a ``hotline.outbox.providers.Provider``."""
