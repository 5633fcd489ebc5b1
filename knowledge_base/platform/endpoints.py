"""The platform link over HTTP: the signed events webhook, case status lookup, cases and results of an order."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hotline.auth.models import Role
from hotline.channels import intake as channel_intake
from hotline.channels.inputs import read_body
from hotline.db_types import utcnow
from hotline.deps import DB, AppSettings, User
from hotline.errors import Forbidden, NotFound
from hotline.tickets import repository as tickets
from knowledge_base.platform import events, results, signing
from knowledge_base.platform.client import CaseStatus, PlatformClient

webhook = APIRouter(prefix="/channels/platform", tags=["channels"])
api = APIRouter(prefix="/api/v1", tags=["approval platform"])
PUSHERS = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})
READERS = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.DEPARTMENT_STAFF})


class CaseLink(BaseModel):
    id: int
    application_no: str
    item_code: str | None
    item_name: str | None
    result_pushed_at: datetime | None
    created_at: datetime


@webhook.post("/events")
async def platform_event(request: Request, db: DB, settings: AppSettings) -> JSONResponse:
    """A bad review or 办不成事 report from the platform: signed, stored once by event id, made an order."""
    body = await read_body(request, settings.channel_max_body_bytes)
    secret = settings.platform_secret.get_secret_value() if settings.platform_secret else None
    signing.verify(
        secret,
        request.headers,
        method="POST",
        target=_target(request),
        body=body,
        window_seconds=settings.platform_timestamp_window_seconds,
    )
    event = events.parse(body)
    async with db.session() as session:
        receipt = await events.receive(
            session, event, attach_window=channel_intake.attach_window(settings), now=utcnow()
        )
    return JSONResponse(
        {
            "accepted": True,
            "duplicate": receipt.duplicate,
            "ticket_id": receipt.ticket_id,
            "ticket_number": receipt.ticket_number,
        }
    )


def _target(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@api.get("/platform/cases/{application_no}", response_model=CaseStatus)
async def case_status(application_no: str, user: User, settings: AppSettings) -> CaseStatus:
    """The case's status on the platform (办件查询), for the operator on the phone with the applicant."""
    _require(user.role, READERS)
    return await PlatformClient(settings).case_status(application_no)


@api.get("/tickets/{ticket_id}/platform-cases", response_model=list[CaseLink])
async def ticket_cases(ticket_id: int, user: User, db: DB) -> list[CaseLink]:
    """The platform cases an order is about."""
    async with db.read_session() as session:
        if await tickets.get_visible(session, ticket_id=ticket_id, user=user) is None:
            raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
        cases = await results.cases_of(session, ticket_id=ticket_id)
    return [CaseLink.model_validate(case, from_attributes=True) for case in cases]


@api.post("/tickets/{ticket_id}/platform-result", response_model=list[CaseLink])
async def push_result(ticket_id: int, user: User, db: DB) -> list[CaseLink]:
    """Push the order's approved result to its platform cases (queued; delivered and retried by the outbox)."""
    _require(user.role, PUSHERS)
    async with db.session() as session:
        ticket = await tickets.get_visible(session, ticket_id=ticket_id, user=user, lock=True)
        if ticket is None:
            raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
        cases = await results.push_result(session, ticket=ticket, now=utcnow())
        return [CaseLink.model_validate(case, from_attributes=True) for case in cases]


def _require(role: Role, allowed: frozenset[Role]) -> None:
    if role not in allowed:
        raise Forbidden("当前角色无权访问", f"role {role} may not use this endpoint")
