"""The unit table."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class UnitKind(StrEnum):
    HOTLINE_CENTER = "hotline_center"
    CITY_BUREAU = "city_bureau"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    UTILITY = "utility"


# The kinds of unit an order can lie in (属地): the places, as against the bureaus and companies.
TERRITORY_KINDS = frozenset({UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY})


class Unit(SQLModel, table=True):
    """A handling unit; ``path`` (``/1/7/42/``) makes "this unit and its children" one prefix query."""

    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    parent_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    path: str = Field(default="/", max_length=255, index=True)
    short_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = Field(default=True)
    # Working hours of the unit, e.g. ["08:30-12:00", "14:30-18:00"]; none: the hotline's default hours.
    business_hours: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
