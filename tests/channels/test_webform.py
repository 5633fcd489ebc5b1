"""The citizens' web form: file a request in Chinese, get the order number and a tracking link, look it up."""

from __future__ import annotations

import re

import httpx

from hotline.config import Settings
from hotline.db import Database
from tests.channels.conftest import counts, running_app

FORM = {
    "client_request_id": "0" * 31 + "1",
    "name": "王五",
    "phone": "13712345678",
    "request_type": "complaint",
    "address": "梁园区平原路",
    "content": "小区门口的路灯已经坏了一个星期",
}


async def test_form_page_is_chinese_and_carries_a_request_id(client: httpx.AsyncClient) -> None:
    page = await client.get("/citizen")
    assert page.status_code == 200 and "网上诉求" in page.text and "投诉" in page.text
    assert re.search(r'name="client_request_id" value="[0-9a-f]{32}"', page.text)


async def test_submit_shows_the_order_number_and_a_double_submit_is_one_order(
    client: httpx.AsyncClient, db: Database
) -> None:
    first = await client.post("/citizen/requests", data=FORM)
    again = await client.post("/citizen/requests", data=FORM)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    page = await client.get(first.headers["location"])
    assert page.status_code == 200 and "已受理" in page.text
    number = re.search(r'class="number">(\d{13})<', page.text)
    assert number and number.group(1) in first.headers["location"]
    assert (await counts(db))["tickets"] == 1


async def test_tracking_needs_the_link_or_the_number_with_the_phone(client: httpx.AsyncClient) -> None:
    location = (await client.post("/citizen/requests", data=FORM)).headers["location"]
    number = location.split("/")[3].split("?")[0]
    assert (await client.get(f"/citizen/orders/{number}?t=wrong")).status_code == 404
    wrong_phone = await client.post("/citizen/track", data={"number": number, "phone": "13800000000"})
    assert wrong_phone.status_code == 404
    found = await client.post("/citizen/track", data={"number": number, "phone": "137 1234 5678"})
    assert found.status_code == 303 and found.headers["location"] == location


async def test_bad_submissions_come_back_on_the_form_with_nothing_written(
    client: httpx.AsyncClient, db: Database
) -> None:
    for form in (
        {**FORM, "content": ""},
        {**FORM, "phone": "abc"},
        {**FORM, "request_type": "bribe"},
        {**FORM, "website": "http://spam"},
        {**FORM, "content": "长" * 2001},
    ):
        response = await client.post("/citizen/requests", data=form)
        assert 400 <= response.status_code < 500 and 'class="error"' in response.text
    assert (await counts(db))["messages"] == 0


async def test_submissions_are_rate_limited_per_client(channel_settings: Settings, db: Database) -> None:
    async with running_app(channel_settings.model_copy(update={"public_submit_per_minute": 2})) as client:
        codes = [
            (await client.post("/citizen/requests", data={**FORM, "client_request_id": f"{i:032x}"})).status_code
            for i in range(3)
        ]
    assert codes == [303, 303, 429]


async def test_a_reused_request_id_from_another_phone_is_another_order(client: httpx.AsyncClient, db: Database) -> None:
    mine = await client.post("/citizen/requests", data=FORM)
    theirs = await client.post("/citizen/requests", data={**FORM, "phone": "13612345678"})
    assert mine.headers["location"] != theirs.headers["location"]
    assert (await counts(db))["tickets"] == 2
