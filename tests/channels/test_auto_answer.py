"""Auto-answers on SMS and WeChat from the knowledge base, after the acknowledgement, and the hand-off to a person."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import col, select

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.outbox.models import OutboxMessage
from hotline.tickets.models import Ticket
from knowledge_base.auto_answer import ANSWER_WITHIN, answer_new_orders, confident
from knowledge_base.deps import live_index_of
from knowledge_base.models import KbAutoAnswer
from knowledge_base.search import Hit
from tests.channels.conftest import post_sms, sms_form, sms_sid, wechat_params, wechat_text_xml
from tests.conftest import login
from tests.knowledge_base.helpers import publish_entry

ANSWER = "职工租房、购房可申请提取，携带身份证到市住房公积金管理中心办理，也可通过手机APP办理。"


async def published_fund_entry(client: httpx.AsyncClient) -> None:
    author = await login(client, "dept_zhujian1")
    supervisor = await login(client, "supervisor1")
    await publish_entry(client, author, supervisor, question="住房公积金怎么提取？", answer=ANSWER)


async def run_answer_job(client: httpx.AsyncClient, db: Database, **kwargs: Any) -> dict[str, Any]:
    """One run of the background job, with the process's own index (as ``hotline serve`` runs it)."""
    app = client.app  # type: ignore[attr-defined]
    return await answer_new_orders(db, live_index_of(app), app.state.settings, **kwargs)


async def orders(db: Database) -> list[Ticket]:
    async with db.read_session() as session:
        return list((await session.execute(select(Ticket).order_by(col(Ticket.id)))).scalars())


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.read_session() as session:
        return list((await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))).scalars())


async def outcomes(db: Database) -> dict[int, str]:
    async with db.read_session() as session:
        return {a.ticket_id: a.outcome for a in (await session.execute(select(KbAutoAnswer))).scalars()}


