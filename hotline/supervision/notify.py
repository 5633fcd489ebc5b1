"""Telling the responsible staff: in the app, by SMS and by email, through the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role, User
from hotline.outbox.service import enqueue
from hotline.tickets.models import Ticket


async def staff_of_unit(session: AsyncSession, unit_id: int) -> list[User]:
    """The active department staff of a unit."""
    rows = await session.execute(
        select(User).where(col(User.unit_id) == unit_id, col(User.role) == Role.DEPARTMENT_STAFF, col(User.is_active))
    )
    return list(rows.scalars())


async def supervisors(session: AsyncSession) -> list[User]:
    """The hotline's supervisors, who receive circulated notices (通报)."""
    rows = await session.execute(select(User).where(col(User.role) == Role.SUPERVISOR, col(User.is_active)))
    return list(rows.scalars())


async def notify_users(
    session: AsyncSession, *, users: list[User], ticket: Ticket, key: str, subject: str, body: str
) -> int:
    """Queue the same notice for each user on every channel they can be reached on; returns how many."""
    queued = 0
    for user in users:
        targets = [("app", f"user:{user.id}"), ("sms", user.phone), ("email", user.email)]
        for channel, recipient in targets:
            if recipient:
                queued += await enqueue(
                    session,
                    dedupe_key=f"{key}:{user.id}:{channel}",
                    channel=channel,
                    recipient=recipient,
                    subject=subject,
                    body=body,
                    ticket_id=ticket.id,
                )
    return queued
