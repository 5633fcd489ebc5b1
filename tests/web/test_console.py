"""The live console: hotline staff get new messages pushed over the websocket; others are refused."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hotline.config import Settings
from hotline.events.bus import BUS_RESUMED, BusEvent
from hotline.main import create_app
from tests.conftest import PASSWORD, City
from web.console import SERVICE_RESTART

SMS = {
    "type": "message.received",
    "message_id": 7,
    "channel": "sms",
    "ticket_id": 3,
    "ticket_number": "2026112100003",
    "new_ticket": True,
    "preview": "楼下垃圾没人清运",
}


def _login(client: TestClient, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303 and "hotline_session" in client.cookies


def test_an_operator_receives_new_messages_and_the_page_shows_the_queue(settings: Settings, staff: dict) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        _login(client, "operator1")  # the client keeps the session cookie
        page = client.get("/")
        assert "待受理消息" in page.text and "console.js" in page.text
        with client.websocket_connect("/ws/console") as socket:
            assert socket.receive_json()["type"] == "hello"
            client.portal.call(client.app.state.bus.publish, BusEvent("console", SMS))  # type: ignore[union-attr]
            pushed = socket.receive_json()
        assert pushed["preview"] == "楼下垃圾没人清运" and pushed["ticket_number"] == "2026112100003"


@pytest.mark.parametrize("who", [None, "dept_liangyuan1", "admin1"])
def test_the_console_socket_is_for_hotline_staff_only(settings: Settings, staff: dict, who: str | None) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        if who:
            _login(client, who)  # the client keeps the session cookie
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/console") as socket:
            socket.receive_json()
        queue = client.get("/api/v1/console/queue")
        assert queue.status_code == (401 if who is None else 403)


def test_a_page_from_another_site_cannot_open_the_socket(settings: Settings, staff: dict) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        _login(client, "operator1")
        headers = {"origin": "http://evil.example"}
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect("/ws/console", headers=headers) as socket,
        ):
            socket.receive_json()


def test_other_clients_authenticate_with_a_bearer_header_never_a_token_in_the_url(
    settings: Settings, staff: dict
) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        login = client.post("/api/v1/auth/login", json={"username": "operator1", "password": PASSWORD})
        token = login.json()["access_token"]
        with client.websocket_connect("/ws/console", headers={"Authorization": f"Bearer {token}"}) as socket:
            assert socket.receive_json()["user"] == "operator1"
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(f"/ws/console?token={token}") as socket:
            socket.receive_json()  # access logs keep URLs: a token there is refused


def _order_event(ticket_id: int, lead_unit_id: int | None, action: str = "dispatched") -> BusEvent:
    return BusEvent(
        "tickets",
        {
            "type": f"ticket.{action}",
            "ticket_id": ticket_id,
            "number": f"202611210{ticket_id:04d}",
            "status": "dispatched",
            "lead_unit_id": lead_unit_id,
        },
    )


def test_department_staff_hear_at_once_about_their_own_units_orders_and_nothing_else(
    settings: Settings, staff: dict, city: City
) -> None:
    liangyuan, pingyuan, suiyang = (city.unit(code).id for code in ("liangyuan", "liangyuan_pingyuan", "suiyang"))
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        _login(client, "dept_liangyuan1")

        def publish(event: BusEvent) -> None:
            client.portal.call(client.app.state.bus.publish, event)  # type: ignore[union-attr]

        with client.websocket_connect("/ws/workbench") as socket:
            assert socket.receive_json() == {"type": "hello", "user": "dept_liangyuan1"}
            publish(_order_event(1, suiyang))  # another district's order: not a word of it
            publish(_order_event(2, pingyuan))  # a street under the district
            assert socket.receive_json() == {
                "type": "ticket.dispatched",
                "ticket_id": 2,
                "number": "2026112100002",
                "status": "dispatched",
            }
            publish(_order_event(2, suiyang, "redispatched"))  # sent elsewhere: told, so it leaves the list
            assert socket.receive_json()["type"] == "ticket.redispatched"
            publish(_order_event(1, suiyang))
            publish(_order_event(3, liangyuan, "accepted"))
            assert socket.receive_json()["ticket_id"] == 3


@pytest.mark.parametrize("who", [None, "operator1", "supervisor1"])
def test_the_workbench_socket_is_for_department_staff_only(settings: Settings, staff: dict, who: str | None) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        if who:
            _login(client, who)
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/workbench") as socket:
            socket.receive_json()


def test_an_assisting_unit_hears_of_the_order_it_was_given_along_with_the_lead(
    settings: Settings, staff: dict, city: City
) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        operator = {"Authorization": "Bearer " + _token(client, "operator1")}
        order = client.post("/api/v1/tickets", json={"content": "建设路工地夜间施工扰民"}, headers=operator).json()
        _login(client, "dept_liangyuan1")
        with client.websocket_connect("/ws/workbench") as socket:
            assert socket.receive_json()["type"] == "hello"
            dispatched = client.post(
                f"/api/v1/tickets/{order['id']}/dispatch",
                json={"lead_unit_id": city.unit("zhujian").id, "assisting_unit_ids": [city.unit("liangyuan").id]},
                headers=operator,
            )
            assert dispatched.status_code == 200, dispatched.text
            sentinel = _order_event(999_999, city.unit("liangyuan").id)  # one the district leads, sent after
            client.portal.call(client.app.state.bus.publish, sentinel)  # type: ignore[union-attr]
            pushed = socket.receive_json()  # the district only assists: the bureau leads
        assert (pushed["type"], pushed["ticket_id"], pushed["status"]) == (
            "ticket.dispatch",
            order["id"],
            "dispatched",
        )


def _token(client: TestClient, username: str) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return str(response.json()["access_token"])


@pytest.mark.parametrize(
    ("who", "path", "channel"),
    [("operator1", "/ws/console", "console"), ("dept_liangyuan1", "/ws/workbench", "tickets")],
)
def test_when_events_were_lost_on_the_bus_the_page_is_asked_to_reconnect_and_reload(
    settings: Settings, staff: dict, who: str, path: str, channel: str
) -> None:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        _login(client, who)
        with client.websocket_connect(path) as socket:
            assert socket.receive_json()["type"] == "hello"
            client.portal.call(client.app.state.bus.publish, BusEvent(channel, {"type": BUS_RESUMED}))  # type: ignore[union-attr]
            with pytest.raises(WebSocketDisconnect) as closed:
                socket.receive_json()
        assert closed.value.code == SERVICE_RESTART
