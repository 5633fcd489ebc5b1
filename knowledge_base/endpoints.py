"""Knowledge-base API: search for the console, operators' feedback, entries and their workflow."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from sqlalchemy import UnaryExpression, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.service import CurrentUser
from hotline.db_types import utcnow
from hotline.deps import DB, User, audit
from hotline.errors import InvalidInput, NotFound
from hotline.threads import in_worker_thread
from hotline.tickets import repository as tickets
from hotline.uploads import read_limited
from knowledge_base import exports, imports, service
from knowledge_base.deps import Editor, Index, Staff, Supervisor
from knowledge_base.live_index import china_day, is_live
from knowledge_base.models import ENTRY_STATUS_LABELS_ZH, EntryStatus, KbEntry, KbFeedback
from knowledge_base.proposal_endpoints import router as proposals_router
from knowledge_base.richtext import plain_text
from knowledge_base.schemas import (
    EntryContent,
    EntryPage,
    EntryView,
    FeedbackIn,
    FieldDiff,
    ImportResult,
    RollbackIn,
    SearchItem,
    SearchResult,
    VersionDiff,
    VersionView,
    WorkflowIn,
)
from knowledge_base.snippets import snippet_html

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])
MAX_QUERY_LENGTH = 200
MAX_LIMIT = 50
MAX_IMPORT_BYTES = 20 * 2**20


@router.get("/search", response_model=SearchResult)
async def search(
    _: User,
    index: Index,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    category_id: int | None = None,
    unit_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> SearchResult:
    """Published, unexpired entries best matching the query (as operators type), matches highlighted."""
    started = time.perf_counter()
    hits = await index.search(q, limit=limit, category_id=category_id, owner_unit_id=unit_id)
    items = []
    for hit in hits:
        held = index.held(int(hit.entry_id))
        if held is None:
            continue
        answer_text = plain_text(held.answer_html)
        items.append(
            SearchItem(
                id=int(hit.entry_id),
                question=hit.question,
                question_html=hit.highlighted_question,
                answer=held.answer_html,
                snippet_html=snippet_html(q, answer_text),
                category_id=held.category_id,
                owner_unit_id=held.owner_unit_id,
                score=hit.score,
            )
        )
    return SearchResult(items=items, took_ms=round((time.perf_counter() - started) * 1000, 2))


@router.post("/entries/{entry_id}/feedback", status_code=204)
async def feedback(entry_id: int, body: FeedbackIn, user: Staff, db: DB, index: Index) -> None:
    """An operator opened the entry from a result list ("click") or answered a citizen with it ("answered")."""
    async with db.session() as session:
        await service.get_entry(session, entry_id=entry_id)
        if (
            body.ticket_id is not None
            and await tickets.get_visible(session, ticket_id=body.ticket_id, user=user) is None
        ):
            raise InvalidInput("工单不存在或无权查看", f"order {body.ticket_id} not found")
        session.add(KbFeedback(entry_id=entry_id, kind=body.kind, ticket_id=body.ticket_id, user_id=user.id))
    index.mark_stale()


@router.get("/entries", response_model=EntryPage)
async def list_entries(
    _: Staff,
    db: DB,
    status: EntryStatus | None = None,
    category_id: int | None = None,
    unit_id: int | None = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_LENGTH)] = None,
    expiring_within_days: Annotated[
        int | None, Query(ge=0, le=366, description="entries whose last valid day falls within this many days")
    ] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EntryPage:
    """Entries by status, category, owner unit, words of the question or coming expiry, newest change first
    (soonest expiry first with ``expiring_within_days``, for owner units to renew or retire them in time)."""
    query = select(KbEntry)
    order: UnaryExpression[Any] = col(KbEntry.updated_at).desc()
    if expiring_within_days is not None:
        today = china_day(utcnow())
        query = query.where(
            col(KbEntry.expires_on) >= today,
            col(KbEntry.expires_on) <= today + timedelta(days=expiring_within_days),
            col(KbEntry.status) != EntryStatus.RETIRED,
        )
        order = col(KbEntry.expires_on).asc()
    if status is not None:
        query = query.where(col(KbEntry.status) == status)
    if category_id is not None:
        query = query.where(col(KbEntry.category_id) == category_id)
    if unit_id is not None:
        query = query.where(col(KbEntry.owner_unit_id) == unit_id)
    if q:
        query = query.where(col(KbEntry.question).contains(q.strip()))
    async with db.read_session() as session:
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await session.execute(query.order_by(order, col(KbEntry.id)).offset(offset).limit(limit))
        return EntryPage(items=[entry_view(entry) for entry in rows.scalars().all()], total=int(total))


@router.post("/entries", response_model=EntryView, status_code=201)
async def create_entry(body: EntryContent, user: Editor, db: DB) -> EntryView:
    """Write a new entry (a draft)."""
    async with db.session() as session:
        entry = await service.create_entry(session, user=user, data=body, now=utcnow())
    return entry_view(entry)


@router.get("/entries/export", response_class=Response)
async def export_entries(
    _: Staff,
    db: DB,
    format: Annotated[Literal["xlsx", "csv"], Query(description="Excel workbook or CSV (UTF-8 with BOM)")] = "xlsx",
    status: Annotated[EntryStatus | None, Query(description="only entries in this state; all without it")] = None,
) -> Response:
    """The entries as a table in the import's columns (to share, or to edit and import again)."""
    async with db.read_session() as session:
        rows = await exports.entry_rows(session, status)
    if format == "csv":
        content, media_type = exports.as_csv(rows), "text/csv; charset=utf-8"
    else:
        content, media_type = await in_worker_thread(exports.as_workbook, rows), exports.WORKBOOK_MEDIA_TYPE
    name = f"knowledge-base-{status or 'all'}-{china_day(utcnow()).isoformat()}.{format}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/entries/import", response_model=ImportResult)
