"""Who may do what to an order, through the HTTP API, and who may see a confidential citizen.

The expected answers are written out here from the rules of SPEC sections 1 and 2, not taken from the
product's own rule table: 200 for the people whose job the action is, 403 for everyone else who can see
the order, 404 for department staff who cannot see it at all, 401 without a token.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.audit.models import AuditEntry
from hotline.auth.models import User
from hotline.auth.service import open_session
from hotline.config import Settings
from hotline.db import Database
from hotline.tickets import service
from hotline.tickets.lifecycle import Action
from hotline.tickets.schemas import TicketCreate
from tests.conftest import City, as_current, login

HOTLINE = ("operator1", "dispatcher1", "supervisor1")
ADMINS = ("admin1", "security1")
LEAD_DEPT = "dept_liangyuan1"  # 梁园区, the lead unit of every order below
CHILD_DEPT = "dept_pingyuan1"  # 平原街道, a street under 梁园区: not the lead unit
ASSISTING_DEPT = "dept_suiyang1"  # 睢阳区, the assisting unit of every dispatched order below
OTHER_DEPT = "dept_zhujian1"  # 市住建局, unrelated to the orders
PEOPLE = (*HOTLINE, *ADMINS, "auditor1", LEAD_DEPT, CHILD_DEPT, ASSISTING_DEPT, OTHER_DEPT)

# The state each action's order is prepared in: the state from which the action is legal.
PREPARED_IN = {
    "dispatch": "registered",
    "answer-directly": "registered",
    "accept": "dispatched",
    "return": "dispatched",
    "approve-return": "return_review",
    "reject-return": "return_review",
    "request-extension": "in_progress",
    "approve-extension": "extension_pending",
    "reject-extension": "extension_pending",
    "sub-dispatch": "in_progress",
    "assist-reply": "in_progress",
    "reply": "in_progress",
    "approve-reply": "reply_review",
    "reject-reply": "reply_review",
    "close": "replied",
    "rework": "closed",
    "archive": "closed",
    "merge": "dispatched",
}
# Every order is led by 梁园区 with 睢阳区 assisting once dispatched. 200: the action is this person's job.
# 403: the person may see the order but not do this (wrong role, or a department that is not the lead or
# assisting unit the action needs). 404: a department that cannot see the order at all (a registered order has
# no unit yet; a street below the lead unit and an unrelated bureau never see the district's order).
# fmt: off
EXPECTED_TABLE: dict[str, tuple[int, ...]] = {
    #                   operator dispatcher supervisor admin security auditor lead child assisting other
    "dispatch":          (200,   200,       403,       403,  403,     403,    404, 404,  404,      404),
    "answer-directly":   (200,   200,       403,       403,  403,     403,    404, 404,  404,      404),
    "accept":            (403,   403,       403,       403,  403,     403,    200, 404,  403,      404),
    "return":            (403,   403,       403,       403,  403,     403,    200, 404,  403,      404),
    "approve-return":    (403,   200,       403,       403,  403,     403,    403, 404,  403,      404),
    "reject-return":     (403,   200,       403,       403,  403,     403,    403, 404,  403,      404),
    "request-extension": (403,   403,       403,       403,  403,     403,    200, 404,  403,      404),
    "approve-extension": (403,   403,       200,       403,  403,     403,    403, 404,  403,      404),
    "reject-extension":  (403,   403,       200,       403,  403,     403,    403, 404,  403,      404),
    "sub-dispatch":      (403,   403,       403,       403,  403,     403,    200, 404,  403,      404),
    "assist-reply":      (403,   403,       403,       403,  403,     403,    403, 404,  200,      404),
    "reply":             (403,   403,       403,       403,  403,     403,    200, 404,  403,      404),
    "approve-reply":     (403,   403,       200,       403,  403,     403,    403, 404,  403,      404),
    "reject-reply":      (403,   403,       200,       403,  403,     403,    403, 404,  403,      404),
    "close":             (200,   403,       200,       403,  403,     403,    403, 404,  403,      404),
    "rework":            (403,   403,       200,       403,  403,     403,    403, 404,  403,      404),
    "archive":           (403,   403,       200,       403,  403,     403,    403, 404,  403,      404),
    "merge":             (200,   200,       403,       403,  403,     403,    403, 404,  403,      404),
}
# fmt: on
EXPECTED: dict[str, dict[str, int]] = {
    action: dict(zip(PEOPLE, row, strict=True)) for action, row in EXPECTED_TABLE.items()
}
ACTIONS = list(EXPECTED_TABLE)
ADMIN_CELLS = {(action, person) for action in ACTIONS for person in ADMINS}

FAR_FUTURE = "2099-12-31T17:00:00+08:00"
TEXT = "已核实，按规定处理"


def body_for(action: str, city: City, merge_target: int) -> dict[str, Any] | None:
    """A valid request body for each action endpoint."""
    return {
        "dispatch": {"lead_unit_id": city.unit("liangyuan").id},
        "answer-directly": {"answer": "可在政务服务网办理"},
        "return": {"reason": "不属于本单位职责", "reason_code": "not_ours"},
        "reject-return": {"reason": TEXT},
        "request-extension": {"reason": "需协调多部门", "requested_due_at": FAR_FUTURE},
        "reject-extension": {"reason": TEXT},
        "sub-dispatch": {"unit_id": city.unit("liangyuan_pingyuan").id, "note": "请平原街道现场核实"},
        "assist-reply": {"reply": "已配合核查"},
        "reply": {"reply": "已修复路灯"},
        "reject-reply": {"reason": TEXT},
        "rework": {"reason": "诉求人不满意，理由成立"},
        "merge": {"target_id": merge_target, "reason": "重复诉求"},
    }.get(action)


# Preparing orders through the service layer, as the staff would have.


class Desk:
    """Puts orders into a given state by taking the usual steps, in one unit of work each."""

    def __init__(self, db: Database, city: City, staff: dict[str, User]) -> None:
        self.db, self.city = db, city
        self.users = {
            name: as_current(user, next((u for u in city.units.values() if u.id == user.unit_id), None))
            for name, user in staff.items()
        }

    async def create(self, **fields: Any) -> int:
        data = TicketCreate(**{"citizen_phone": "13800138000", "content": "平原路路灯不亮", **fields})
        async with self.db.session() as session:
            ticket = await service.create_ticket(session, data=data, actor=service.actor_of(self.users["operator1"]))
            assert ticket.id is not None
            return ticket.id

    async def act(self, ticket_id: int, who: str, action: Action, text: str | None = None, **params: Any) -> None:
        async with self.db.session() as session:
            await service.act(
                session, ticket_id=ticket_id, user=self.users[who], action=action, text=text, params=params
            )

    async def order_in(self, state: str) -> int:
        ticket_id = await self.create()
        steps: list[tuple[str, Action, str | None, dict[str, Any]]] = [
            (
                "dispatcher1",
                Action.DISPATCH,
                None,
                {"lead_unit_id": self.city.unit("liangyuan").id, "assisting_unit_ids": [self.city.unit("suiyang").id]},
            ),
            ("dept_liangyuan1", Action.ACCEPT, None, {}),
            ("dept_liangyuan1", Action.REPLY, "已修复", {}),
            ("supervisor1", Action.APPROVE_REPLY, None, {}),
            ("operator1", Action.CLOSE, None, {}),
        ]
        upto = {
            "registered": 0,
            "dispatched": 1,
            "in_progress": 2,
            "extension_pending": 2,
            "reply_review": 3,
            "replied": 4,
            "closed": 5,
            "return_review": 1,
        }[state]
        for who, action, text, params in steps[:upto]:
            await self.act(ticket_id, who, action, text, **params)
        if state == "return_review":
            await self.act(ticket_id, "dept_liangyuan1", Action.RETURN, "不属于本单位职责")
        if state == "extension_pending":
            requested = datetime.now().astimezone() + timedelta(days=60)
            await self.act(ticket_id, "dept_liangyuan1", Action.REQUEST_EXTENSION, "需协调", requested_due_at=requested)
        return ticket_id


@pytest.fixture
async def desk(db: Database, city: City, staff: dict[str, User]) -> Desk:
    return Desk(db, city, staff)


@pytest.fixture
async def tokens(db: Database, settings: Settings, staff: dict[str, User]) -> dict[str, dict[str, str]]:
    """A bearer token per person, opened the way a login opens one (without paying argon2 ten times per test)."""
    headers = {}
    async with db.session() as session:
        for name, user in staff.items():
            token = await open_session(session, settings=settings, user=user, kind="api", client_ip=None)
            headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


async def _version(client: httpx.AsyncClient, headers: dict[str, str], ticket_id: int) -> tuple[str, int, int]:
    detail = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)).json()
    return detail["status"], detail["version"], len(detail["events"])


@pytest.mark.parametrize("action", ACTIONS)
async def test_permission_matrix(
    action: str, app_client: httpx.AsyncClient, desk: Desk, city: City, tokens: dict[str, dict[str, str]]
) -> None:
    state = PREPARED_IN[action]
    shared = await desk.order_in(state)  # refusals change nothing, so everyone refused can share one order
    target = await desk.create(content="同一路段路灯不亮（重复来电）")
    before = await _version(app_client, tokens["operator1"], shared)

    async def call(person: str | None, ticket_id: int) -> int:
        response = await app_client.post(
            f"/api/v1/tickets/{ticket_id}/{action}",
            headers=tokens[person] if person else {},
            json=body_for(action, city, target),
        )
        if response.status_code != 200:
            assert response.json()["code"] in ("forbidden", "not_found", "not_authenticated"), response.text
        return response.status_code

    actual = {}
    for person in PEOPLE:
        expected = EXPECTED[action][person]
        actual[person] = await call(person, await desk.order_in(state) if expected == 200 else shared)
    assert actual == EXPECTED[action]
    assert await call(None, shared) == 401
    assert await _version(app_client, tokens["operator1"], shared) == before  # the refusals wrote nothing


async def test_admin_roles_are_refused_every_action_with_403(
    app_client: httpx.AsyncClient, desk: Desk, city: City, tokens: dict[str, dict[str, str]]
) -> None:
    ticket_id = await desk.order_in("dispatched")
    assert (await app_client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["admin1"])).status_code == 403
    actual = {
        (action, person): (
            await app_client.post(
                f"/api/v1/tickets/{ticket_id}/{action}", headers=tokens[person], json=body_for(action, city, 0)
            )
        ).status_code
        for action in ACTIONS
        for person in ADMINS
    }
    assert actual == {cell: EXPECTED[cell[0]][cell[1]] for cell in ADMIN_CELLS}


async def test_every_action_needs_a_login(app_client: httpx.AsyncClient, desk: Desk) -> None:
    ticket_id = await desk.order_in("dispatched")
    for action in ACTIONS:
        for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
            response = await app_client.post(f"/api/v1/tickets/{ticket_id}/{action}", headers=headers, json={})
            assert response.status_code == 401, (action, response.text)
    for path in ("", f"/{ticket_id}", f"/{ticket_id}/citizen"):
        assert (await app_client.get(f"/api/v1/tickets{path}")).status_code == 401


async def test_real_login_tokens_get_the_same_answers(app_client: httpx.AsyncClient, desk: Desk) -> None:
    ticket_id = await desk.order_in("dispatched")
    dept = await login(app_client, LEAD_DEPT)
    other = await login(app_client, OTHER_DEPT)
    assert (
        await app_client.post(f"/api/v1/tickets/{ticket_id}/dispatch", headers=dept, json={"lead_unit_id": 1})
    ).status_code == 403
    assert (await app_client.post(f"/api/v1/tickets/{ticket_id}/accept", headers=other)).status_code == 404
    assert (await app_client.post(f"/api/v1/tickets/{ticket_id}/accept", headers=dept)).status_code == 200
    again = await app_client.post(f"/api/v1/tickets/{ticket_id}/accept", headers=dept)
    assert again.status_code == 409  # allowed for this person, not from this state
    assert again.json()["code"] == "conflict" and "办理中" in again.json()["message_zh"]
    assert "in_progress" in again.json()["message_en"]
    events = (await app_client.get(f"/api/v1/tickets/{ticket_id}", headers=dept)).json()["events"]
    assert [e["type"] for e in events] == ["create", "dispatch", "accept"]


# Seeing orders and citizens.

PHONE = "13912345678"
NAME = "王秀英"


def leaks(payload: Any) -> list[str]:
    """Any form of the confidential citizen's phone number or name in a JSON document."""
    dumped = json.dumps(payload, ensure_ascii=False)
    return [form for form in (PHONE, "+86" + PHONE, PHONE[3:], NAME) if form in dumped]