async def test_the_sms_is_acknowledged_at_once_and_a_confident_answer_follows_through_the_outbox(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    await published_fund_entry(client)
    asked = await post_sms(client, sms_form(sms_sid(1), "请问住房公积金怎么提取？"))
    [order] = await orders(db)
    assert f"工单号{order.number}" in asked.text and "参考解答" not in asked.text  # the ack never waits for search
    assert await outbox(db) == []

    assert await run_answer_job(client, db) == {"orders": 1, "answered": 1}
    [answer] = await outbox(db)
    assert (answer.channel, answer.recipient, answer.ticket_id) == ("sms", "+8613900139000", order.id)
    assert order.number in answer.body and "参考解答：职工租房、购房可申请提取" in answer.body
    assert "请回复“人工”" in answer.body
    assert await run_answer_job(client, db) == {"orders": 0, "answered": 0}  # decided once
    assert len(await outbox(db)) == 1
    [order] = await orders(db)
    assert order.status == "registered"  # still an operator's to close

    handoff = await post_sms(client, sms_form(sms_sid(2), "不是我要问的，转人工"))
    assert "已为您转人工服务" in handoff.text and order.number in handoff.text
    assert len(await orders(db)) == 1  # the reply joined the same order

    unrelated = await post_sms(client, sms_form(sms_sid(3), "小区门口的路灯坏了三天", sender="+8613900139111"))
    assert "已受理" in unrelated.text
    assert await run_answer_job(client, db) == {"orders": 1, "answered": 0}
    assert len(await outbox(db)) == 1
    assert sorted((await outcomes(db)).values()) == ["answered", "not_confident"]


async def test_wechat_acknowledges_passively_and_the_answer_follows_as_a_customer_service_message(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    await published_fund_entry(client)
    xml = wechat_text_xml("oCitizen0001", "住房公积金怎么提取", 5001)
    response = await client.post("/channels/wechat", params=wechat_params(), content=xml)
    assert response.status_code == 200
    assert "您的诉求已受理" in response.text and "参考解答" not in response.text
    retried = await client.post("/channels/wechat", params=wechat_params(), content=xml)
    assert "您的诉求已受理" in retried.text and len(await orders(db)) == 1

    await run_answer_job(client, db)
    await run_answer_job(client, db)
    [answer] = await outbox(db)
    assert (answer.channel, answer.recipient) == ("wechat", "oCitizen0001")
    assert "参考解答：职工租房" in answer.body


async def test_the_acknowledgement_does_not_build_the_index_and_the_job_answers_the_first_message(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    await published_fund_entry(client)
    index = live_index_of(client.app)  # type: ignore[attr-defined]
    first = await post_sms(client, sms_form(sms_sid(11), "住房公积金怎么提取"))
    assert "已受理" in first.text
    assert not index.ready  # the webhook searched nothing
    assert await run_answer_job(client, db) == {"orders": 1, "answered": 1}
    assert index.ready


async def test_no_automatic_answer_to_a_citizen_asking_for_a_person_or_to_an_order_left_too_long(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    await published_fund_entry(client)
    await post_sms(client, sms_form(sms_sid(21), "住房公积金怎么提取？我要找人工", sender="+8613900139221"))
    await post_sms(client, sms_form(sms_sid(22), "住房公积金怎么提取", sender="+8613900139222"))

    later = utcnow() + ANSWER_WITHIN + timedelta(minutes=1)  # e.g. the jobs were down: operators have it by now
    assert await run_answer_job(client, db, now=later) == {"orders": 0, "answered": 0}
    assert await run_answer_job(client, db) == {"orders": 2, "answered": 1}
    [asks_for_person, asks_the_question] = await orders(db)
    assert await outcomes(db) == {asks_for_person.id: "wants_person", asks_the_question.id: "answered"}
    assert [m.ticket_id for m in await outbox(db)] == [asks_the_question.id]


async def test_automatic_answers_can_be_turned_off(client: httpx.AsyncClient, staff: dict, db: Database) -> None:
    await published_fund_entry(client)
    await post_sms(client, sms_form(sms_sid(31), "住房公积金怎么提取"))
    app = client.app  # type: ignore[attr-defined]
    off = app.state.settings.model_copy(update={"kb_auto_answer": False})
    assert await answer_new_orders(db, live_index_of(app), off) == {"orders": 0, "answered": 0}
    assert await outbox(db) == []


async def test_entries_giving_the_same_answer_back_each_other_up_instead_of_holding_the_answer_back(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    author, supervisor = await login(client, "dept_zhujian1"), await login(client, "supervisor1")
    await publish_entry(client, author, supervisor, question="住房公积金怎么提取？", answer=ANSWER)
    await publish_entry(client, author, supervisor, question="如何提取住房公积金？", answer="提取：" + ANSWER)
    await post_sms(client, sms_form(sms_sid(41), "住房公积金怎么提取", sender="+8613900139441"))
    assert await run_answer_job(client, db) == {"orders": 1, "answered": 1}  # two entries, one answer: no doubt
    assert "参考解答" in (await outbox(db))[0].body


def test_only_a_close_hit_that_says_something_else_makes_the_top_hit_uncertain() -> None:
    answers = {
        "fund": ANSWER,
        "fund-again": "提取：" + ANSWER + "。",
        "fund-part": "携带身份证到市住房公积金管理中心办理",
        "transfer": "离职后的住房公积金可以转移到新单位。",
        "years": "由5年延长至8年",
        "short": "8年",
    }

    def hits(*scored: tuple[str, float]) -> list[Hit]:
        return [Hit(entry_id, score, entry_id) for entry_id, score in scored]

    def pick(*scored: tuple[str, float]) -> str | None:
        hit = confident(hits(*scored), lambda hit: answers[hit.entry_id], min_score=0.55, min_margin=0.05)
        return None if hit is None else hit.entry_id

    assert pick(("fund", 0.90), ("fund-again", 0.89), ("fund-part", 0.88), ("transfer", 0.80)) == "fund"
    assert pick(("fund", 0.90), ("fund-again", 0.89), ("transfer", 0.87)) is None
    assert pick(("years", 0.90), ("short", 0.88)) is None  # an answer this short is inside too many others
    assert pick(("fund", 0.50)) is None  # not a good enough match on its own
    assert pick() is None
