"""How the phone queue runs, read once from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from hotline.config import Settings
from hotline.timefmt import to_local

OFFER_RETRY_AFTER = timedelta(seconds=5)  # a connect the switch refused is tried again after this long
RING_GRACE = timedelta(seconds=5)  # the switch reports no-answer itself; after this margin the tick does


@dataclass(frozen=True)
class CallPolicy:
    """Service hours, waiting and ringing limits, wrap-up, voicemail, and where operators' phones are."""

    service_hours: tuple[time, time]
    max_wait: timedelta
    ring: timedelta
    wrap_up: timedelta
    voicemail_max_seconds: int
    voicemail_silence_seconds: int
    callback_max_attempts: int
    public_url: str
    operator_endpoints: dict[str, str] = field(default_factory=dict)

    def in_service(self, now: datetime) -> bool:
        """Whether operators take calls at this instant (China time)."""
        start, end = self.service_hours
        return start <= to_local(now).time() < end

    @property
    def service_hours_label(self) -> str:
        """The hours as a caller hears them, e.g. ``8:00至20:00``."""
        start, end = self.service_hours
        if start == time.min and end == time.max:
            return "全天24小时"
        return f"每天{start.hour}:{start.minute:02d}至{_hours(end)}"


def _hours(value: time) -> str:
    return "24:00" if value == time.max else f"{value.hour}:{value.minute:02d}"


def _end_of_span(text: str) -> time:
    return time.max if text == "24:00" else time.fromisoformat(text)


def policy_from(settings: Settings) -> CallPolicy:
    """The call policy in force."""
    start, _, end = settings.call_service_hours.partition("-")
    return CallPolicy(
        service_hours=(time.fromisoformat(start.strip()), _end_of_span(end.strip())),
        max_wait=timedelta(seconds=settings.call_max_wait_seconds),
        ring=timedelta(seconds=settings.call_ring_seconds),
        wrap_up=timedelta(seconds=settings.call_wrap_up_seconds),
        voicemail_max_seconds=settings.call_voicemail_max_seconds,
        voicemail_silence_seconds=settings.call_voicemail_silence_seconds,
        callback_max_attempts=settings.call_callback_max_attempts,
        public_url=settings.public_url.rstrip("/"),
        operator_endpoints=dict(settings.call_operator_endpoints),
    )
