"""Instants are stored in UTC and shown in China Standard Time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

CHINA_TZ = timezone(timedelta(hours=8))


def local_midnight(day: date) -> datetime:
    """The instant a China calendar day begins."""
    return datetime.combine(day, time(0), tzinfo=CHINA_TZ)


def to_local(value: datetime) -> datetime:
    """The same instant at +08:00."""
    return value.astimezone(CHINA_TZ)


def assume_china_time(value: datetime) -> datetime:
    """A time given without an offset is China Standard Time, as staff would mean it."""
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA_TZ)


LocalDateTime = Annotated[
    datetime,
    AfterValidator(assume_china_time),
    PlainSerializer(lambda v: to_local(v).isoformat(), return_type=str),
]
