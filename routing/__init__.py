"""Routing: classification, territory and the dispatch catalogue."""
