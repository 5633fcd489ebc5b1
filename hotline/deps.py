"""FastAPI dependencies shared by every router: the database, settings and the current user."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from hotline.audit.service import record
from hotline.auth import service as auth_service
from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.config import Settings
from hotline.db import Database
from hotline.errors import Forbidden, NotAuthenticated

SESSION_COOKIE = "hotline_session"


# Dependencies are ``async def`` even when they do not await: FastAPI runs a plain ``def`` dependency in its
# thread pool, two thread hand-offs per request that cost more than the whole lookup.
async def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def bearer_or_cookie(connection: HTTPConnection) -> str | None:
    """The session token from ``Authorization: Bearer`` or, for the web UI, the session cookie.

    Never from the URL: a token in a query string ends up in access logs and proxies' logs.
    """
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return connection.cookies.get(SESSION_COOKIE)


async def current_user(
    request: Request,
    db: Annotated[Database, Depends(get_db)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> CurrentUser:
    """The logged-in user, or 401."""
    token = bearer_or_cookie(request)
    if not token:
        raise NotAuthenticated("请先登录", "authentication required")
    async with db.read_session() as session:
        resolved = await auth_service.resolve(session, settings=settings, token=token)
    if resolved is None:
        raise NotAuthenticated("登录已失效，请重新登录", "session expired or revoked; log in again")
    user, stale = resolved
    if stale:
        async with db.session() as session:
            await auth_service.touch(session, session_id=user.session_id)
    return user


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def audit(
    session: AsyncSession,
    request: Request,
    user: CurrentUser,
    *,
    action: str,
    object_type: str,
    object_id: str | int | None,
    detail: dict[str, Any],
) -> None:
    """Record an act of the signed-in user, and the address it came from, in the caller's transaction."""
    record(
        session,
        action=action,
        actor_id=user.id,
        actor_username=user.username,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        client_ip=client_ip(request),
    )


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, CurrentUser]]:
    """A dependency that admits only the given roles."""
    allowed = frozenset(roles)

    async def dependency(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
        if user.role not in allowed:
            raise Forbidden("当前角色无权访问", f"role {user.role} may not use this endpoint")
        return user

    return dependency


DB = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
User = Annotated[CurrentUser, Depends(current_user)]