async def _confidential_order(desk: Desk, **fields: Any) -> int:
    ticket_id = await desk.create(
        citizen_phone=PHONE, citizen_name=NAME, content="举报某小区违规排放污水", address="梁园区平原路88号", **fields
    )
    await desk.act(ticket_id, "dispatcher1", Action.DISPATCH, lead_unit_id=desk.city.unit("liangyuan").id)
    await desk.act(ticket_id, LEAD_DEPT, Action.ACCEPT)
    return ticket_id


CONFIDENTIAL = [
    pytest.param({"request_type": "report"}, id="report"),
    pytest.param({"confidential": True}, id="on-request"),
]


@pytest.mark.parametrize("fields", CONFIDENTIAL)
async def test_the_lead_department_sees_a_confidential_order_without_its_citizen(
    fields: dict[str, Any], app_client: httpx.AsyncClient, desk: Desk, tokens: dict[str, dict[str, str]]
) -> None:
    ticket_id = await _confidential_order(desk, **fields)
    dept = tokens[LEAD_DEPT]
    detail = await app_client.get(f"/api/v1/tickets/{ticket_id}", headers=dept)
    assert detail.status_code == 200
    assert detail.json()["confidential"] is True and detail.json()["citizen"] is None
    assert leaks(detail.json()) == []
    for query in ({}, {"q": "污水"}, {"q": PHONE}):
        listed = await app_client.get("/api/v1/tickets", headers=dept, params=query)
        assert listed.status_code == 200 and leaks(listed.json()) == []
    assert ticket_id in [
        t["id"] for t in (await app_client.get("/api/v1/tickets", headers=dept, params={"q": "污水"})).json()["items"]
    ]
    replied = await app_client.post(f"/api/v1/tickets/{ticket_id}/reply", headers=dept, json={"reply": "已责令整改"})
    assert replied.status_code == 200 and leaks(replied.json()) == []
    assert leaks(replied.json()["events"]) == []
    citizen = await app_client.get(f"/api/v1/tickets/{ticket_id}/citizen", headers=dept)
    assert citizen.status_code == 403 and leaks(citizen.json()) == []


