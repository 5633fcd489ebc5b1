"""The switch behind a call: one small interface, with Twilio and a local switch (CTI) as its adapters.

The queue decides; the switch carries it out once the decision committed: ring an operator's
phone for a waiting caller, put a caller back on hold, take a message, or place a call-back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SwitchError(Exception):
    """The switch refused or could not be reached; the queue takes the decision back."""


@dataclass(frozen=True)
class Route:
    """Where a call goes now, from its state when the transaction committed."""

    call_id: int
    source: str
    external_id: str | None
    status: str  # ringing: ring ``endpoint``; waiting: hold the caller in the queue; voicemail: take a message
    offer_seq: int
    endpoint: str | None


@dataclass(frozen=True)
class CallBack:
    """An outbound call-back: ring the operator's phone, then connect the citizen."""

    call_id: int
    operator_endpoint: str
    citizen_phone: str


class Switch(Protocol):
    async def connect(self, route: Route) -> None:
        """Ring ``route.endpoint`` for the queued caller."""

    async def hold(self, route: Route) -> None:
        """Stop ringing; the caller waits in the queue again."""

    async def voicemail(self, route: Route) -> None:
        """Take the caller's message."""

    async def dial(self, call_back: CallBack) -> str | None:
        """Place a call-back; the switch's id of the new call."""
