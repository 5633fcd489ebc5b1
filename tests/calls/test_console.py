"""The live console: presence buttons on the page, and the screen pop pushed to the operator who answered."""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr
from starlette.testclient import TestClient

from hotline.auth.models import User
from hotline.calls import cti
from hotline.config import Settings
from hotline.main import create_app
from tests.calls.conftest import CALLER, CTI_SECRET
from tests.conftest import PASSWORD


def _signed(client: TestClient, event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event).encode()
    response = client.post("/channels/cti/events", content=body, headers=cti.signed_headers(CTI_SECRET, body))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_operator_sees_presence_buttons_and_gets_the_screen_pop_of_their_call(
    settings: Settings, operators: dict[str, User]
) -> None:
    settings = settings.model_copy(update={"cti_hmac_secret": SecretStr(CTI_SECRET)})
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        login = client.post("/login", data={"username": "op_a", "password": PASSWORD}, follow_redirects=False)
        assert login.status_code == 303
        page = client.get("/").text
        for button in ("示闲", "示忙", "小休", "话后处理"):
            assert f">{button}</button>" in page
        assert 'data-operator="op_a"' in page and "来电弹屏" in page
        seat = client.put("/api/v1/seats/me", json={"presence": "available", "endpoint": "8001"})
        assert seat.json()["presence_label"] == "示闲"
        with client.websocket_connect("/ws/console") as socket:
            assert socket.receive_json()["type"] == "hello"
            assert _signed(client, {"event": "incoming", "call_id": "pbx-1", "caller": CALLER})["seat"] == "8001"
            _signed(client, {"event": "answered", "call_id": "pbx-1", "seat": "8001"})
            pushed = [socket.receive_json() for _ in range(4)]
        types = [p["type"] for p in pushed]
        assert types == ["call.queued", "call.offered", "call.answered", "call.screen_pop"]
        pop = pushed[-1]
        assert (pop["operator"], pop["caller"], pop["open_orders"]) == ("op_a", CALLER, [])
        busy = client.put("/api/v1/seats/me", json={"presence": "break"})
        assert busy.json()["presence"] == "break" and busy.json()["call_id"] is not None  # on the call until it ends