async def test_a_confidential_order_handed_down_stays_confidential(
    app_client: httpx.AsyncClient, desk: Desk, tokens: dict[str, dict[str, str]]
) -> None:
    ticket_id = await _confidential_order(desk, request_type="report")
    handed = await app_client.post(
        f"/api/v1/tickets/{ticket_id}/sub-dispatch",
        headers=tokens[LEAD_DEPT],
        json={"unit_id": desk.city.unit("liangyuan_pingyuan").id, "note": "请现场核实"},
    )
    assert handed.status_code == 200
    (child_id,) = handed.json()["children"]
    child = await app_client.get(f"/api/v1/tickets/{child_id}", headers=tokens[CHILD_DEPT])
    assert child.status_code == 200
    assert child.json()["confidential"] is True and child.json()["citizen"] is None and leaks(child.json()) == []
    page = await app_client.get("/api/v1/tickets", headers=tokens[CHILD_DEPT])
    assert [t["id"] for t in page.json()["items"]] == [child_id] and leaks(page.json()) == []


@pytest.mark.parametrize("fields", CONFIDENTIAL)
async def test_hotline_staff_see_a_confidential_citizen_masked(
    fields: dict[str, Any], app_client: httpx.AsyncClient, desk: Desk, tokens: dict[str, dict[str, str]]
) -> None:
    ticket_id = await _confidential_order(desk, **fields)
    for person in (*HOTLINE, "auditor1"):
        detail = (await app_client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens[person])).json()
        citizen = detail["citizen"]
        assert citizen["masked"] is True
        assert citizen["phones"] == ["+86139****5678"]
        assert leaks(detail) == [], person


