"""Time limits and supervision (限时办结、跟踪督办)."""
