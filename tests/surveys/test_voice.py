"""The automated survey call, end to end: the outbox asks the stand-in Twilio to call, Twilio's keypad
webhooks (signed by twilio's RequestValidator) walk through the questions, a retried webhook records nothing twice."""

from __future__ import annotations

from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
from twilio.request_validator import RequestValidator

from hotline.auth.models import User
from hotline.channels.models import Channel
from hotline.db import Database
from hotline.outbox.service import deliver_due
from hotline.surveys.service import SurveyPolicy
from hotline.surveys.tasks import run_surveys
from tests.channels.conftest import PUBLIC_URL, TWILIO_TOKEN
from tests.conftest import City
from tests.surveys.conftest import PHONE, ago, order, recent_steps, replied_order, surveys_of

CALL_SID = "CA" + "7" * 32


async def twilio_posts(client: httpx.AsyncClient, url: str, **fields: str) -> ElementTree.Element:
    """What Twilio sends to a TwiML URL during the call, signed; the TwiML it gets back."""
    form = {"CallSid": CALL_SID, "AccountSid": "AC" + "0" * 32, "From": "+8612345000000", "To": PHONE, **fields}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    parts = urlsplit(url)
    response = await client.post(f"{parts.path}?{parts.query}", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return ElementTree.fromstring(response.text)


def gather(twiml: ElementTree.Element) -> tuple[str, str]:
    """The question asked and where the key pressed goes."""
    element = twiml.find("Gather")
    assert element is not None, ElementTree.tostring(twiml, encoding="unicode")
    return "".join(element.itertext()), element.attrib["action"]


async def test_keypad_survey_end_to_end(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy, providers
) -> None:
    start, steps = recent_steps()
    ticket_id = await replied_order(db, city, staff, at=start, steps=steps, channel=Channel.PHONE)
    await run_surveys(db, survey_policy, now=ago(minutes=50))
    adapters, peers = providers
    await deliver_due(db, adapters)
    [call] = peers.calls
    assert call["To"] == PHONE and call["Method"] == "POST"
    assert call["Url"].startswith(PUBLIC_URL + "/channels/twilio/voice/survey?survey=")

    question, action = gather(await twilio_posts(client, call["Url"], CallStatus="in-progress"))
    assert "未解决请按2" in question
    question, action = gather(await twilio_posts(client, action, Digits="1"))
    assert "非常不满意请按5" in question
    wrong, retry = gather(await twilio_posts(client, action, Digits="9"))
    assert wrong.startswith("抱歉，按键无效") and "try=2" in retry
    done = await twilio_posts(client, retry, Digits="4")
    assert done.find("Hangup") is not None and "感谢您的评价" in "".join(done.itertext())
    replayed = await twilio_posts(client, retry, Digits="4")  # Twilio retries the webhook
    assert replayed.find("Hangup") is not None

    [survey] = await surveys_of(db, ticket_id)
    assert (survey.status, survey.resolved, survey.satisfaction, survey.answered_via) == (
        "answered",
        True,
        "dissatisfied",
        "voice",
    )
    assert survey.review_status == "pending"
    assert (await order(db, ticket_id)).status == "closed"
    again = await twilio_posts(client, call["Url"])  # a later call to the same survey says it is over
    assert "本次回访已结束" in "".join(again.itertext())


async def test_unsigned_keypad_webhooks_are_refused(
    client: httpx.AsyncClient, db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy
) -> None:
    start, steps = recent_steps()
    ticket_id = await replied_order(db, city, staff, at=start, steps=steps, channel=Channel.PHONE)
    await run_surveys(db, survey_policy, now=ago(minutes=50))
    [survey] = await surveys_of(db, ticket_id)
    path = f"/channels/twilio/voice/survey?survey={survey.id}&question=resolved&try=1"
    form = {"CallSid": CALL_SID, "Digits": "1"}
    forged = RequestValidator("not-our-token").compute_signature(PUBLIC_URL + path, form)
    for headers in ({}, {"X-Twilio-Signature": forged}):
        response = await client.post(path, data=form, headers=headers)
        assert response.status_code == 403
    [survey] = await surveys_of(db, ticket_id)
    assert survey.resolved is None and survey.status == "awaiting"
