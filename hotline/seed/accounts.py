"""The demo accounts: one per hotline role, and department staff for every bureau, district and utility."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import Role, User
from hotline.auth.passwords import hash_password
from hotline.units.models import Unit, UnitKind

HOTLINE_ACCOUNTS = (
    ("operator1", "话务员一", Role.OPERATOR),
    ("operator2", "话务员二", Role.OPERATOR),
    ("dispatcher1", "派单员一", Role.DISPATCHER),
    ("supervisor1", "督办员一", Role.SUPERVISOR),
    ("admin1", "系统管理员", Role.SYSTEM_ADMIN),
    ("security1", "安全管理员", Role.SECURITY_ADMIN),
    ("auditor1", "审计员", Role.AUDITOR),
)
DEPARTMENT_KINDS = frozenset({UnitKind.CITY_BUREAU, UnitKind.DISTRICT, UnitKind.UTILITY})
DEMO_STREETS = ("liangyuan_pingyuan", "suiyang_gucheng")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    unit_code: str | None = None


def demo_accounts(units: dict[str, Unit]) -> list[DemoAccount]:
    """Every demo account: ``dept_<unit code>1`` for department staff (e.g. ``dept_zhujian1``)."""
    accounts = [DemoAccount(name, label, role) for name, label, role in HOTLINE_ACCOUNTS]
    for code, unit in units.items():
        if unit.kind in DEPARTMENT_KINDS or code in DEMO_STREETS:
            accounts.append(DemoAccount(f"dept_{code}1", f"{unit.name}承办人", Role.DEPARTMENT_STAFF, code))
    return accounts


async def load_accounts(session: AsyncSession, units: dict[str, Unit], password: str, *, reset: bool) -> int:
    """Create missing demo accounts (and reset their passwords when asked); returns how many were created."""
    existing = {u.username: u for u in (await session.execute(select(User))).scalars()}
    shared_hash = hash_password(password)  # every demo account has the same password, so one hash does
    created = 0
    for account in demo_accounts(units):
        user = existing.get(account.username)
        if user is not None:
            if reset:
                user.password_hash = shared_hash
                user.failed_logins, user.locked_until = 0, None
            continue
        unit = units.get(account.unit_code) if account.unit_code else None
        session.add(
            User(
                username=account.username,
                display_name=account.display_name,
                password_hash=shared_hash,
                role=account.role,
                unit_id=unit.id if unit else None,
            )
        )
        created += 1
    await session.flush()
    return created