async def test_revealing_a_confidential_citizen_is_for_the_hotline_and_audited(
    app_client: httpx.AsyncClient, desk: Desk, db: Database, tokens: dict[str, dict[str, str]]
) -> None:
    ticket_id = await _confidential_order(desk, request_type="report")

    async def audited() -> list[AuditEntry]:
        async with db.read_session() as session:
            rows = await session.execute(select(AuditEntry).where(AuditEntry.action == "citizen.viewed"))
            return list(rows.scalars())

    for n, person in enumerate(HOTLINE, start=1):
        response = await app_client.get(f"/api/v1/tickets/{ticket_id}/citizen", headers=tokens[person])
        assert response.status_code == 200
        assert response.json()["masked"] is False
        assert response.json()["phones"] == ["+86" + PHONE] and response.json()["name"] == NAME
        entries = await audited()
        assert len(entries) == n
        assert entries[-1].actor_username == person and entries[-1].object_id == str(ticket_id)
    for person in ("auditor1", *ADMINS, LEAD_DEPT, ASSISTING_DEPT, OTHER_DEPT):
        response = await app_client.get(f"/api/v1/tickets/{ticket_id}/citizen", headers=tokens[person])
        assert response.status_code == 403, person
        assert leaks(response.json()) == []
    assert len(await audited()) == len(HOTLINE)


