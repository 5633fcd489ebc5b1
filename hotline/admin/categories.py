"""Changes to the category tree (3 levels) by the system admin; every change is audited."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.admin.schemas import CategoryCreate, CategoryUpdate
from hotline.audit.service import record
from hotline.auth.service import CurrentUser
from hotline.categories import Category
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.units.models import Unit

MAX_LEVEL = 3


async def _check_unit(session: AsyncSession, unit_id: int | None) -> None:
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise InvalidInput("默认承办单位不存在", f"unit {unit_id} not found")


async def create_category(
    session: AsyncSession, *, data: CategoryCreate, actor: CurrentUser, client_ip: str | None
) -> Category:
    """Add a category under a parent (or at the top), at most three levels deep."""
    parent = await session.get(Category, data.parent_id) if data.parent_id is not None else None
    if data.parent_id is not None and parent is None:
        raise InvalidInput("上级分类不存在", f"category {data.parent_id} not found")
    level = parent.level + 1 if parent else 1
    if level > MAX_LEVEL:
        raise InvalidInput("分类最多三级", "categories have at most three levels")
    if await session.scalar(select(Category.id).where(col(Category.code) == data.code)) is not None:
        raise Conflict("分类编码已存在", f"category code {data.code} is taken")
    await _check_unit(session, data.default_unit_id)
    category = Category(
        code=data.code, name=data.name, level=level, parent_id=data.parent_id, default_unit_id=data.default_unit_id
    )
    session.add(category)
    await session.flush()
    _audit(session, "category.created", actor, category, data.model_dump(), client_ip)
    return category


async def update_category(
    session: AsyncSession, *, category_id: int, data: CategoryUpdate, actor: CurrentUser, client_ip: str | None
) -> Category:
    """Rename a category, change its default unit, or take it out of use (kept for past orders)."""
    category = await session.get(Category, category_id)
    if category is None:
        raise NotFound("分类不存在", f"category {category_id} not found")
    changes = data.model_dump(exclude_unset=True)
    if "default_unit_id" in changes:
        await _check_unit(session, data.default_unit_id)
        category.default_unit_id = data.default_unit_id
    if data.name is not None:
        category.name = data.name
    if data.is_active is not None:
        category.is_active = data.is_active
    session.add(category)
    await session.flush()
    _audit(session, "category.updated", actor, category, changes, client_ip)
    return category


def _audit(
    session: AsyncSession,
    action: str,
    actor: CurrentUser,
    category: Category,
    detail: dict[str, object],
    ip: str | None,
) -> None:
    record(
        session,
        action=action,
        actor_id=actor.id,
        actor_username=actor.username,
        object_type="category",
        object_id=category.id,
        detail=dict(detail),
        client_ip=ip,
    )
