"""Entries and their workflow: owner units write drafts and submit them, supervisors publish and retire.

Every change of content appends a version; search serves the last published one (see live_index).
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.categories import Category
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.units.models import Unit
from knowledge_base.models import EntryStatus, KbEntry, KbEntryVersion
from knowledge_base.richtext import plain_text, sanitize
from knowledge_base.schemas import EntryContent

CONTENT_FIELDS = (
    "question",
    "similar_questions",
    "answer",
    "category_id",
    "owner_unit_id",
    "source_document",
    "source_url",
    "valid_from",
    "expires_on",
)
EDITOR_ROLES = frozenset({Role.SUPERVISOR, Role.DEPARTMENT_STAFF})


async def get_entry(session: AsyncSession, *, entry_id: int, for_update: bool = False) -> KbEntry:
    """Return an entry or refuse with 404."""
    query = select(KbEntry).where(col(KbEntry.id) == entry_id)
    if for_update:
        query = query.with_for_update()
    entry = (await session.execute(query)).scalars().first()
    if entry is None:
        raise NotFound("知识条目不存在", f"knowledge-base entry {entry_id} not found")
    return entry


async def create_entry(session: AsyncSession, *, user: CurrentUser, data: EntryContent, now: datetime) -> KbEntry:
    """Write a new entry as a draft; department staff write for their own unit."""
    _require_editor(user)
    content = await _checked_content(session, user=user, data=data)
    entry = KbEntry(
        **content, status=EntryStatus.DRAFT, version=1, created_by_id=user.id, created_at=now, updated_at=now
    )
    session.add(entry)
    await session.flush()
    _append_version(session, entry, change="created", comment=data.comment, user_id=user.id, now=now)
    return entry


async def edit_entry(
    session: AsyncSession, *, user: CurrentUser, entry_id: int, data: EntryContent, now: datetime
) -> KbEntry:
    """Save new content as the next version; the entry goes back to draft (its published version stays live)."""
    entry = await get_entry(session, entry_id=entry_id, for_update=True)
    await _require_owner(session, user, entry)
    content = await _checked_content(session, user=user, data=data)
    if all(getattr(entry, name) == value for name, value in content.items()):
        raise Conflict("内容没有变化", "nothing changed")
    return _new_version(session, entry, content, change="edited", comment=data.comment, user=user, now=now)


async def rollback(
    session: AsyncSession, *, user: CurrentUser, entry_id: int, version: int, comment: str | None, now: datetime
) -> KbEntry:
    """Make an earlier version's content the next version (a draft to publish again)."""
    entry = await get_entry(session, entry_id=entry_id, for_update=True)
    await _require_owner(session, user, entry)
    earlier = await get_version(session, entry_id=entry_id, version=version)
    content = {name: getattr(earlier, name) for name in CONTENT_FIELDS}
    note = comment or f"回退到第{version}版"
    return _new_version(session, entry, content, change="rolled_back", comment=note, user=user, now=now)


async def add_phrasing(
    session: AsyncSession, *, user: CurrentUser, entry_id: int, phrasing: str, comment: str | None, now: datetime
) -> KbEntry:
    """Add a similar phrasing to an entry, as a new version; a published entry stays published with it."""
    entry = await get_entry(session, entry_id=entry_id, for_update=True)
    if entry.status == EntryStatus.RETIRED:
        raise Conflict("条目已下线，不能添加相似问法", "the entry is retired")
    phrasing = phrasing.strip()
    if phrasing == entry.question or phrasing in entry.similar_questions:
        return entry
    content = {name: getattr(entry, name) for name in CONTENT_FIELDS}
    content["similar_questions"] = [*entry.similar_questions, phrasing]
    was_live = entry.status == EntryStatus.PUBLISHED and entry.published_version == entry.version
    _new_version(session, entry, content, change="phrasing_added", comment=comment, user=user, now=now)
    if was_live:  # a reviewer accepted the phrasing: no second review of an unchanged answer
        _publish(entry, user, now)
    return entry


