"""The survey job: one survey per order and round however often it runs, calling hours, sampling, no contact."""

from __future__ import annotations

import asyncio
from datetime import datetime, time

import httpx
from sqlmodel import select

from hotline.auth.models import User
from hotline.channels.models import Channel
from hotline.config import Settings
from hotline.db import Database
from hotline.outbox.models import OutboxMessage
from hotline.surveys import sampling
from hotline.surveys.models import CallbackSurvey, SurveySamplingRule
from hotline.surveys.service import SurveyPolicy, policy_from
from hotline.surveys.tasks import run_surveys
from hotline.timefmt import CHINA_TZ
from tests.conftest import City, login
from tests.surveys.conftest import order, replied_order, surveys_of

EVENING = datetime(2026, 11, 4, 21, 30, tzinfo=CHINA_TZ)


async def survey_outbox(db: Database) -> list[str]:
    async with db.read_session() as session:
        keys = (await session.execute(select(OutboxMessage.dedupe_key))).scalars()
        return sorted(k for k in keys if k.startswith("survey:"))


async def test_two_jobs_at_once_start_and_send_each_survey_once(
    database_url: str, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    ids = [await replied_order(db, city, staff, phone=f"+86139001390{i:02d}") for i in range(6)]
    first, second = Database(database_url), Database(database_url)
    try:
        now = datetime(2026, 11, 4, 12, 0, tzinfo=CHINA_TZ)
        await asyncio.gather(run_surveys(first, survey_policy, now=now), run_surveys(second, survey_policy, now=now))
        await run_surveys(db, survey_policy, now=now)  # and again after a restart
    finally:
        await first.dispose()
        await second.dispose()
    for ticket_id in ids:
        assert [s.attempts for s in await surveys_of(db, ticket_id)] == [1]
    assert len(await survey_outbox(db)) == 6


async def test_surveys_wait_for_calling_hours(
    channel_settings: Settings, db: Database, city: City, staff: dict[str, User]
) -> None:
    policy = policy_from(channel_settings)  # 08:00-21:00
    assert policy.calling_hours == (time(8), time(21))
    ticket_id = await replied_order(db, city, staff)
    result = await run_surveys(db, policy, now=EVENING)
    assert result == {"started": 1, "sent": 0, "expired": 0}
    assert await survey_outbox(db) == []
    morning = datetime(2026, 11, 5, 8, 0, tzinfo=CHINA_TZ)
    assert (await run_surveys(db, policy, now=morning))["sent"] == 1
    [survey] = await surveys_of(db, ticket_id)
    assert survey.first_sent_at == morning and survey.expires_at == morning + policy.expire_after
    late = await run_surveys(db, policy, now=morning + policy.expire_after)  # down since: no last reminder
    assert late == {"started": 0, "sent": 0, "expired": 1}
    assert await survey_outbox(db) == [f"survey:{survey.id}:attempt:1"]


async def test_sampling_rules_leave_orders_out_and_close_them(
    db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    async with db.session() as session:
        session.add(SurveySamplingRule(unit_id=city.unit("liangyuan").id, percent=0))
    left_out = await replied_order(
        db, city, staff, unit="liangyuan_pingyuan", staff_of="liangyuan"
    )  # a street of 梁园区
    surveyed = await replied_order(db, city, staff, unit="zhujian", phone="+8613900139001")
    await run_surveys(db, survey_policy, now=datetime(2026, 11, 4, 12, 0, tzinfo=CHINA_TZ))
    [skipped] = await surveys_of(db, left_out)
    assert skipped.status == "not_sampled" and (await order(db, left_out)).status == "closed"
    assert [s.status for s in await surveys_of(db, surveyed)] == ["awaiting"]


def test_sampling_is_deterministic_and_close_to_its_share() -> None:
    drawn = [sampling.drawn(ticket_id, 0, 30) for ticket_id in range(1, 5001)]
    assert drawn == [sampling.drawn(ticket_id, 0, 30) for ticket_id in range(1, 5001)]
    assert 0.27 < sum(drawn) / len(drawn) < 0.33


def test_the_most_specific_rule_wins() -> None:
    rules = [
        SurveySamplingRule(unit_id=None, category_id=5, percent=50),
        SurveySamplingRule(unit_id=1, category_id=None, percent=20),
        SurveySamplingRule(unit_id=2, category_id=5, percent=80),
    ]
    assert sampling.rule_percent(rules, unit_chain=[2, 1], category_chain=[9, 5], default=100) == 80
    assert sampling.rule_percent(rules, unit_chain=[3, 1], category_chain=[9, 5], default=100) == 20
    assert sampling.rule_percent(rules, unit_chain=[4], category_chain=[5], default=100) == 50
    assert sampling.rule_percent(rules, unit_chain=[4], category_chain=[], default=100) == 100


async def test_direct_answers_are_surveyed_and_the_unreachable_are_unreached(
    db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    direct = await replied_order(db, city, staff, direct=True, channel=Channel.WECHAT, phone=None, openid="oX_direct")
    nobody = await replied_order(db, city, staff, channel=Channel.WEB, phone=None, openid=None, direct=True)
    await run_surveys(db, survey_policy, now=datetime(2026, 11, 4, 12, 0, tzinfo=CHINA_TZ))
    [asked] = await surveys_of(db, direct)
    assert (asked.method, asked.unit_id, asked.status) == ("wechat", None, "awaiting")
    [unreached] = await surveys_of(db, nobody)
    assert (unreached.method, unreached.status) == ("none", "unreached")
    assert (await order(db, nobody)).status == "closed"
    async with db.read_session() as session:
        assert len((await session.execute(select(CallbackSurvey))).all()) == 2


async def test_administrators_set_sampling_rules(
    client: httpx.AsyncClient, city: City, staff: dict[str, User], db: Database
) -> None:
    admin, supervisor = await login(client, "admin1"), await login(client, "supervisor1")
    rule = {"unit_id": city.unit("zhujian").id, "percent": 30}
    assert (await client.put("/api/v1/survey-sampling-rules", json=rule, headers=supervisor)).status_code == 403
    first = await client.put("/api/v1/survey-sampling-rules", json=rule, headers=admin)
    changed = await client.put("/api/v1/survey-sampling-rules", json={**rule, "percent": 50}, headers=admin)
    assert first.json()["id"] == changed.json()["id"]  # one rule per unit and category
    listed = (await client.get("/api/v1/survey-sampling-rules", headers=supervisor)).json()
    assert [(r["unit_id"], r["category_id"], r["percent"]) for r in listed] == [(city.unit("zhujian").id, None, 50)]
    bad = await client.put("/api/v1/survey-sampling-rules", json={"percent": 101}, headers=admin)
    assert bad.status_code == 422
    for unknown in ({"unit_id": 987654}, {"category_id": 987654}):
        missing = await client.put("/api/v1/survey-sampling-rules", json={**unknown, "percent": 10}, headers=admin)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert len((await client.get("/api/v1/survey-sampling-rules", headers=supervisor)).json()) == 1
