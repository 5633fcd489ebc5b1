"""The public self-service FAQ page (常见问题) and case lookup (办件查询) for citizens, server-rendered."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

import web
from hotline.db_types import utcnow
from hotline.deps import DB, AppSettings
from hotline.errors import DomainError
from knowledge_base.deps import Index
from knowledge_base.live_index import china_day, is_live
from knowledge_base.models import EntryStatus, KbEntry
from knowledge_base.platform.client import PlatformClient

router = APIRouter(tags=["citizen pages"])
TEMPLATES = Jinja2Templates(directory=Path(web.__file__).parent / "templates")
RESULTS_SHOWN = 10
LATEST_SHOWN = 20


@router.get("/faq", response_class=HTMLResponse)
async def faq(request: Request, db: DB, index: Index, q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    """Search the published answers; without a question, the latest ones."""
    query = q.strip()
    if query:
        hits = await index.search(query, limit=RESULTS_SHOWN)
        entries = [_shown(index, int(hit.entry_id), hit.highlighted_question) for hit in hits]
    else:
        entries = await _latest(db, index)
    context = {"q": query, "entries": [entry for entry in entries if entry], "searched": bool(query)}
    return TEMPLATES.TemplateResponse(request, "faq.html", context)


@router.get("/faq/cases", response_class=HTMLResponse)
async def case_lookup(
    request: Request, settings: AppSettings, application_no: Annotated[str, Query(max_length=64)] = ""
) -> HTMLResponse:
    """A citizen looks up their application's status on the approval platform by its number."""
    context: dict[str, Any] = {"q": "", "entries": [], "searched": False, "application_no": application_no.strip()}
    if application_no.strip():
        try:
            context["case"] = await PlatformClient(settings).case_status(application_no)
        except DomainError as exc:
            context["case_error"] = exc.message_zh
    return TEMPLATES.TemplateResponse(request, "faq.html", context)


def _shown(index: Index, entry_id: int, question_html: str) -> dict[str, str] | None:
    held = index.held(entry_id)
    if held is None:
        return None
    return {
        "id": str(entry_id),
        "question_html": question_html,
        "answer_html": held.answer_html,
    }


async def _latest(db: DB, index: Index) -> list[dict[str, str] | None]:
    """The most recently published live entries."""
    await index.catch_up()
    today = china_day(utcnow())
    async with db.read_session() as session:
        rows = await session.execute(
            select(KbEntry)
            .where(col(KbEntry.status) == EntryStatus.PUBLISHED)
            .order_by(col(KbEntry.published_at).desc())
            .limit(LATEST_SHOWN * 2)
        )
        entries = [entry for entry in rows.scalars() if is_live(entry, today) and entry.id is not None]
    shown = []
    for entry in entries[:LATEST_SHOWN]:
        assert entry.id is not None
        held = index.held(entry.id)
        if held is not None:
            question = html.escape(entry.question)
            shown.append({"id": str(entry.id), "question_html": question, "answer_html": held.answer_html})
    return list(shown)
