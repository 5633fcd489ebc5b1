"""Instants are stored in UTC and shown in China Standard Time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from pydantic import PlainSerializer

CHINA_TZ = timezone(timedelta(hours=8))


def to_local(value: datetime) -> datetime:
    """The same instant at +08:00."""
    return value.astimezone(CHINA_TZ)


LocalDateTime = Annotated[datetime, PlainSerializer(lambda v: to_local(v).isoformat(), return_type=str)]