async def submit(session: AsyncSession, *, user: CurrentUser, entry_id: int, now: datetime) -> KbEntry:
    """Send a draft to review (草稿 → 待审核)."""
    entry = await get_entry(session, entry_id=entry_id, for_update=True)
    await _require_owner(session, user, entry)
    _require_status(entry, {EntryStatus.DRAFT}, "只有草稿可以提交审核", "only a draft can be submitted")
    entry.status = EntryStatus.IN_REVIEW
    entry.updated_at = now
    return entry


async def publish(session: AsyncSession, *, user: CurrentUser, entry_id: int, now: datetime) -> KbEntry:
    """Publish the version in review (supervisors only); search serves it from now on."""
    _require_supervisor(user, "只有督办/质检人员可以发布", "only a supervisor may publish")
    entry = await get_entry(session, entry_id=entry_id, for_update=True)
    _require_status(
        entry, {EntryStatus.IN_REVIEW}, "只有待审核的条目可以发布", "only an entry in review can be published"
    )
    _publish(entry, user, now)
    return entry


async def send_back(session: AsyncSession, *, user: CurrentUser, entry_id: int, now: datetime) -> KbEntry:
    """Return an entry in review to its owner as a draft (supervisors only)."""
    _require_supervisor(user, "只有督办/质检人员可以退回", "only a supervisor may send an entry back")
    entry = await get_entry(session, entry_id=entry_id, for_update=True)
    _require_status(
        entry, {EntryStatus.IN_REVIEW}, "只有待审核的条目可以退回", "only an entry in review can be sent back"
    )
    entry.status = EntryStatus.DRAFT
    entry.updated_at = now
    return entry


async def retire(session: AsyncSession, *, user: CurrentUser, entry_id: int, now: datetime) -> KbEntry:
    """Take an entry out of service (supervisors only); it leaves search at once and keeps its history."""
    _require_supervisor(user, "只有督办/质检人员可以下线条目", "only a supervisor may retire an entry")
    entry = await get_entry(session, entry_id=entry_id, for_update=True)
    if entry.status == EntryStatus.RETIRED:
        raise Conflict("条目已下线", "the entry is already retired")
    entry.status = EntryStatus.RETIRED
    entry.updated_at = now
    return entry


async def get_version(session: AsyncSession, *, entry_id: int, version: int) -> KbEntryVersion:
    """Return one version of an entry or refuse with 404."""
    row = (
        (
            await session.execute(
                select(KbEntryVersion).where(
                    col(KbEntryVersion.entry_id) == entry_id, col(KbEntryVersion.version) == version
                )
            )
        )
        .scalars()
        .first()
    )
    if row is None:
        raise NotFound("该版本不存在", f"entry {entry_id} has no version {version}")
    return row


async def versions(session: AsyncSession, *, entry_id: int) -> list[KbEntryVersion]:
    """Every version of an entry, newest first."""
    await get_entry(session, entry_id=entry_id)
    rows = await session.execute(
        select(KbEntryVersion)
        .where(col(KbEntryVersion.entry_id) == entry_id)
        .order_by(col(KbEntryVersion.version).desc())
    )
    return list(rows.scalars().all())


def diff(before: KbEntryVersion, after: KbEntryVersion) -> list[dict[str, Any]]:
    """The fields that differ between two versions, each with a line diff of its text."""
    changes = []
    for name in CONTENT_FIELDS:
        old, new = _as_text(name, getattr(before, name)), _as_text(name, getattr(after, name))
        if old != new:
            lines = difflib.unified_diff(
                old.splitlines(), new.splitlines(), f"v{before.version}", f"v{after.version}", lineterm="", n=1
            )
            changes.append({"field": name, "before": old, "after": new, "diff": list(lines)})
    return changes


