"""Server-rendered pages: login with a secure session cookie, and one screen per role (the role picks the first)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hotline.auth import service as auth_service
from hotline.auth.models import HOTLINE_ROLES, ROLE_LABELS_ZH, Role
from hotline.auth.service import CurrentUser
from hotline.channels.models import CHANNEL_LABELS_ZH
from hotline.deps import DB, SESSION_COOKIE, AppSettings, client_ip, current_user
from hotline.errors import DomainError
from hotline.tickets.lifecycle import STATUS_LABELS_ZH
from hotline.tickets.models import REQUEST_TYPE_LABELS_ZH, URGENCY_LABELS_ZH
from hotline.timefmt import CHINA_TZ
from web.console import waiting_items

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True)
class Screen:
    """One of the staff screens: its address, its name in the menu and who may open it."""

    path: str
    template: str
    label: str
    roles: frozenset[Role]


SCREENS = (
    Screen("/console", "console.html", "受理台", HOTLINE_ROLES),
    Screen("/workbench", "workbench.html", "承办工作台", frozenset({Role.DEPARTMENT_STAFF})),
    Screen("/dashboard", "dashboard.html", "督办看板", frozenset({Role.SUPERVISOR, Role.DISPATCHER})),
    Screen("/knowledge", "knowledge.html", "知识库维护", frozenset({Role.DEPARTMENT_STAFF, Role.SUPERVISOR})),
    Screen("/audit", "audit.html", "审计日志", frozenset({Role.AUDITOR, Role.SUPERVISOR})),
    Screen("/admin", "admin.html", "系统管理", frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})),
)
SCREEN_BY_PATH = {s.path: s for s in SCREENS}
LANDING = {
    Role.OPERATOR: "/console",
    Role.DISPATCHER: "/console",
    Role.SUPERVISOR: "/dashboard",
    Role.DEPARTMENT_STAFF: "/workbench",
    Role.SYSTEM_ADMIN: "/admin",
    Role.SECURITY_ADMIN: "/admin",
    Role.AUDITOR: "/audit",
}

router = APIRouter(include_in_schema=False)


def _frame(user: CurrentUser, screen: Screen) -> dict[str, Any]:
    """What every page's frame shows: who is logged in and the screens of their role."""
    return {
        "user": user,
        "role_label": ROLE_LABELS_ZH[user.role],
        "tz": CHINA_TZ,
        "screen": screen,
        "menu": [s for s in SCREENS if user.role in s.roles],
    }


async def _render(request: Request, db: DB, user: CurrentUser, screen: Screen) -> Response:
    """A screen for a user allowed to see it; the console comes with its queue already filled."""
    context = _frame(user, screen)
    if screen.path in ("/console", "/admin"):
        context["request_types"], context["urgencies"] = REQUEST_TYPE_LABELS_ZH, URGENCY_LABELS_ZH
    if screen.path == "/console":
        async with db.read_session() as session:
            context["queue"] = await waiting_items(session)
    if screen.path == "/dashboard":
        context["statuses"], context["channels"] = STATUS_LABELS_ZH, CHANNEL_LABELS_ZH
    return TEMPLATES.TemplateResponse(request, screen.template, context)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, db: DB, settings: AppSettings) -> Response:
    """The login form, or the screen the user's role lands on."""
    try:
        user = await current_user(request, db, settings)
    except DomainError:
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": None})
    return await _render(request, db, user, SCREEN_BY_PATH[LANDING[user.role]])


@router.get("/favicon.ico", include_in_schema=False)
async def favicon(request: Request) -> Response:
    """Browsers ask for it on pages that name no icon (JSON answers, downloads)."""
    return RedirectResponse(str(request.url_for("static", path="favicon.svg")), status_code=301)


async def _screen(request: Request, db: DB, settings: AppSettings, path: str) -> Response:
    try:
        user = await current_user(request, db, settings)
    except DomainError:
        return RedirectResponse("/", status_code=303)
    screen = SCREEN_BY_PATH[path]
    if user.role not in screen.roles:
        return TEMPLATES.TemplateResponse(request, "forbidden.html", _frame(user, screen), status_code=403)
    return await _render(request, db, user, screen)


def _page(path: str) -> Callable[[Request, DB, AppSettings], Awaitable[Response]]:
    async def page(request: Request, db: DB, settings: AppSettings) -> Response:
        return await _screen(request, db, settings, path)

    page.__doc__ = f"The {path.strip('/')} screen."
    return page


for _s in SCREENS:
    router.add_api_route(_s.path, _page(_s.path), methods=["GET"], response_class=HTMLResponse)


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
