"""The web UI (Simplified Chinese), served by the same process; no asset comes from the internet."""