async def import_entries(
    file: Annotated[UploadFile, File(description="Excel (.xlsx), CSV, JSON or JSON-lines table of entries")],
    request: Request,
    user: Supervisor,
    db: DB,
    index: Index,
    publish: Annotated[bool, Form(description="publish at once instead of sending to review")] = False,
) -> ImportResult:
    """Import a knowledge base (a center's FAQ table): the whole file or nothing; see docs/KNOWLEDGE_BASE.md."""
    data = await read_limited(file, MAX_IMPORT_BYTES)
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput(
            f"文件超过{MAX_IMPORT_BYTES // 2**20}MB", f"the file is over {MAX_IMPORT_BYTES // 2**20} MB", 413
        )
    name = file.filename or "entries.csv"
    rows = await asyncio.to_thread(imports.parse_file, name, data)  # a large table takes CPU time to check
    async with db.session() as session:
        counts = await imports.import_entries(
            session, rows, publish=publish, user_id=user.id, comment=f"批量导入：{name}"[:255], now=utcnow()
        )
        audit(
            session,
            request,
            user,
            action="kb_entry.imported",
            object_type="kb_import",
            object_id=None,
            detail={"file": name, "rows": len(rows), "publish": publish, **counts.as_dict()},
        )
    index.mark_stale()
    return ImportResult(**counts.as_dict())


@router.get("/entries/{entry_id}", response_model=EntryView)
async def get_entry(entry_id: int, _: Staff, db: DB) -> EntryView:
    async with db.read_session() as session:
        return entry_view(await service.get_entry(session, entry_id=entry_id))


@router.put("/entries/{entry_id}", response_model=EntryView)
async def edit_entry(entry_id: int, body: EntryContent, user: Editor, db: DB, index: Index) -> EntryView:
    """Save new content as the next version (back to draft; the published version stays in search)."""
    async with db.session() as session:
        entry = await service.edit_entry(session, user=user, entry_id=entry_id, data=body, now=utcnow())
    index.mark_stale()
    return entry_view(entry)


@router.post("/entries/{entry_id}/submit", response_model=EntryView)
async def submit(entry_id: int, _body: WorkflowIn, user: Editor, db: DB) -> EntryView:
    async with db.session() as session:
        return entry_view(await service.submit(session, user=user, entry_id=entry_id, now=utcnow()))


