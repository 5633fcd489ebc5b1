"""Finding or creating a citizen from a channel identity."""

from __future__ import annotations

from typing import Any

import phonenumbers
from sqlalchemy import String, bindparam, delete, exists, literal_column, null, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.citizens.models import ChannelIdentity, Citizen, IdentityKind
from hotline.db import DriverStatement
from hotline.db_types import UTCDateTime, utcnow
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


def mask_name(name: str) -> str:
    """A name with all but its first character hidden (``张**``)."""
    return name[:1] + "**"


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
    """The citizen behind an identity, and whether this is their first contact (just created).

    Safe when the same new identity arrives twice at once, without a savepoint: the identity is
    inserted ``ON CONFLICT DO NOTHING``, which waits for the other transaction; if that one created
    the identity, the citizen made here is removed again and theirs is returned.
    """
    canonical = normalize_identity(kind, value)
    found = await _by_identity(session, kind, canonical)
    if found is not None:
        if name and not found.name:
            found.name = name
        return found, False
    citizen = Citizen(name=name)
    session.add(citizen)
    await session.flush()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ChannelIdentity)
        .values(citizen_id=citizen.id, kind=kind.value, value=canonical, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind", "value"])
        .returning(col(ChannelIdentity.id))
    )
    if (await session.execute(statement)).scalar_one_or_none() is not None:
        return citizen, True
    await session.delete(citizen)  # the same sender's other message created them first
    await session.flush()
    other = await _by_identity(session, kind, canonical)
    assert other is not None
    return other, False


async def identify_locked(
    session: AsyncSession, *, kind: IdentityKind, value: str, name: str | None = None
) -> tuple[int, bool]:
    """The id of the citizen behind an identity, locked until the caller commits, and whether they are new.

    The intake's way in: two messages of one citizen at once then take their turns, so they cannot both
    open an order. On PostgreSQL one statement finds and locks the citizen, or creates citizen and identity
    (a new citizen needs no lock: no one else sees the row before this transaction commits, and the same
    sender's concurrent first message waits on the identity's unique key). SQLite lets one transaction
    write at a time, which serialises intake already.
    """
    if session.get_bind().dialect.name != "postgresql":
        citizen, created = await identify_or_create(session, kind=kind, value=value, name=name)
        assert citizen.id is not None
        return citizen.id, created
    canonical = normalize_identity(kind, value)
    for _ in range(2):  # a second pass only after losing the race for a new identity (see below)
        params = {"kind": kind.value, "value": canonical, "name": name, "now": utcnow()}
        rows = await FIND_LOCK_OR_CREATE.fetch(session, params)
        found = {outcome: (citizen_id, known_name) for citizen_id, known_name, outcome in rows}
        if "found" in found:
            citizen_id, known_name = found["found"]
            if name and not known_name:
                await session.execute(update(Citizen).where(col(Citizen.id) == citizen_id).values(name=name))
            return citizen_id, False
        if "created" in found:
            return found["created"][0], True
        # The same sender's other message created the identity first: drop our citizen and take theirs.
        await session.execute(delete(Citizen).where(col(Citizen.id) == found["orphan"][0]))
    raise RuntimeError(f"identity {kind.value} could be neither found nor created")


def _find_lock_or_create() -> Any:
    """(citizen id, name, "found" | "created" | "orphan") rows: the locked citizen, or the one just made.

    Built once with bound parameters (``kind``, ``value``, ``name``, ``now``): constructing a statement of
    this size costs more CPU than running it.
    """
    citizens: Any = Citizen.__table__  # type: ignore[attr-defined]
    identities: Any = ChannelIdentity.__table__  # type: ignore[attr-defined]
    kind, value = bindparam("kind", type_=String()), bindparam("value", type_=String())
    name, now = bindparam("name", type_=String()), bindparam("now", type_=UTCDateTime())
    found = (
        select(citizens.c.id, citizens.c.name)
        .join_from(citizens, identities, identities.c.citizen_id == citizens.c.id)
        .where(identities.c.kind == kind, identities.c.value == value)
        .with_for_update(of=citizens)
        .cte("found")
    )
    new_citizen = (
        pg_insert(citizens)
        .from_select(["name", "created_at"], select(name, now).where(~exists(found.select())))
        .returning(citizens.c.id)
        .cte("new_citizen")
    )
    new_identity = (
        pg_insert(identities)
        .from_select(["citizen_id", "kind", "value", "created_at"], select(new_citizen.c.id, kind, value, now))
        .on_conflict_do_nothing(index_elements=["kind", "value"])
        .returning(identities.c.citizen_id)
        .cte("new_identity")
    )
    return union_all(
        select(found.c.id, found.c.name, literal_column("'found'")),
        select(new_identity.c.citizen_id, null(), literal_column("'created'")),
        select(new_citizen.c.id, null(), literal_column("'orphan'")).where(~exists(new_identity.select())),
    )


FIND_LOCK_OR_CREATE = DriverStatement(_find_lock_or_create())


async def _by_identity(session: AsyncSession, kind: IdentityKind, canonical: str) -> Citizen | None:
    query = (
        select(Citizen)
        .join(ChannelIdentity, col(ChannelIdentity.citizen_id) == col(Citizen.id))
        .where(col(ChannelIdentity.kind) == kind.value, col(ChannelIdentity.value) == canonical)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def identities_of(session: AsyncSession, *, citizen_id: int) -> list[ChannelIdentity]:
    """Every identity a citizen has used."""
    rows = await session.execute(select(ChannelIdentity).where(col(ChannelIdentity.citizen_id) == citizen_id))
    return list(rows.scalars())
