"""Benchmarks that start what they need on this machine and write docs/PERFORMANCE.md."""
