"""Live events: a small publish/subscribe bus the console and workers listen to."""