def _as_text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "similar_questions":
        return "\n".join(value)
    if name == "answer":
        return plain_text(value)
    return str(value)


def _publish(entry: KbEntry, user: CurrentUser, now: datetime) -> None:
    entry.status = EntryStatus.PUBLISHED
    entry.published_version = entry.version
    entry.published_at = now
    entry.published_by_id = user.id
    entry.updated_at = now


def _new_version(
    session: AsyncSession,
    entry: KbEntry,
    content: dict[str, Any],
    *,
    change: str,
    comment: str | None,
    user: CurrentUser,
    now: datetime,
) -> KbEntry:
    for name, value in content.items():
        setattr(entry, name, value)
    entry.version += 1
    entry.status = EntryStatus.DRAFT
    entry.updated_at = now
    _append_version(session, entry, change=change, comment=comment, user_id=user.id, now=now)
    return entry


def _append_version(
    session: AsyncSession, entry: KbEntry, *, change: str, comment: str | None, user_id: int | None, now: datetime
) -> None:
    assert entry.id is not None
    session.add(
        KbEntryVersion(
            entry_id=entry.id,
            version=entry.version,
            change=change,
            comment=comment,
            created_by_id=user_id,
            created_at=now,
            **{name: getattr(entry, name) for name in CONTENT_FIELDS},
        )
    )


async def _checked_content(session: AsyncSession, *, user: CurrentUser, data: EntryContent) -> dict[str, Any]:
    """The content to store: answer sanitised, references checked, the owner forced for department staff."""
    answer = sanitize(data.answer)
    if not plain_text(answer):
        raise InvalidInput("答案不能为空", "the answer is empty")
    if data.valid_from and data.expires_on and data.expires_on < data.valid_from:
        raise InvalidInput("失效日期早于生效日期", "expires_on is before valid_from")
    owner = data.owner_unit_id
    if user.role == Role.DEPARTMENT_STAFF:
        owner = owner or user.unit_id
        if not await _unit_within(session, owner, user):
            raise Forbidden("只能维护本单位的知识条目", "department staff maintain their own unit's entries only")
    if owner is not None and await session.get(Unit, owner) is None:
        raise InvalidInput("责任单位不存在", f"unit {owner} does not exist")
    if data.category_id is not None and await session.get(Category, data.category_id) is None:
        raise InvalidInput("分类不存在", f"category {data.category_id} does not exist")
    similar = [text for text in data.similar_questions if text != data.question]
    return {
        **data.model_dump(include=set(CONTENT_FIELDS)),
        "answer": answer,
        "owner_unit_id": owner,
        "similar_questions": similar,
    }


def _require_editor(user: CurrentUser) -> None:
    if user.role not in EDITOR_ROLES:
        raise Forbidden("只有责任单位或督办人员可以维护知识库", "only owner units and supervisors edit entries")


def _require_supervisor(user: CurrentUser, message_zh: str, message_en: str) -> None:
    if user.role != Role.SUPERVISOR:
        raise Forbidden(message_zh, message_en)


async def _require_owner(session: AsyncSession, user: CurrentUser, entry: KbEntry) -> None:
    _require_editor(user)
    if user.role == Role.DEPARTMENT_STAFF and not await _unit_within(session, entry.owner_unit_id, user):
        raise Forbidden("只能维护本单位的知识条目", "department staff maintain their own unit's entries only")


async def _unit_within(session: AsyncSession, unit_id: int | None, user: CurrentUser) -> bool:
    """Whether a unit is the user's own unit or one of its children."""
    if unit_id is None or user.unit_id is None:
        return False
    if unit_id == user.unit_id:
        return True
    unit = await session.get(Unit, unit_id)
    return unit is not None and user.unit_path is not None and unit.path.startswith(user.unit_path)


def _require_status(entry: KbEntry, allowed: set[EntryStatus], message_zh: str, message_en: str) -> None:
    if entry.status not in allowed:
        raise Conflict(message_zh, message_en)
