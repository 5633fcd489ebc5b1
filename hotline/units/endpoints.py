"""``/api/v1/units``: the handling units."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.deps import DB, User, require_roles
from hotline.errors import InvalidInput, NotFound
from hotline.supervision.calendars import parse_hours
from hotline.units import repository
from hotline.units.models import Unit


class UnitPublic(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    short_names: list[str]
    business_hours: list[str] | None


class BusinessHoursIn(BaseModel):
    spans: list[str] | None = Field(default=None, max_length=6, description='e.g. ["08:30-12:00", "14:30-18:00"]')


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
    )


@router.get("", response_model=list[UnitPublic])
async def list_units(_: User, db: DB, kind: str | None = None) -> list[UnitPublic]:
    """The unit tree as a flat list (``parent_id`` links children to parents)."""
    async with db.read_session() as session:
        return [unit_public(u) for u in await repository.all_units(session, kind=kind)]


@router.put("/{unit_id}/business-hours", response_model=UnitPublic)
async def set_business_hours(
    unit_id: int, body: BusinessHoursIn, _: Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))], db: DB
) -> UnitPublic:
    """Set a unit's working hours (its deadlines count only these); null restores the hotline's hours."""
    if body.spans:
        try:
            parse_hours(body.spans)
        except ValueError as exc:
            raise InvalidInput(f"办公时间格式有误：{exc}", f"invalid business hours: {exc}") from exc
    async with db.session() as session:
        unit = (await repository.units_by_id(session, [unit_id])).get(unit_id)
        if unit is None:
            raise NotFound("单位不存在", f"unit {unit_id} not found")
        unit.business_hours = body.spans or None
        return unit_public(unit)
