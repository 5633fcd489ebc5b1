"""Messages that arrive while the database is unreachable are spooled, answered, and stored once it is back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import xmltodict
from sqlmodel import select

from hotline.channels import intake, spool, twilio_sms
from hotline.channels.spool import Spool
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.outbox.models import OutboxMessage
from hotline.tickets.models import Ticket
from tests.channels.conftest import (
    counts,
    encrypted_push,
    post_sms,
    running_app,
    sms_form,
    sms_sid,
    wechat_crypto,
    wechat_text_xml,
)
from tests.relay import cuttable_database

OPENID = "oSpool0000000000000000000001"


@pytest.fixture
def spool_settings(channel_settings: Settings, tmp_path: Path) -> Settings:
    # The test replays the spool itself, at the moment it chooses.
    return channel_settings.model_copy(update={"spool_dir": tmp_path / "spool", "spool_replay_seconds": 3600.0})


async def _ours(db: Database) -> list[tuple[str, str, str]]:
    async with db.read_session() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.channel))).scalars()
        return [(row.channel, row.recipient, row.body) for row in rows]


async def test_sms_and_wechat_taken_while_postgresql_is_away_become_orders_once_it_is_back(
    spool_settings: Settings, db: Database
) -> None:
    async with cuttable_database(db) as (relay, through_relay):
        settings = spool_settings.model_copy(update={"database_url": through_relay})
        async with running_app(settings) as client:
            await relay.cut()
            sms = sms_form(sms_sid(7), "小区门口路灯坏了一周")
            answered = await post_sms(client, sms)
            assert answered.status_code == 200 and "工单号稍后发送给您" in answered.text
            params, body = encrypted_push(wechat_text_xml(OPENID, "公交站台顶棚漏雨", 7001), nonce="n7001")
            replied = await client.post("/channels/wechat", params=params, content=body.encode())
            envelope = xmltodict.parse(replied.text)["xml"]
            plain = wechat_crypto().decrypt_message(
                replied.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
            assert "工单号稍后发送给您" in plain
            await client.post("/channels/wechat", params=params, content=body.encode())  # WeChat's retry
            spooled_by = utcnow()
            assert len(Spool(settings.spool_dir).pending()) == 3
            assert (await counts(db))["messages"] == 0  # nothing half-written
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["spooled_messages"] == 3
            assert ready.json()["spooled_set_aside"] == 0

            await relay.up()
            assert await spool.replay(client.app.state.db, settings, Spool(settings.spool_dir)) == 3  # type: ignore[attr-defined]
            assert Spool(settings.spool_dir).pending() == []
            assert (await client.get("/readyz")).json()["spooled_messages"] == 0
            again = await post_sms(client, sms)  # Twilio's number sent again: the order exists already
            assert again.status_code == 200 and "<Message>" not in again.text

    assert (await counts(db))["messages"] == 2 and (await counts(db))["tickets"] == 2
    async with db.read_session() as session:
        tickets = list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())
    assert all(ticket.created_at <= spooled_by for ticket in tickets)  # time limits run from arrival
    numbers = [ticket.number for ticket in tickets]
    acknowledged = await _ours(db)
    assert [(channel, recipient) for channel, recipient, _ in acknowledged] == [
        ("sms", "+8613900139000"),
        ("wechat", OPENID),
    ]
    assert all(any(number in text for number in numbers) for _, _, text in acknowledged)


async def test_a_spooled_message_is_stored_with_its_arrival_time_and_unreadable_or_refused_ones_set_aside(
    spool_settings: Settings, db: Database
) -> None:
    kept = Spool(spool_settings.spool_dir)
    arrived = utcnow() - timedelta(hours=2)
    kept.put(spool.SMS, list(sms_form(sms_sid(8), "噪音扰民，晚上施工").items()), arrived)
    kept.put(spool.SMS, list(sms_form(sms_sid(9), "   ").items()), arrived)  # nothing said: the intake refuses it
    (spool_settings.spool_dir / "20260101T000000000000-broken.json").write_text("{not json", encoding="utf-8")

    assert await spool.replay(db, spool_settings, kept) == 1
    assert kept.pending() == []
    assert sorted(p.name for p in (spool_settings.spool_dir / spool.FAILED_DIRECTORY).iterdir())[0].endswith(
        "broken.json"
    )
    assert len(list((spool_settings.spool_dir / spool.FAILED_DIRECTORY).iterdir())) == 2
    async with db.read_session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert abs(ticket.created_at - arrived) < timedelta(seconds=1)
    assert [(c, r) for c, r, _ in await _ours(db)] == [("sms", "+8613900139000")]


async def test_an_item_of_no_known_kind_or_whose_replay_fails_is_set_aside_without_holding_up_the_rest(
    spool_settings: Settings, db: Database
) -> None:
    kept = Spool(spool_settings.spool_dir)
    arrived = utcnow()
    kept.put("fax", {"page": 1}, arrived)
    kept.put("broken", {}, arrived)
    kept.put(spool.SMS, list(sms_form(sms_sid(10), "楼下餐馆油烟太大").items()), arrived)

    async def fails(db: Database, settings: Settings, item: spool.Spooled) -> None:
        raise RuntimeError("a defect in the replay, not an outage")

    replayers = {**spool.MESSAGE_REPLAYERS, "broken": fails}
    assert await spool.replay(db, spool_settings, kept, replayers) == 1
    assert kept.pending() == []
    assert kept.set_aside_count() == 2
    assert (await counts(db))["tickets"] == 1
    async with running_app(spool_settings) as client:
        ready = (await client.get("/readyz")).json()
    assert (ready["spooled_messages"], ready["spooled_set_aside"]) == (0, 2)  # for an administrator to look at


async def test_an_sms_stored_before_the_connection_broke_still_gets_its_order_number_once(
    spool_settings: Settings, db: Database
) -> None:
    sms = list(sms_form(sms_sid(12), "井盖松动，行人容易绊倒").items())
    async with db.session() as session:  # the commit went through; the answer to Twilio was lost with the link
        await intake.receive(session, twilio_sms.to_inbound(sms))
    kept = Spool(spool_settings.spool_dir)
    for _ in range(2):  # spooled, and replayed by two processes
        kept.put(spool.SMS, sms, utcnow())

    assert await spool.replay(db, spool_settings, kept) == 2
    async with db.read_session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    [(channel, recipient, text)] = await _ours(db)
    assert (channel, recipient) == ("sms", "+8613900139000")
    assert f"工单号{ticket.number}" in text and "已受理" in text