@router.post("/entries/{entry_id}/publish", response_model=EntryView)
async def publish(entry_id: int, body: WorkflowIn, request: Request, user: Editor, db: DB, index: Index) -> EntryView:
    async with db.session() as session:
        entry = await service.publish(session, user=user, entry_id=entry_id, now=utcnow())
        _audit(session, request, user, "kb_entry.published", entry, body.comment)
    index.mark_stale()
    return entry_view(entry)


@router.post("/entries/{entry_id}/send-back", response_model=EntryView)
async def send_back(entry_id: int, _body: WorkflowIn, user: Editor, db: DB) -> EntryView:
    async with db.session() as session:
        return entry_view(await service.send_back(session, user=user, entry_id=entry_id, now=utcnow()))


@router.post("/entries/{entry_id}/retire", response_model=EntryView)
async def retire(entry_id: int, body: WorkflowIn, request: Request, user: Editor, db: DB, index: Index) -> EntryView:
    async with db.session() as session:
        entry = await service.retire(session, user=user, entry_id=entry_id, now=utcnow())
        _audit(session, request, user, "kb_entry.retired", entry, body.comment)
    index.mark_stale()
    return entry_view(entry)


@router.get("/entries/{entry_id}/versions", response_model=list[VersionView])
async def versions(entry_id: int, _: Staff, db: DB) -> list[VersionView]:
    """Every version of the entry, newest first."""
    async with db.read_session() as session:
        rows = await service.versions(session, entry_id=entry_id)
    return [VersionView.model_validate(row, from_attributes=True) for row in rows]


@router.get("/entries/{entry_id}/diff", response_model=VersionDiff)
async def diff(
    entry_id: int,
    _: Staff,
    db: DB,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> VersionDiff:
    """What changed between two versions, field by field."""
    async with db.read_session() as session:
        before = await service.get_version(session, entry_id=entry_id, version=from_version)
        after = await service.get_version(session, entry_id=entry_id, version=to_version)
    changes = [FieldDiff(**change) for change in service.diff(before, after)]
    return VersionDiff(entry_id=entry_id, from_version=from_version, to_version=to_version, changes=changes)


@router.post("/entries/{entry_id}/rollback", response_model=EntryView)
async def rollback(entry_id: int, body: RollbackIn, request: Request, user: Editor, db: DB) -> EntryView:
    """Bring back an earlier version's content as the next version (a draft, to submit and publish)."""
    async with db.session() as session:
        entry = await service.rollback(
            session, user=user, entry_id=entry_id, version=body.version, comment=body.comment, now=utcnow()
        )
        _audit(session, request, user, "kb_entry.rolled_back", entry, f"v{body.version}")
    return entry_view(entry)


def _audit(
    session: AsyncSession, request: Request, user: CurrentUser, action: str, entry: KbEntry, note: str | None
) -> None:
    audit(
        session,
        request,
        user,
        action=action,
        object_type="kb_entry",
        object_id=entry.id,
        detail={"version": entry.version, "published_version": entry.published_version, "note": note},
    )


def entry_view(entry: KbEntry) -> EntryView:
    """The API view of an entry's working copy."""
    if entry.id is None:
        raise NotFound("知识条目不存在", "entry not found")
    return EntryView(
        id=entry.id,
        question=entry.question,
        similar_questions=list(entry.similar_questions),
        answer=entry.answer,
        category_id=entry.category_id,
        owner_unit_id=entry.owner_unit_id,
        source_document=entry.source_document,
        source_url=entry.source_url,
        valid_from=entry.valid_from,
        expires_on=entry.expires_on,
        status=entry.status,
        status_label=ENTRY_STATUS_LABELS_ZH[EntryStatus(entry.status)],
        version=entry.version,
        published_version=entry.published_version,
        searchable=is_live(entry, china_day(utcnow())),
        published_at=entry.published_at,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    )


router.include_router(proposals_router)
