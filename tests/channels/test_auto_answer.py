"""Auto-answers on SMS and WeChat from the knowledge base, and the hand-off to a person."""

from __future__ import annotations

import httpx
from sqlmodel import select

from hotline.db import Database
from hotline.tickets.models import Ticket
from knowledge_base.deps import live_index_of
from tests.channels.conftest import post_sms, sms_form, sms_sid, wechat_params, wechat_text_xml
from tests.conftest import login
from tests.knowledge_base.helpers import publish_entry

ANSWER = "职工租房、购房可申请提取，携带身份证到市住房公积金管理中心办理，也可通过手机APP办理。"


async def published_fund_entry(client: httpx.AsyncClient) -> None:
    author = await login(client, "dept_zhujian1")
    supervisor = await login(client, "supervisor1")
    await publish_entry(client, author, supervisor, question="住房公积金怎么提取？", answer=ANSWER)
    await live_index_of(client.app).catch_up(force=True)  # type: ignore[attr-defined]


async def orders(db: Database) -> list[Ticket]:
    async with db.read_session() as session:
        return list((await session.execute(select(Ticket))).scalars())


async def test_a_confident_hit_answers_the_sms_and_the_order_stays_with_operators(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    await published_fund_entry(client)
    asked = await post_sms(client, sms_form(sms_sid(1), "请问住房公积金怎么提取？"))
    [order] = await orders(db)
    assert order.status == "registered"  # registered first, and still an operator's to close
    assert f"工单号{order.number}" in asked.text
    assert "参考解答：职工租房、购房可申请提取" in asked.text and "请回复“人工”" in asked.text

    handoff = await post_sms(client, sms_form(sms_sid(2), "不是我要问的，转人工"))
    assert "已为您转人工服务" in handoff.text and order.number in handoff.text
    assert "参考解答" not in handoff.text
    assert len(await orders(db)) == 1  # the reply joined the same order

    unrelated = await post_sms(client, sms_form(sms_sid(3), "小区门口的路灯坏了三天", sender="+8613900139111"))
    assert "已受理" in unrelated.text and "参考解答" not in unrelated.text


async def test_wechat_gets_the_answer_in_its_passive_reply(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    await published_fund_entry(client)
    xml = wechat_text_xml("oCitizen0001", "住房公积金怎么提取", 5001)
    response = await client.post("/channels/wechat", params=wechat_params(), content=xml)
    assert response.status_code == 200
    assert "您的诉求已受理" in response.text and "参考解答：职工租房" in response.text
    retried = await client.post("/channels/wechat", params=wechat_params(), content=xml)
    assert "参考解答：职工租房" in retried.text and len(await orders(db)) == 1


async def test_the_first_message_is_not_kept_waiting_for_the_index(
    client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    author = await login(client, "dept_zhujian1")
    supervisor = await login(client, "supervisor1")
    await publish_entry(client, author, supervisor, question="住房公积金怎么提取？", answer=ANSWER)
    first = await post_sms(client, sms_form(sms_sid(11), "住房公积金怎么提取"))
    assert "已受理" in first.text and "参考解答" not in first.text  # the index was not built yet
    await live_index_of(client.app).catch_up()  # type: ignore[attr-defined]
    later = await post_sms(client, sms_form(sms_sid(12), "住房公积金怎么提取", sender="+8613900139222"))
    assert "参考解答" in later.text
