"""Finding or creating a citizen from a channel identity."""

from __future__ import annotations

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.citizens.models import ChannelIdentity, Citizen, IdentityKind
from hotline.errors import InvalidInput

DEFAULT_REGION = "CN"


def normalize_phone(raw: str) -> str:
    """E.164 form of a Chinese mobile or landline number (``13800138000`` → ``+8613800138000``)."""
    try:
        number = phonenumbers.parse(raw.strip(), DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"电话号码格式不正确：{raw}", f"not a phone number: {raw}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"电话号码格式不正确：{raw}", f"not a possible phone number: {raw}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """A phone number with its middle digits hidden (``+86138****8000``)."""
    return e164[:-8] + "****" + e164[-4:] if len(e164) > 8 else "****"


def normalize_identity(kind: IdentityKind, value: str) -> str:
    """The canonical form under which an identity is stored and looked up."""
    if kind is IdentityKind.PHONE:
        return normalize_phone(value)
    if kind is IdentityKind.EMAIL:
        return value.strip().lower()
    return value.strip()


async def identify(session: AsyncSession, *, kind: IdentityKind, value: str, name: str | None = None) -> Citizen:
    """The citizen behind an identity, created on first contact."""
    return (await identify_or_create(session, kind=kind, value=value, name=name))[0]


async def identify_or_create(
    session: AsyncSession, *, kind: IdentityKind, value: str, name: str | None = None
) -> tuple[Citizen, bool]:
    """The citizen behind an identity, and whether this is their first contact (just created)."""
    canonical = normalize_identity(kind, value)
    found = (
        await session.execute(
            select(Citizen)
            .join(ChannelIdentity, col(ChannelIdentity.citizen_id) == col(Citizen.id))
            .where(col(ChannelIdentity.kind) == kind.value, col(ChannelIdentity.value) == canonical)
        )
    ).scalar_one_or_none()
    if found is not None:
        if name and not found.name:
            found.name = name
        return found, False
    citizen = Citizen(name=name)
    session.add(citizen)
    await session.flush()
    assert citizen.id is not None
    session.add(ChannelIdentity(citizen_id=citizen.id, kind=kind.value, value=canonical))
    await session.flush()
    return citizen, True


async def identities_of(session: AsyncSession, *, citizen_id: int) -> list[ChannelIdentity]:
    """Every identity a citizen has used."""
    rows = await session.execute(select(ChannelIdentity).where(col(ChannelIdentity.citizen_id) == citizen_id))
    return list(rows.scalars())
