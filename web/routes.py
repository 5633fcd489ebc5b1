"""Server-rendered pages: login with a secure session cookie, and the user's home page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hotline.auth import service as auth_service
from hotline.auth.models import HOTLINE_ROLES, ROLE_LABELS_ZH, Role
from hotline.db_types import utcnow
from hotline.deps import DB, SESSION_COOKIE, AppSettings, client_ip, current_user
from hotline.errors import DomainError
from hotline.tickets import repository, views
from hotline.timefmt import CHINA_TZ
from web.console import waiting_messages

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
HOME_PAGE_SIZE = 50
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN})

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, db: DB, settings: AppSettings) -> Response:
    """The logged-in user's work list, or the login form."""
    try:
        user = await current_user(request, db, settings)
    except DomainError:
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": None})
    now = utcnow()
    if user.role in HOTLINE_ROLES:
        async with db.read_session() as session:
            waiting = await waiting_messages(session)
        context = {"user": user, "role_label": ROLE_LABELS_ZH[user.role], "queue": waiting, "tz": CHINA_TZ}
        return TEMPLATES.TemplateResponse(request, "console.html", context)
    async with db.read_session() as session:
        rows, total = (
            await repository.list_tickets(
                session, user=user, filters=repository.TicketFilters(), now=now, page=1, page_size=HOME_PAGE_SIZE
            )
            if user.role not in ADMIN_ROLES
            else ([], 0)
        )
        items = await views.summaries(session, rows, now)
    context = {"user": user, "role_label": ROLE_LABELS_ZH[user.role], "items": items, "total": total, "tz": CHINA_TZ}
    return TEMPLATES.TemplateResponse(request, "home.html", context)


@router.post("/login")
async def login(
    request: Request,
    db: DB,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    """Check the form's credentials and set the HttpOnly session cookie."""
    async with db.session() as session:
        result = await auth_service.attempt_login(
            session, settings=settings, username=username, password=password, kind="web", client_ip=client_ip(request)
        )
    if result.error is not None:
        context = {"error": result.error.message_zh, "username": username}
        return TEMPLATES.TemplateResponse(request, "login.html", context, status_code=result.error.status_code)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.token or "",
        max_age=int(settings.session_max_age.total_seconds()),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
    )
    return response


@router.post("/logout")
async def logout(request: Request, db: DB, settings: AppSettings) -> Response:
    """Revoke the session and clear the cookie."""
    try:
        user = await current_user(request, db, settings)
        async with db.session() as session:
            await auth_service.revoke(session, session_id=user.session_id)
    except DomainError:
        pass  # already logged out
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=settings.cookie_secure, samesite="strict")
    return response
