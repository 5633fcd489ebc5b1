"""The survey on WeChat, end to end: a customer-service menu of choices through the stand-in API, taps and
words pushed back encrypted by wechatpy, passive replies decrypted by wechatpy."""

from __future__ import annotations

import httpx
import xmltodict

from hotline.auth.models import User
from hotline.channels.models import Channel
from hotline.db import Database
from hotline.outbox.service import deliver_due
from hotline.surveys.service import SurveyPolicy
from hotline.surveys.tasks import run_surveys
from tests.channels.conftest import counts, encrypted_push, wechat_crypto
from tests.conftest import City
from tests.surveys.conftest import OPENID, ago, order, recent_steps, replied_order, surveys_of


def menu_tap_xml(content: str, menu_id: str, msg_id: int) -> str:
    """What WeChat pushes when the citizen taps a menu choice: the choice as text, with its id."""
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<bizmsgmenuid>{menu_id}</bizmsgmenuid></xml>"
    )


async def push(client: httpx.AsyncClient, xml: str, nonce: str) -> str:
    """Send an encrypted push and read the decrypted passive reply's text."""
    params, body = encrypted_push(xml, nonce=nonce)
    response = await client.post("/channels/wechat", params=params, content=body.encode())
    assert response.status_code == 200, response.text
    envelope = xmltodict.parse(response.text)["xml"]
    plain = wechat_crypto().decrypt_message(response.text, envelope["MsgSignature"], envelope["TimeStamp"], nonce)
    return str(xmltodict.parse(plain)["xml"]["Content"])


async def test_wechat_menu_survey_end_to_end(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy, providers
) -> None:
    start, steps = recent_steps()
    ticket_id = await replied_order(
        db, city, staff, at=start, steps=steps, channel=Channel.WECHAT, phone=None, openid=OPENID
    )
    await run_surveys(db, survey_policy, now=ago(minutes=50))
    adapters, peers = providers
    await deliver_due(db, adapters)
    menu = peers.wechat[-1]
    assert menu["touser"] == OPENID and menu["msgtype"] == "msgmenu"
    assert [c["content"] for c in menu["msgmenu"]["list"]] == ["已解决", "未解决"]

    tapped = await push(client, menu_tap_xml("未解决", "resolved_2", 7001), "n7001")
    assert "是否满意" in tapped and "5非常不满意" in tapped
    again = await push(client, menu_tap_xml("未解决", "resolved_2", 7001), "n7001b")  # WeChat retries the push
    assert again == tapped
    rated = await push(client, menu_tap_xml("非常不满意，灯还是不亮", "", 7002), "n7002")
    assert "核实后尽快处理" in rated
    [survey] = await surveys_of(db, ticket_id)
    assert (survey.resolved, survey.satisfaction, survey.answered_via) == (False, "very_dissatisfied", "wechat")
    assert survey.review_status == "pending" and survey.review_level == 1
    assert (await order(db, ticket_id)).status == "closed"
    twice = await push(client, menu_tap_xml("满意", "", 7003), "n7003")
    assert "已完成本次评价" in twice
    [survey] = await surveys_of(db, ticket_id)
    assert survey.satisfaction == "very_dissatisfied"
    assert (await counts(db))["tickets"] == 1
