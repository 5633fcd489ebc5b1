"""Telling the responsible staff: in the app, by SMS and by email, through the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role, User
from hotline.outbox.service import enqueue_many
from hotline.tickets.models import Ticket


@dataclass(frozen=True)
class Contact:
    """Where a member of staff can be reached."""

    user_id: int
    phone: str | None
    email: str | None

    def addresses(self) -> list[tuple[str, str]]:
        """(channel, recipient) pairs: always the app, and SMS / email when known."""
        pairs = [("app", f"user:{self.user_id}"), ("sms", self.phone), ("email", self.email)]
        return [(channel, recipient) for channel, recipient in pairs if recipient]


def _contact(user: User) -> Contact:
    return Contact(user.id or 0, user.phone, user.email)


async def staff_of_units(session: AsyncSession, unit_ids: Iterable[int]) -> dict[int, list[Contact]]:
    """The active department staff of each unit."""
    wanted = set(unit_ids)
    found: dict[int, list[Contact]] = {unit_id: [] for unit_id in wanted}
    if wanted:
        rows = await session.execute(
            select(User).where(
                col(User.unit_id).in_(wanted), col(User.role) == Role.DEPARTMENT_STAFF, col(User.is_active)
            )
        )
        for user in rows.scalars():
            found[user.unit_id or 0].append(_contact(user))
    return found


async def staff_of_unit(session: AsyncSession, unit_id: int) -> list[Contact]:
    """The active department staff of a unit."""
    return (await staff_of_units(session, [unit_id]))[unit_id]


async def supervisors(session: AsyncSession) -> list[Contact]:
    """The hotline's supervisors, who receive circulated notices (通报)."""
    rows = await session.execute(select(User).where(col(User.role) == Role.SUPERVISOR, col(User.is_active)))
    return [_contact(user) for user in rows.scalars()]


def notice_rows(
    contacts: Iterable[Contact], *, ticket_id: int | None, key: str, subject: str, body: str
) -> list[dict[str, Any]]:
    """One outbox row per contact and channel, keyed so that a repeat is never sent twice."""
    return [
        {
            "dedupe_key": f"{key}:{c.user_id}:{channel}",
            "channel": channel,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "ticket_id": ticket_id,
        }
        for c in contacts
        for channel, recipient in c.addresses()
    ]


async def notify_users(
    session: AsyncSession, *, users: list[Contact], ticket: Ticket, key: str, subject: str, body: str
) -> int:
    """Queue the same notice for each contact on every channel they can be reached on; returns how many."""
    return await enqueue_many(session, notice_rows(users, ticket_id=ticket.id, key=key, subject=subject, body=body))
