"""Open311 GeoReport v2 as a civic app calls it: services, requests, status; JSON and XML; its error format."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
from sqlmodel import select

from hotline.db import Database
from hotline.tickets.models import Ticket
from tests.channels.conftest import counts, post_sms, sms_form, sms_sid
from tests.conftest import City

BASE = "/open311/v2"
PLACE = {"address_string": "商丘市梁园区神火大道", "lat": "34.414", "long": "115.656"}


async def test_services_are_our_leaf_categories_in_json_and_xml(client: httpx.AsyncClient, city: City) -> None:
    services = (await client.get(f"{BASE}/services.json")).json()
    assert len(services) > 100
    first = services[0]
    assert set(first) >= {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert first["metadata"] is False and first["type"] == "realtime"
    root = ET.fromstring((await client.get(f"{BASE}/services.xml")).content)
    assert root.tag == "services" and len(root) == len(services)
    assert root[0].find("service_code").text == first["service_code"]  # type: ignore[union-attr]
    definition = (await client.get(f"{BASE}/services/{first['service_code']}.json")).json()
    assert definition == {"service_code": first["service_code"], "attributes": []}
    assert (await client.get(f"{BASE}/services/nope.json")).status_code == 404


async def test_post_a_request_and_read_its_status(client: httpx.AsyncClient, city: City, db: Database) -> None:
    code = (await client.get(f"{BASE}/services.json")).json()[0]["service_code"]
    form = {"service_code": code, **PLACE, "description": "人行道地砖破损", "phone": "13512345678", "api_key": "k"}
    created = await client.post(f"{BASE}/requests.json", data=form)
    assert created.status_code == 200
    (receipt,) = created.json()
    number = receipt["service_request_id"]
    (status,) = (await client.get(f"{BASE}/requests/{number}.json")).json()
    assert status["status"] == "open" and status["service_code"] == code
    assert status["description"] == "人行道地砖破损" and status["lat"] == 34.414 and status["long"] == 115.656
    assert status["requested_datetime"].endswith("+08:00")
    xml = ET.fromstring((await client.get(f"{BASE}/requests/{number}.xml")).content)
    assert xml.tag == "service_requests" and xml[0].find("status").text == "open"  # type: ignore[union-attr]
    listed = (await client.get(f"{BASE}/requests.json", params={"status": "open", "service_code": code})).json()
    assert [r["service_request_id"] for r in listed] == [number]
    async with db.read_session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.channel == "open311" and ticket.category_id is not None and ticket.address == PLACE["address_string"]


async def test_idempotency_key_makes_a_retry_the_same_request(
    client: httpx.AsyncClient, city: City, db: Database
) -> None:
    code = (await client.get(f"{BASE}/services.json")).json()[0]["service_code"]
    form = {"service_code": code, **PLACE, "description": "重试"}
    headers = {"Idempotency-Key": "app-req-0001"}
    one = (await client.post(f"{BASE}/requests.json", data=form, headers=headers)).json()
    two = (await client.post(f"{BASE}/requests.json", data=form, headers=headers)).json()
    assert one == two and (await counts(db))["tickets"] == 1


async def test_errors_come_in_georeport_format_and_write_nothing(
    client: httpx.AsyncClient, city: City, db: Database
) -> None:
    code = (await client.get(f"{BASE}/services.json")).json()[0]["service_code"]
    bad = [
        {"service_code": "nope", **PLACE},
        {"service_code": code},  # no place
        {"service_code": code, "lat": "95", "long": "115"},
        {"service_code": code, "lat": "nan", "long": "115", "address_string": "x"},
        {"service_code": code, **PLACE, "phone": "not-a-phone"},
    ]
    for form in bad:
        response = await client.post(f"{BASE}/requests.json", data=form)
        assert 400 <= response.status_code < 500, form
        (error,) = response.json()
        assert error["code"] == response.status_code and error["description"]
    xml = await client.post(f"{BASE}/requests.xml", data=bad[0])
    assert ET.fromstring(xml.content).tag == "errors"
    assert (await client.get(f"{BASE}/requests/1.json")).status_code == 404
    assert (await client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"})).status_code == 400
    assert (await counts(db))["messages"] == 0


async def test_other_orders_show_status_but_not_their_content(client: httpx.AsyncClient, city: City) -> None:
    response = await post_sms(client, sms_form(sms_sid(1), "私人短信内容"))
    number = response.text.split("工单号")[1][:13]
    (status,) = (await client.get(f"{BASE}/requests/{number}.json")).json()
    assert status["status"] == "open" and status["description"] is None and status["address"] is None
    assert (await client.get(f"{BASE}/requests.json")).json() == []  # the public list shows Open311 requests only


async def test_the_same_key_with_other_fields_is_another_request(
    client: httpx.AsyncClient, city: City, db: Database
) -> None:
    code = (await client.get(f"{BASE}/services.json")).json()[0]["service_code"]
    headers = {"Idempotency-Key": "1"}  # a careless client reusing one key
    one = (
        await client.post(
            f"{BASE}/requests.json", data={"service_code": code, **PLACE, "description": "甲"}, headers=headers
        )
    ).json()
    two = (
        await client.post(
            f"{BASE}/requests.json", data={"service_code": code, **PLACE, "description": "乙"}, headers=headers
        )
    ).json()
    assert one[0]["service_request_id"] != two[0]["service_request_id"]