async def test_another_units_orders_are_invisible(
    app_client: httpx.AsyncClient, desk: Desk, tokens: dict[str, dict[str, str]]
) -> None:
    ticket_ids = [await desk.order_in(state) for state in ("dispatched", "in_progress", "replied")]
    for person in (OTHER_DEPT, CHILD_DEPT):
        headers = tokens[person]
        for query in ({}, {"q": "路灯"}, {"q": "平原路"}, {"status": "dispatched,in_progress,replied"}):
            page = (await app_client.get("/api/v1/tickets", headers=headers, params=query)).json()
            assert page["total"] == 0 and page["items"] == [], (person, query)
        for ticket_id in ticket_ids:
            response = await app_client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
    lead_page = (await app_client.get("/api/v1/tickets", headers=tokens[LEAD_DEPT], params={"q": "路灯"})).json()
    assert sorted(t["id"] for t in lead_page["items"]) == sorted(ticket_ids)


async def test_admin_roles_cannot_read_orders(
    app_client: httpx.AsyncClient, desk: Desk, tokens: dict[str, dict[str, str]]
) -> None:
    ticket_id = await desk.order_in("registered")
    for person in ADMINS:
        assert (await app_client.get("/api/v1/tickets", headers=tokens[person])).status_code == 403
        assert (await app_client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens[person])).status_code == 403
    for person in (*HOTLINE, "auditor1"):
        page = await app_client.get("/api/v1/tickets", headers=tokens[person])
        assert page.status_code == 200 and [t["id"] for t in page.json()["items"]] == [ticket_id]


# Deadlines sent without a UTC offset.


@pytest.mark.parametrize(
    ("action", "state", "who"),
    [
        ("request-extension", "in_progress", LEAD_DEPT),
        ("approve-extension", "extension_pending", "supervisor1"),
        ("sub-dispatch", "in_progress", LEAD_DEPT),
    ],
)
async def test_a_deadline_without_an_offset_is_not_a_server_error(
    action: str,
    state: str,
    who: str,
    app_client: httpx.AsyncClient,
    desk: Desk,
    city: City,
    tokens: dict[str, dict[str, str]],
) -> None:
    ticket_id = await desk.order_in(state)
    naive = "2099-12-31T17:00:00"
    body = {
        "request-extension": {"reason": "需协调多部门", "requested_due_at": naive},
        "approve-extension": {"due_at": naive},
        "sub-dispatch": {"unit_id": city.unit("liangyuan_pingyuan").id, "due_at": "2000-01-01T09:00:00"},
    }[action]
    response = await app_client.post(f"/api/v1/tickets/{ticket_id}/{action}", headers=tokens[who], json=body)
    assert response.status_code in (200, 422), response.text
