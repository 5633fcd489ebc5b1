"""``/api/v1/auth``: login, logout, who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import col, select

from hotline.auth import service
from hotline.auth.models import ROLE_LABELS_ZH, Role, User
from hotline.auth.schemas import LoginIn, LoginOut, UserPublic
from hotline.deps import DB, AppSettings, client_ip
from hotline.deps import User as Current

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def user_public(user: User) -> UserPublic:
    assert user.id is not None
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        role_label=ROLE_LABELS_ZH[Role(user.role)],
        unit_id=user.unit_id,
    )


@router.post("/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, db: DB, settings: AppSettings) -> LoginOut:
    """Exchange a username and password for a bearer token; 5 failures lock the account for 10 minutes."""
    async with db.session() as session:
        result = await service.attempt_login(
            session,
            settings=settings,
            username=body.username,
            password=body.password,
            kind="api",
            client_ip=client_ip(request),
        )
        public = user_public(result.user) if result.user is not None else None
    if result.error is not None or result.token is None or public is None:
        raise result.error or AssertionError("login produced neither a token nor an error")
    return LoginOut(access_token=result.token, expires_in=int(settings.session_max_age.total_seconds()), user=public)


@router.post("/logout", status_code=204)
async def logout(user: Current, db: DB) -> None:
    """Revoke the session behind this token or cookie."""
    async with db.session() as session:
        await service.revoke(session, session_id=user.session_id)


@router.get("/me", response_model=UserPublic)
async def me(user: Current, db: DB) -> UserPublic:
    """The logged-in user."""
    async with db.read_session() as session:
        row = (await session.execute(select(User).where(col(User.id) == user.id))).scalar_one()
    return user_public(row)
