"""Logins with lockout, opaque session tokens with idle timeout, and revocation."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.audit.service import record
from hotline.auth.models import AuthSession, Role, User
from hotline.auth.passwords import verify_password
from hotline.config import Settings
from hotline.db_types import utcnow
from hotline.errors import DomainError, NotAuthenticated
from hotline.units.models import Unit

TOUCH_INTERVAL = timedelta(minutes=1)  # how stale last_seen_at may get before we write it again


@dataclass(frozen=True)
class CurrentUser:
    """The authenticated staff member of a request."""

    id: int
    username: str
    display_name: str
    role: Role
    unit_id: int | None
    unit_path: str | None
    session_id: int


@dataclass(frozen=True)
class LoginResult:
    """A token on success, or the refusal to raise once the failed attempt is committed."""

    token: str | None = None
    user: User | None = None
    error: DomainError | None = None


def token_digest(token: str) -> str:
    """What we store instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


async def attempt_login(
    session: AsyncSession, *, settings: Settings, username: str, password: str, kind: str, client_ip: str | None
) -> LoginResult:
    """Check a password, counting failures and locking the account after too many."""
    now = utcnow()
    user = (await session.execute(select(User).where(col(User.username) == username))).scalar_one_or_none()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)
        record(session, action="login.locked", actor_id=user.id, actor_username=username, client_ip=client_ip)
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(
            error=NotAuthenticated(
                f"账号已锁定，请 {minutes} 分钟后再试", f"account locked, try again in {minutes} minute(s)"
            )
        )
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        _count_failure(user, settings, now)
        record(
            session,
            action="login.failed",
            actor_id=user.id if user else None,
            actor_username=username,
            client_ip=client_ip,
        )
        return LoginResult(error=NotAuthenticated("用户名或密码错误", "wrong username or password"))
    user.failed_logins = 0
    user.locked_until = None
    token = await open_session(session, settings=settings, user=user, kind=kind, client_ip=client_ip)
    record(session, action="login.succeeded", actor_id=user.id, actor_username=username, client_ip=client_ip)
    return LoginResult(token=token, user=user)


def _count_failure(user: User | None, settings: Settings, now: datetime) -> None:
    if user is None:
        return
    user.failed_logins += 1
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = now + settings.lockout_duration
        user.failed_logins = 0


async def open_session(
    session: AsyncSession, *, settings: Settings, user: User, kind: str, client_ip: str | None
) -> str:
    """Create a session and return its token (shown once, stored only as a digest)."""
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        AuthSession(
            token_hash=token_digest(token),
            user_id=user.id,
            kind=kind,
            expires_at=utcnow() + settings.session_max_age,
            client_ip=client_ip,
        )
    )
    return token


async def resolve(session: AsyncSession, *, settings: Settings, token: str) -> tuple[CurrentUser, bool] | None:
    """The user behind a live token and whether its last-seen time is due a refresh; None if not live."""
    row = (
        await session.execute(
            select(AuthSession, User, col(Unit.path))
            .join(User, col(User.id) == col(AuthSession.user_id))
            .outerjoin(Unit, col(Unit.id) == col(User.unit_id))
            .where(col(AuthSession.token_hash) == token_digest(token))
        )
    ).one_or_none()
    if row is None:
        return None
    auth, user, unit_path = row
    now = utcnow()
    if auth.revoked_at or auth.expires_at <= now or auth.last_seen_at + settings.session_idle_timeout <= now:
        return None
    if not user.is_active:
        return None
    assert user.id is not None and auth.id is not None
    current = CurrentUser(user.id, user.username, user.display_name, Role(user.role), user.unit_id, unit_path, auth.id)
    return current, auth.last_seen_at + TOUCH_INTERVAL <= now


async def touch(session: AsyncSession, *, session_id: int) -> None:
    """Record activity on a session, which keeps the idle timeout away."""
    auth = await session.get(AuthSession, session_id)
    if auth is not None:
        auth.last_seen_at = utcnow()


async def revoke(session: AsyncSession, *, session_id: int) -> None:
    """End a session for good: its token stops working at once."""
    auth = await session.get(AuthSession, session_id)
    if auth is not None and auth.revoked_at is None:
        auth.revoked_at = utcnow()
