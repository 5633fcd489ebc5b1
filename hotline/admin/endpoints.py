"""``/api/v1/admin``: accounts and roles, the category tree, the channels' configuration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.admin import categories, channels, service
from hotline.admin.schemas import (
    CategoryCreate,
    CategoryUpdate,
    CategoryView,
    ChannelStatus,
    RoleView,
    UserCreate,
    UserUpdate,
    UserView,
)
from hotline.auth.models import ROLE_LABELS_ZH, USER_ROLES, Role, User
from hotline.auth.service import CurrentUser
from hotline.categories import Category
from hotline.db_types import utcnow
from hotline.deps import DB, AppSettings, client_ip, require_roles
from hotline.units.repository import units_by_id

router = APIRouter(prefix="/api/v1", tags=["admin"])
SystemAdmin = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))]
SecurityAdmin = Annotated[CurrentUser, Depends(require_roles(Role.SECURITY_ADMIN))]
AccountReader = Annotated[CurrentUser, Depends(require_roles(Role.SECURITY_ADMIN, Role.AUDITOR))]
Admins = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR))]
Staff = Annotated[
    CurrentUser,
    Depends(require_roles(*(USER_ROLES - {Role.SECURITY_ADMIN}))),
]


async def _views(session: AsyncSession, users: list[User]) -> list[UserView]:
    units = await units_by_id(session, [u.unit_id for u in users])
    now = utcnow()
    return [
        UserView(
            id=u.id or 0,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            role_label=ROLE_LABELS_ZH.get(Role(u.role), u.role),
            unit_id=u.unit_id,
            unit_name=units[u.unit_id].name if u.unit_id in units else None,
            is_active=u.is_active,
            locked=u.locked_until is not None and u.locked_until > now,
            created_at=u.created_at,
        )
        for u in users
    ]


@router.get("/admin/roles", response_model=list[RoleView])
async def roles(_: Admins) -> list[RoleView]:
    """The roles an account can have, with their Chinese names."""
    return [RoleView(role=r, label=ROLE_LABELS_ZH[r]) for r in Role if r in USER_ROLES]


@router.get("/admin/users", response_model=list[UserView])
async def list_users(_: AccountReader, db: DB) -> list[UserView]:
    """Every account with its role, unit and whether it may log in."""
    async with db.read_session() as session:
        return await _views(session, await service.list_users(session))


@router.post("/admin/users", response_model=UserView, status_code=201)
async def create_user(body: UserCreate, user: SecurityAdmin, db: DB, request: Request) -> UserView:
    """Open an account (security admin only; audited)."""
    async with db.session() as session:
        created = await service.create_user(session, data=body, actor=user, client_ip=client_ip(request))
        return (await _views(session, [created]))[0]


@router.patch("/admin/users/{user_id}", response_model=UserView)
async def update_user(user_id: int, body: UserUpdate, user: SecurityAdmin, db: DB, request: Request) -> UserView:
    """Change an account's role, unit, name or whether it is active (security admin only; audited)."""
    async with db.session() as session:
        updated = await service.update_user(
            session, user_id=user_id, data=body, actor=user, client_ip=client_ip(request)
        )
        return (await _views(session, [updated]))[0]


@router.get("/categories", response_model=list[CategoryView])
async def list_categories(_: Staff, db: DB) -> list[CategoryView]:
    """The category tree, parents before children, each with its full path."""
    async with db.read_session() as session:
        rows = list((await session.execute(select(Category).order_by(col(Category.level), col(Category.id)))).scalars())
    return sorted(_category_views(rows), key=lambda v: v.path)


def _category_views(rows: list[Category], known: list[Category] | None = None) -> list[CategoryView]:
    by_id = {c.id: c for c in (known or rows)}

    def path(category: Category) -> str:
        names = [category.name]
        while category.parent_id in by_id:
            category = by_id[category.parent_id]
            names.append(category.name)
        return " / ".join(reversed(names))

    return [
        CategoryView(
            id=c.id or 0,
            code=c.code,
            name=c.name,
            path=path(c),
            level=c.level,
            parent_id=c.parent_id,
            default_unit_id=c.default_unit_id,
            is_active=c.is_active,
        )
        for c in rows
    ]


async def _category_view(session: AsyncSession, category: Category) -> CategoryView:
    every = list((await session.execute(select(Category))).scalars())
    return _category_views([category], every)[0]


@router.post("/categories", response_model=CategoryView, status_code=201)
async def create_category(body: CategoryCreate, user: SystemAdmin, db: DB, request: Request) -> CategoryView:
    """Add a category (system admin only; audited); proposals use it from the next index refresh."""
    async with db.session() as session:
        category = await categories.create_category(session, data=body, actor=user, client_ip=client_ip(request))
        view = await _category_view(session, category)
    request.app.state.routing.invalidate()
    return view


@router.patch("/categories/{category_id}", response_model=CategoryView)
async def update_category(
    category_id: int, body: CategoryUpdate, user: SystemAdmin, db: DB, request: Request
) -> CategoryView:
    """Rename a category, change its default unit or take it out of use (system admin only; audited)."""
    async with db.session() as session:
        category = await categories.update_category(
            session, category_id=category_id, data=body, actor=user, client_ip=client_ip(request)
        )
        view = await _category_view(session, category)
    request.app.state.routing.invalidate()
    return view


@router.get("/admin/channels", response_model=list[ChannelStatus])
async def channel_settings(_: Admins, settings: AppSettings) -> list[ChannelStatus]:
    """Which channels are configured (from the environment), with every secret masked."""
    return channels.statuses(settings)
