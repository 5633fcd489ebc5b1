"""API shapes of the supervisor dashboard's aggregates."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from hotline.timefmt import LocalDateTime


class Series(BaseModel):
    """One line of a chart: a channel, a top-level category or a district, counted per day."""

    key: str
    label: str
    counts: list[int] = Field(description="one count per day of ``days``")
    total: int


class Volumes(BaseModel):
    days: list[date] = Field(description="local (China) calendar days, oldest first")
    total: int
    by_channel: list[Series]
    by_category: list[Series] = Field(description="top-level categories, largest first")
    by_territory: list[Series] = Field(
        description=(
            "districts and counties (of the order's territory, else of the place routing located in its text, "
            "else of its lead unit), largest first"
        )
    )


class HotTopic(BaseModel):
    """A second-level category that many people raise now, compared with the period before."""

    category_id: int
    path: str
    count: int
    previous: int
    growth: float | None = Field(description="relative change against the previous period; null when it was 0")


class Workload(BaseModel):
    open: int
    overdue: int
    warning: int
    yellow_card: int
    red_card: int


class Dashboard(BaseModel):
    volumes: Volumes
    hot_topics: list[HotTopic]
    hot_days: int
    workload: Workload


class ExtensionRequest(BaseModel):
    """An order whose unit asked for more time (延期), waiting for a supervisor."""

    ticket_id: int
    number: str
    title: str
    lead_unit_name: str | None
    due_at: LocalDateTime | None
    requested_due_at: LocalDateTime | None
    reason: str | None
    requested_at: LocalDateTime | None
