"""Making text from the outside safe to store: no NUL, no lone surrogates, bounded length."""

from __future__ import annotations

import hashlib
from typing import Any

MAX_EXTERNAL_ID = 128  # the width of ``messages.external_id``


def clean(value: str, limit: int | None = None) -> str:
    """Text every database accepts (PostgreSQL refuses NUL and unpaired surrogates), cut to ``limit``."""
    value = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return value if limit is None else value[:limit]


def clean_or_none(value: str | None, limit: int | None = None) -> str | None:
    """``clean`` for optional fields; blank becomes None."""
    if value is None:
        return None
    value = clean(value, limit).strip()
    return value or None


def clean_json(value: Any) -> Any:
    """A JSON document with every string (keys included) made safe to store."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean(str(value))


def external_key(value: str) -> str:
    """A channel's message id as stored: itself when it fits, else a stable digest of it."""
    value = clean(value.strip())
    if len(value) <= MAX_EXTERNAL_ID:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()
