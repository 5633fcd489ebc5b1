"""Logins, lockout, revocation, idle timeout, the web cookie and the settings guard."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from hotline.auth.models import AuthSession, User
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from tests.conftest import PASSWORD, login


async def test_login_gives_a_token_that_identifies_the_user(app_client: httpx.AsyncClient, staff: dict) -> None:
    headers = await login(app_client, "operator1")
    me = await app_client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == "operator1"
    assert me.json()["role_label"] == "话务员"


async def test_passwords_are_stored_as_argon2id(db: Database, staff: dict) -> None:
    async with db.read_session() as session:
        stored = (await session.execute(select(User.password_hash).where(User.username == "operator1"))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}])
async def test_no_valid_token_no_data(app_client: httpx.AsyncClient, staff: dict, headers: dict) -> None:
    response = await app_client.get("/api/v1/tickets", headers=headers)
    assert response.status_code == 401
    assert "登录" in response.json()["detail"]


async def test_five_failures_lock_the_account_even_for_the_right_password(
    app_client: httpx.AsyncClient, staff: dict, db: Database
) -> None:
    for _ in range(5):
        wrong = await app_client.post("/api/v1/auth/login", json={"username": "supervisor1", "password": "nope"})
        assert wrong.status_code == 401
    locked = await app_client.post("/api/v1/auth/login", json={"username": "supervisor1", "password": PASSWORD})
    assert locked.status_code == 401
    assert "锁定" in locked.json()["detail"]
    # ten minutes later the lock has lifted
    async with db.session() as session:
        await session.execute(
            update(User).where(User.username == "supervisor1").values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert (await login(app_client, "supervisor1"))["Authorization"].startswith("Bearer ")


async def test_four_failures_then_success_resets_the_count(app_client: httpx.AsyncClient, staff: dict) -> None:
    for _ in range(4):
        await app_client.post("/api/v1/auth/login", json={"username": "operator1", "password": "nope"})
    await login(app_client, "operator1")
    for _ in range(4):
        await app_client.post("/api/v1/auth/login", json={"username": "operator1", "password": "nope"})
    await login(app_client, "operator1")


async def test_logout_revokes_the_token(app_client: httpx.AsyncClient, staff: dict) -> None:
    headers = await login(app_client, "dispatcher1")
    assert (await app_client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await app_client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_idle_session_expires(app_client: httpx.AsyncClient, staff: dict, db: Database) -> None:
    headers = await login(app_client, "operator1")
    async with db.session() as session:
        await session.execute(update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    assert (await app_client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_activity_keeps_the_session_alive(app_client: httpx.AsyncClient, staff: dict, db: Database) -> None:
    headers = await login(app_client, "operator1")
    async with db.session() as session:
        await session.execute(update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=20)))
    assert (await app_client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    async with db.read_session() as session:
        seen = (await session.execute(select(AuthSession.last_seen_at))).scalar_one()
    assert utcnow() - seen < timedelta(minutes=1)


async def test_web_login_sets_a_secure_httponly_cookie_and_logout_revokes_it(
    app_client: httpx.AsyncClient, staff: dict
) -> None:
    app_client.app.state.settings.cookie_secure = True  # type: ignore[attr-defined]
    page = await app_client.get("/")
    assert 'type="password"' in page.text and "登录" in page.text
    response = await app_client.post("/login", data={"username": "operator1", "password": PASSWORD})
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    token = response.cookies["hotline_session"]
    home = await app_client.get("/", headers={"Cookie": f"hotline_session={token}"})
    assert "待受理消息" in home.text  # an operator lands on the live console
    await app_client.post("/logout", headers={"Cookie": f"hotline_session={token}"})
    after = await app_client.get("/api/v1/auth/me", headers={"Cookie": f"hotline_session={token}"})
    assert after.status_code == 401


async def test_web_login_failure_shows_a_chinese_message(app_client: httpx.AsyncClient, staff: dict) -> None:
    response = await app_client.post("/login", data={"username": "operator1", "password": "wrong"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="HOTLINE_SECRET_KEY"):
        Settings(environment="production")
    assert Settings(environment="production", secret_key="a-real-secret-from-the-vault").environment == "production"
