"""``/api/v1/units``: the handling units."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from hotline.deps import DB, User
from hotline.units import repository
from hotline.units.models import Unit


class UnitPublic(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    short_names: list[str]


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
    )


@router.get("", response_model=list[UnitPublic])
async def list_units(_: User, db: DB, kind: str | None = None) -> list[UnitPublic]:
    """The unit tree as a flat list (``parent_id`` links children to parents)."""
    async with db.read_session() as session:
        return [unit_public(u) for u in await repository.all_units(session, kind=kind)]
