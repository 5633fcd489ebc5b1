"""The survey by SMS, end to end: the job asks through the outbox and Twilio's REST API, the citizen answers
through the signed SMS webhook (twilio's RequestValidator), the order closes; second and late answers stay put."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlmodel import col, select

from hotline.auth.models import User
from hotline.channels.models import Message
from hotline.db import Database
from hotline.outbox.models import OutboxMessage
from hotline.outbox.service import deliver_due
from hotline.surveys.models import SurveyResponse
from hotline.surveys.service import SurveyPolicy
from hotline.surveys.tasks import run_surveys
from tests.channels.conftest import counts, post_sms, sms_form, sms_sid
from tests.conftest import City, login
from tests.surveys.conftest import PHONE, Steps, ago, order, recent_steps, replied_order, surveys_of


def reply_of(response: httpx.Response) -> str:
    found = re.search(r"<Message>(.*)</Message>", response.text)
    return found.group(1) if found else ""


async def test_sms_survey_end_to_end_with_a_second_answer(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy, providers
) -> None:
    start, steps = recent_steps()
    ticket_id = await replied_order(db, city, staff, at=start, steps=steps)
    assert (await run_surveys(db, survey_policy, now=ago(minutes=50))) == {"started": 1, "sent": 1, "expired": 0}
    assert (await run_surveys(db, survey_policy, now=ago(minutes=49)))["sent"] == 0  # once per attempt
    adapters, peers = providers
    await deliver_due(db, adapters)
    result, asked = peers.sms  # the result of the order (on approval), then the survey
    assert result["To"] == asked["To"] == PHONE and "已办理" in result["Body"]
    assert asked["Body"].startswith("【12345回访】") and (await order(db, ticket_id)).number in asked["Body"]

    first = await post_sms(client, sms_form(sms_sid(1), "１，２ 灯修好了，谢谢"))  # full-width digits and a comment
    assert "感谢您的评价" in reply_of(first)
    [survey] = await surveys_of(db, ticket_id)
    assert (survey.status, survey.resolved, survey.satisfaction) == ("answered", True, "satisfied")
    assert survey.comment == "灯修好了,谢谢" and survey.answered_via == "sms"
    assert (await order(db, ticket_id)).status == "closed"

    second = await post_sms(client, sms_form(sms_sid(2), "5"))  # the citizen answers again
    assert "您已完成本次评价" in reply_of(second)
    replay = await post_sms(client, sms_form(sms_sid(1), "１，２ 灯修好了，谢谢"))  # Twilio retries the first
    assert reply_of(replay) == ""
    [survey] = await surveys_of(db, ticket_id)
    assert survey.satisfaction == "satisfied"  # recorded once
    assert (await counts(db))["tickets"] == 1  # no answer became a new order
    async with db.read_session() as session:
        outcomes = (await session.execute(select(SurveyResponse.outcome).order_by(col(SurveyResponse.id)))).all()
        on_order = (await session.execute(select(Message.ticket_id))).scalars().all()
    assert [o for (o,) in outcomes] == ["recorded", "duplicate"]
    assert set(on_order) == {ticket_id}


async def test_one_question_at_a_time_and_an_unreadable_digit(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    start, steps = recent_steps()
    ticket_id = await replied_order(db, city, staff, at=start, steps=steps)
    await run_surveys(db, survey_policy, now=ago(minutes=50))
    unclear = await post_sms(client, sms_form(sms_sid(1), "7"))
    assert "未能识别" in reply_of(unclear)
    partial = await post_sms(client, sms_form(sms_sid(2), "满意"))
    assert "是否已解决" in reply_of(partial)
    assert (await order(db, ticket_id)).status == "replied"  # not closed on half an answer
    done = await post_sms(client, sms_form(sms_sid(3), "1"))  # the open question is now whether it was resolved
    assert "感谢您的评价" in reply_of(done)
    [survey] = await surveys_of(db, ticket_id)
    assert (survey.resolved, survey.satisfaction, survey.status) == (True, "satisfied", "answered")
    assert (await order(db, ticket_id)).status == "closed"


async def test_an_answer_after_expiry_is_kept_on_the_order_not_recorded(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    start = ago(days=6)
    ticket_id = await replied_order(db, city, staff, at=start, steps=Steps(approve=timedelta(days=1)))
    sent_at = start + timedelta(days=1, minutes=5)
    await run_surveys(db, survey_policy, now=sent_at)
    await run_surveys(db, survey_policy, now=sent_at + survey_policy.retry_after)
    await run_surveys(db, survey_policy, now=sent_at + 2 * survey_policy.retry_after)
    result = await run_surveys(db, survey_policy, now=sent_at + survey_policy.expire_after)
    assert result["expired"] == 1
    [survey] = await surveys_of(db, ticket_id)
    assert (survey.status, survey.attempts) == ("unreached", 3)
    assert (await order(db, ticket_id)).status == "closed"
    async with db.read_session() as session:
        keys = (await session.execute(select(OutboxMessage.dedupe_key).order_by(col(OutboxMessage.id)))).scalars()
        survey_keys = [k for k in keys if k.startswith("survey:")]
    assert survey_keys == [f"survey:{survey.id}:attempt:{n}" for n in (1, 2, 3)]

    late = await post_sms(client, sms_form(sms_sid(1), "12"))
    assert "本次回访已结束" in reply_of(late)
    [survey] = await surveys_of(db, ticket_id)
    assert survey.status == "unreached" and survey.satisfaction is None
    assert (await counts(db))["tickets"] == 1
    new_matter = await post_sms(client, sms_form(sms_sid(2), "另外，我家门口的井盖丢了"))
    assert "诉求已受理" in reply_of(new_matter)  # words about something else are a new order
    assert (await counts(db))["tickets"] == 2


async def test_free_text_goes_to_a_supervisor_who_records_what_it_means(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    start, steps = recent_steps()
    ticket_id = await replied_order(db, city, staff, at=start, steps=steps)
    await run_surveys(db, survey_policy, now=ago(minutes=50))
    answer = await post_sms(client, sms_form(sms_sid(1), "路灯还是时好时坏，晚上经常不亮"))
    assert "工作人员将尽快核实" in reply_of(answer)
    [survey] = await surveys_of(db, ticket_id)
    assert survey.status == "needs_reading" and survey.comment == "路灯还是时好时坏,晚上经常不亮"
    assert (await order(db, ticket_id)).status == "closed" and (await counts(db))["tickets"] == 1

    operator = await login(client, "operator1")
    supervisor = await login(client, "supervisor1")
    queue = await client.get("/api/v1/surveys", params={"status": "needs_reading"}, headers=supervisor)
    assert [row["id"] for row in queue.json()["items"]] == [survey.id]
    assert queue.json()["items"][0]["answer"]["responses"][0]["outcome"] == "free_text"
    refused = await client.post(f"/api/v1/surveys/{survey.id}/answer", json={"resolved": False}, headers=operator)
    assert refused.status_code == 403
    read = await client.post(
        f"/api/v1/surveys/{survey.id}/answer",
        json={"resolved": False, "satisfaction": "dissatisfied"},
        headers=supervisor,
    )
    assert read.status_code == 200, read.text
    body = read.json()
    assert (body["status"], body["answer"]["satisfaction_label"], body["judgement"]["status"]) == (
        "answered",
        "不满意",
        "pending",
    )
