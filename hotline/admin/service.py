"""Accounts and roles, kept apart from the hotline's work (三权分立); every change is audited."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.admin.schemas import UserCreate, UserUpdate
from hotline.audit.service import record
from hotline.auth.models import Role, User
from hotline.auth.passwords import hash_password
from hotline.auth.service import CurrentUser
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.units.models import Unit


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(col(User.username)))).scalars())


async def _check_unit(session: AsyncSession, role: Role, unit_id: int | None) -> None:
    """Department staff belong to a unit; every other role belongs to none."""
    if role == Role.DEPARTMENT_STAFF:
        if unit_id is None or await session.get(Unit, unit_id) is None:
            raise InvalidInput("承办人员必须属于一个有效单位", "department staff need an existing unit")
    elif unit_id is not None:
        raise InvalidInput("只有承办人员可以设置所属单位", "only department staff belong to a unit")


async def create_user(session: AsyncSession, *, data: UserCreate, actor: CurrentUser, client_ip: str | None) -> User:
    """Open an account; the username must be new."""
    taken = await session.scalar(select(User.id).where(col(User.username) == data.username))
    if taken is not None:
        raise Conflict("用户名已存在", f"username {data.username} is taken")
    await _check_unit(session, data.role, data.unit_id)
    user = User(
        username=data.username,
        display_name=data.display_name,
        role=data.role,
        unit_id=data.unit_id,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    await session.flush()
    detail = {"username": user.username, "role": user.role, "unit_id": user.unit_id}
    _audit(session, "user.created", actor, user, detail, client_ip)
    return user


async def update_user(
    session: AsyncSession, *, user_id: int, data: UserUpdate, actor: CurrentUser, client_ip: str | None
) -> User:
    """Change a user's name, role, unit or whether the account may log in."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在", f"user {user_id} not found")
    changes = {key: value for key, value in data.model_dump(exclude_unset=True).items() if value is not None}
    if "unit_id" in data.model_fields_set and data.unit_id is None:
        changes["unit_id"] = None  # taking the user out of their unit
    if user.id == actor.id and (changes.get("is_active") is False or "role" in changes):
        raise Conflict("不能停用自己或修改自己的角色", "you cannot deactivate yourself or change your own role")
    role = Role(changes.get("role", user.role))
    unit_id = changes["unit_id"] if "unit_id" in changes else user.unit_id
    if "role" in changes and role != Role.DEPARTMENT_STAFF and "unit_id" not in changes:
        unit_id = None  # leaving a department leaves its unit
    await _check_unit(session, role, unit_id)
    before = {"role": user.role, "unit_id": user.unit_id, "is_active": user.is_active}
    user.role, user.unit_id = role, unit_id
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.is_active is not None:
        user.is_active = data.is_active
    session.add(user)
    await session.flush()
    after = {"role": user.role, "unit_id": user.unit_id, "is_active": user.is_active}
    _audit(session, "user.updated", actor, user, {"before": before, "after": after}, client_ip)
    return user


def _audit(
    session: AsyncSession, action: str, actor: CurrentUser, user: User, detail: Mapping[str, object], ip: str | None
) -> None:
    record(
        session,
        action=action,
        actor_id=actor.id,
        actor_username=actor.username,
        object_type="user",
        object_id=user.id,
        detail=dict(detail),
        client_ip=ip,
    )
