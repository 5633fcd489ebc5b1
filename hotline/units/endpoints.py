"""``/api/v1/units``: the handling units."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.deps import DB, User, audit, require_roles
from hotline.errors import InvalidInput
from hotline.supervision.calendars import parse_hours
from hotline.units import repository, service
from hotline.units.models import Unit, UnitKind


class UnitPublic(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    short_names: list[str]
    business_hours: list[str] | None
    is_active: bool


class BusinessHoursIn(BaseModel):
    spans: list[str] | None = Field(default=None, max_length=6, description='e.g. ["08:30-12:00", "14:30-18:00"]')


UnitName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=128)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class UnitIn(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="a stable code, e.g. liangyuan_xinhua")
    name: UnitName
    kind: UnitKind
    parent_id: int | None = Field(default=None, description="a district for a street, a street for a community")
    short_names: list[ShortName] = Field(default_factory=list, max_length=8, description="how people call it")


class UnitUpdate(BaseModel):
    name: UnitName | None = None
    short_names: list[ShortName] | None = Field(default=None, max_length=8)
    is_active: bool | None = Field(default=None, description="false takes it out of use once it has no work left")


SystemAdmin = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))]
TREE_READERS = frozenset({Role.SYSTEM_ADMIN, Role.AUDITOR})

router = APIRouter(prefix="/api/v1/units", tags=["units"])


def unit_public(unit: Unit) -> UnitPublic:
    assert unit.id is not None
    return UnitPublic(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=unit.kind,
        parent_id=unit.parent_id,
        short_names=list(unit.short_names),
        business_hours=unit.business_hours,
        is_active=unit.is_active,
    )


@router.get("", response_model=list[UnitPublic])
async def list_units(user: User, db: DB, kind: str | None = None, include_inactive: bool = False) -> list[UnitPublic]:
    """The unit tree as a flat list (``parent_id`` links children to parents); administrators and auditors
    may ask for the units out of use too."""
    async with db.read_session() as session:
        units = await repository.all_units(
            session, kind=kind, include_inactive=include_inactive and user.role in TREE_READERS
        )
        return [unit_public(u) for u in units]


@router.post("", response_model=UnitPublic, status_code=201)
async def add_unit(body: UnitIn, request: Request, user: SystemAdmin, db: DB) -> UnitPublic:
    """Add a unit: a city bureau, district or utility at the top; a street under a district; a community
    under a street. Routing proposals see it within ``HOTLINE_ROUTING_REFRESH_SECONDS`` on other instances."""
    async with db.session() as session:
        unit = await service.create_unit(
            session,
            code=body.code,
            name=body.name,
            kind=body.kind,
            parent_id=body.parent_id,
            short_names=body.short_names,
        )
        _audit(session, request, user, "unit.added", unit, body.model_dump(mode="json"))
        result = unit_public(unit)
    request.app.state.routing.invalidate()
    return result


@router.patch("/{unit_id}", response_model=UnitPublic)
async def change_unit(unit_id: int, body: UnitUpdate, request: Request, user: SystemAdmin, db: DB) -> UnitPublic:
    """Rename a unit, change its short names, or take it out of use (409 while it still has work)."""
    async with db.session() as session:
        before = unit_public(await service.get_unit(session, unit_id))
        unit = await service.update_unit(
            session, unit_id=unit_id, name=body.name, short_names=body.short_names, is_active=body.is_active
        )
        after = unit_public(unit)
        changed = {
            field: {"from": getattr(before, field), "to": getattr(after, field)}
            for field in ("name", "short_names", "is_active")
            if getattr(before, field) != getattr(after, field)
        }
        if changed:
            _audit(session, request, user, "unit.changed", unit, changed)
    if changed:
        request.app.state.routing.invalidate()
    return after


@router.put("/{unit_id}/business-hours", response_model=UnitPublic)
async def set_business_hours(
    unit_id: int, body: BusinessHoursIn, request: Request, user: SystemAdmin, db: DB
) -> UnitPublic:
    """Set a unit's working hours (its deadlines count only these); null restores the hotline's hours."""
    if body.spans:
        try:
            parse_hours(body.spans)
        except ValueError as exc:
            raise InvalidInput(f"办公时间格式有误：{exc}", f"invalid business hours: {exc}") from exc
    async with db.session() as session:
        unit = await service.get_unit(session, unit_id)
        before = unit.business_hours
        unit.business_hours = body.spans or None
        _audit(session, request, user, "unit.business_hours_set", unit, {"from": before, "to": unit.business_hours})
        return unit_public(unit)


def _audit(
    session: AsyncSession, request: Request, user: CurrentUser, action: str, unit: Unit, detail: dict[str, Any]
) -> None:
    audit(
        session,
        request,
        user,
        action=action,
        object_type="unit",
        object_id=unit.id,
        detail=detail,
    )
