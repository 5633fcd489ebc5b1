"""Feeding: an order closed as a consultation proposes a draft entry; a duplicate is offered as a phrasing."""

from __future__ import annotations

import httpx

from hotline.db import Database
from hotline.tickets.models import Ticket
from knowledge_base.live_index import LiveIndex
from knowledge_base.tasks import propose_drafts
from tests.conftest import City, login
from tests.knowledge_base.helpers import publish_entry, search

MIN_SCORE = 0.75


async def closed_consultation(client: httpx.AsyncClient, operator: dict[str, str], question: str, answer: str) -> int:
    created = await client.post(
        "/api/v1/tickets", headers=operator, json={"citizen_phone": "13800138000", "content": question}
    )
    assert created.status_code == 201, created.text
    ticket_id: int = created.json()["id"]
    answered = await client.post(
        f"/api/v1/tickets/{ticket_id}/answer-directly", headers=operator, json={"answer": answer}
    )
    assert answered.status_code == 200, answered.text
    closed = await client.post(f"/api/v1/tickets/{ticket_id}/close", headers=operator, json={})
    assert closed.json()["status"] == "closed", closed.text
    return ticket_id


async def test_a_closed_consultation_proposes_a_draft_that_a_supervisor_accepts(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator = await login(app_client, "operator1")
    supervisor = await login(app_client, "supervisor1")
    ticket_id = await closed_consultation(
        app_client, operator, "新生儿医保怎么办理参保？", "出生后三个月内到社区服务站办理。"
    )
    open_one = await app_client.post(
        "/api/v1/tickets", headers=operator, json={"citizen_phone": "13900139000", "content": "老年证在哪里办？"}
    )
    assert open_one.status_code == 201

    assert await propose_drafts(db, LiveIndex(db), min_score=MIN_SCORE) == {"proposed": 1, "duplicates": 0}
    assert await propose_drafts(db, LiveIndex(db), min_score=MIN_SCORE) == {"proposed": 0, "duplicates": 0}

    pending = (await app_client.get("/api/v1/kb/proposals", headers=supervisor)).json()
    assert [(p["ticket_id"], p["question"], p["answer"]) for p in pending] == [
        (ticket_id, "新生儿医保怎么办理参保？", "出生后三个月内到社区服务站办理。")
    ]
    accepted = await app_client.post(f"/api/v1/kb/proposals/{pending[0]['id']}/accept", headers=supervisor, json={})
    assert accepted.json()["status"] == "accepted"
    entry = (await app_client.get(f"/api/v1/kb/entries/{accepted.json()['entry_id']}", headers=supervisor)).json()
    assert entry["status"] == "draft" and entry["question"] == "新生儿医保怎么办理参保？"
    again = await app_client.post(f"/api/v1/kb/proposals/{pending[0]['id']}/reject", headers=supervisor, json={})
    assert again.status_code == 409
    assert (await app_client.get("/api/v1/kb/proposals", headers=supervisor)).json() == []


async def test_a_duplicate_question_becomes_a_similar_phrasing_of_the_existing_entry(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator = await login(app_client, "operator1")
    supervisor = await login(app_client, "supervisor1")
    author = await login(app_client, "dept_zhujian1")
    entry = await publish_entry(
        app_client, author, supervisor, question="住房公积金怎么提取？", answer="携带身份证到公积金中心办理。"
    )
    await closed_consultation(app_client, operator, "请问住房公积金如何提取", "到公积金中心办理。")

    assert await propose_drafts(db, LiveIndex(db), min_score=MIN_SCORE) == {"proposed": 1, "duplicates": 1}
    [proposal] = (await app_client.get("/api/v1/kb/proposals", headers=supervisor)).json()
    assert proposal["duplicate_of_id"] == entry["id"]
    assert proposal["duplicate_of_question"] == "住房公积金怎么提取？"

    merged = await app_client.post(f"/api/v1/kb/proposals/{proposal['id']}/merge", headers=supervisor, json={})
    assert merged.json()["status"] == "merged" and merged.json()["entry_id"] == entry["id"]
    updated = (await app_client.get(f"/api/v1/kb/entries/{entry['id']}", headers=supervisor)).json()
    assert updated["similar_questions"] == ["请问住房公积金如何提取"]
    assert updated["status"] == "published" and updated["published_version"] == 2  # no second review needed
    assert (await search(app_client, operator, "住房公积金如何提取"))[0]["id"] == entry["id"]

    refused = await app_client.post(f"/api/v1/kb/proposals/{proposal['id']}/merge", headers=operator, json={})
    assert refused.status_code == 403


async def test_confidential_consultations_propose_nothing(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator = await login(app_client, "operator1")
    ticket_id = await closed_consultation(app_client, operator, "我想咨询一下举报人的保护政策", "依法为举报人保密。")
    async with db.session() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.confidential = True
    assert await propose_drafts(db, LiveIndex(db), min_score=MIN_SCORE) == {"proposed": 0, "duplicates": 0}
    dept = await login(app_client, "dept_zhujian1")
    assert (await app_client.get("/api/v1/kb/proposals", headers=dept)).status_code == 403


async def test_a_reviewer_rewording_the_question_to_one_character_is_refused_and_the_proposal_stays_pending(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator, supervisor = await login(app_client, "operator1"), await login(app_client, "supervisor1")
    await closed_consultation(app_client, operator, "居住证到期了怎么续签？", "到户籍窗口或线上办理续签。")
    await propose_drafts(db, LiveIndex(db), min_score=MIN_SCORE)
    [pending] = (await app_client.get("/api/v1/kb/proposals", headers=supervisor)).json()

    refused = await app_client.post(
        f"/api/v1/kb/proposals/{pending['id']}/accept", headers=supervisor, json={"question": "\u00ad"}
    )
    assert refused.status_code == 422 and "问题至少2个字" in refused.json()["message_zh"]
    assert [p["id"] for p in (await app_client.get("/api/v1/kb/proposals", headers=supervisor)).json()] == [
        pending["id"]
    ]
    assert (await app_client.get("/api/v1/kb/entries", headers=supervisor)).json()["total"] == 0
