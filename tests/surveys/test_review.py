"""Bad ratings: a supervisor judges them; reasonable → 重办 through the lifecycle and the citizen is told,
unreasonable → excluded with the reason; a second bad rating after rework goes to a second level."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from hotline.auth.models import Role, User
from hotline.channels.models import Channel
from hotline.config import Settings
from hotline.db import Database
from hotline.outbox.models import OutboxMessage
from hotline.surveys.service import SurveyPolicy, policy_from
from hotline.surveys.tasks import run_surveys
from hotline.tickets.lifecycle import Action
from hotline.tickets.models import TicketEvent
from tests.channels.conftest import post_sms, running_app, sms_form, sms_sid
from tests.conftest import City, add_user, as_current, login
from tests.supervision.helpers import department
from tests.surveys.conftest import act, ago, order, recent_steps, replied_order, surveys_of


async def bad_rating(client: httpx.AsyncClient, db: Database, policy: SurveyPolicy, sid: int) -> None:
    await run_surveys(db, policy, now=ago(minutes=40 - sid))
    response = await post_sms(client, sms_form(sms_sid(sid), "2 4 还是不亮"))
    assert "核实后尽快处理" in response.text


async def test_reasonable_then_second_bad_rating_goes_to_another_supervisor(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    async with db.session() as session:
        await add_user(session, "supervisor2", Role.SUPERVISOR)
    start, steps = recent_steps()
    ticket_id = await replied_order(db, city, staff, at=start, steps=steps)
    await bad_rating(client, db, survey_policy, 1)
    [first] = await surveys_of(db, ticket_id)
    supervisor = await login(client, "supervisor1")
    queue = (await client.get("/api/v1/surveys", params={"review_status": "pending"}, headers=supervisor)).json()
    row = queue["items"][0]
    assert row["order"]["reply"] == "已更换路灯灯泡" and row["answer"]["satisfaction_label"] == "不满意"
    assert row["judgement"] == {
        "status": "pending",
        "label": "待审核",
        "level": 1,
        "reviewed_by_id": None,
        "reviewed_by": None,
        "reviewed_at": None,
        "reason": None,
        "excluded_from_scoring": False,
    }
    operator = await login(client, "operator1")
    judged_by_operator = await client.post(
        f"/api/v1/surveys/{first.id}/judge", json={"reasonable": True, "reason": "确未修好"}, headers=operator
    )
    assert judged_by_operator.status_code == 403
    judged = await client.post(
        f"/api/v1/surveys/{first.id}/judge",
        json={"reasonable": True, "reason": "现场核实路灯仍不亮"},
        headers=supervisor,
    )
    assert judged.status_code == 200, judged.text
    assert judged.json()["judgement"]["reviewed_by"] == "supervisor1"
    reworked = await order(db, ticket_id)
    assert (reworked.status, reworked.rework_count) == ("in_progress", 1)
    async with db.read_session() as session:
        events = (await session.execute(select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket_id))).scalars()
        history = [(e.action, e.actor_id) for e in events]
        told = (
            await session.execute(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).like("%:rework")))
        ).scalar_one()
    assert (Action.REWORK.value, staff["supervisor1"].id) in history and (
        "survey_judged",
        staff["supervisor1"].id,
    ) in history
    assert "重新办理" in told.body and told.channel == "sms"
    again = await client.post(
        f"/api/v1/surveys/{first.id}/judge", json={"reasonable": False, "reason": "改判"}, headers=supervisor
    )
    assert again.status_code == 409  # judged once

    dept = department(staff, city, "liangyuan")
    await act(db, ticket_id, dept, Action.REPLY, ago(minutes=30), text="已更换整套灯具")
    await act(db, ticket_id, as_current(staff["supervisor1"]), Action.APPROVE_REPLY, ago(minutes=25))
    await bad_rating(client, db, survey_policy, 2)
    first, second = await surveys_of(db, ticket_id)
    assert (second.round, second.review_status, second.review_level) == (1, "pending", 2)
    level_two = (await client.get("/api/v1/surveys", params={"review_level": 2}, headers=supervisor)).json()
    assert [r["id"] for r in level_two["items"]] == [second.id]
    same_judge = await client.post(
        f"/api/v1/surveys/{second.id}/judge", json={"reasonable": False, "reason": "已修好"}, headers=supervisor
    )
    assert same_judge.status_code == 403
    other = await login(client, "supervisor2")
    ruled = await client.post(
        f"/api/v1/surveys/{second.id}/judge",
        json={"reasonable": False, "reason": "现场灯具正常，诉求人另有诉求"},
        headers=other,
    )
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["judgement"]["excluded_from_scoring"] is True
    assert (await order(db, ticket_id)).status == "closed"  # not reworked again


async def test_named_senior_supervisors_judge_second_ratings(
    channel_settings: Settings, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    async with db.session() as session:
        await add_user(session, "chief1", Role.SUPERVISOR)
        await add_user(session, "supervisor2", Role.SUPERVISOR)
    settings = channel_settings.model_copy(update={"survey_senior_supervisors": ["chief1"]})
    async with running_app(settings) as client:
        start, steps = recent_steps()
        ticket_id = await replied_order(db, city, staff, at=start, steps=steps)
        await bad_rating(client, db, survey_policy, 1)
        [first] = await surveys_of(db, ticket_id)
        supervisor = await login(client, "supervisor1")
        await client.post(
            f"/api/v1/surveys/{first.id}/judge", json={"reasonable": True, "reason": "属实"}, headers=supervisor
        )
        dept = department(staff, city, "liangyuan")
        await act(db, ticket_id, dept, Action.REPLY, ago(minutes=30), text="已修复")
        await act(db, ticket_id, as_current(staff["supervisor1"]), Action.APPROVE_REPLY, ago(minutes=25))
        await bad_rating(client, db, survey_policy, 2)
        _, second = await surveys_of(db, ticket_id)
        body = {"reasonable": True, "reason": "仍未解决"}
        other = await client.post(
            f"/api/v1/surveys/{second.id}/judge", json=body, headers=await login(client, "supervisor2")
        )
        assert other.status_code == 403
        chief = await client.post(
            f"/api/v1/surveys/{second.id}/judge", json=body, headers=await login(client, "chief1")
        )
        assert chief.status_code == 200, chief.text
        assert (await order(db, ticket_id)).rework_count == 2


async def test_operator_call_form_is_recorded_once(
    channel_settings: Settings, db: Database, city: City, staff: dict[str, User]
) -> None:
    settings = channel_settings.model_copy(
        update={"survey_phone_method": "operator", "survey_calling_hours": "00:00-24:00"}
    )
    start, steps = recent_steps()
    ticket_id = await replied_order(db, city, staff, at=start, steps=steps, channel=Channel.PHONE)
    await run_surveys(db, policy_from(settings), now=ago(minutes=50))
    async with running_app(settings) as client:
        operator = await login(client, "operator1")
        calls = (
            await client.get("/api/v1/surveys", params={"method": "operator", "status": "awaiting"}, headers=operator)
        ).json()
        [row] = calls["items"]
        assert row["recipient"] == "+86139****9000" and row["method_label"] == "人工回访"
        missed = await client.post(f"/api/v1/surveys/{row['id']}/missed-call", headers=operator)
        assert missed.json()["attempts"] == 1 and missed.json()["status"] == "awaiting"
        empty = await client.post(f"/api/v1/surveys/{row['id']}/answer", json={"comment": "无"}, headers=operator)
        assert empty.status_code == 422
        form = {"resolved": True, "satisfaction": "very_satisfied", "comment": "工作人员很负责"}
        recorded = await client.post(f"/api/v1/surveys/{row['id']}/answer", json=form, headers=operator)
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["answer"]["via"] == "operator"
        twice = await client.post(
            f"/api/v1/surveys/{row['id']}/answer", json={"satisfaction": "dissatisfied"}, headers=operator
        )
        assert twice.status_code == 409
    [survey] = await surveys_of(db, ticket_id)
    assert (survey.satisfaction, survey.answered_by_id, survey.review_status) == (
        "very_satisfied",
        staff["operator1"].id,
        None,
    )
    assert (await order(db, ticket_id)).status == "closed"
