"""Writing audit entries inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit.models import AuditEntry


def record(
    session: AsyncSession,
    *,
    action: str,
    actor_id: int | None = None,
    actor_username: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> None:
    """Append one audit entry; it commits or rolls back with the act it records."""
    session.add(
        AuditEntry(
            action=action,
            actor_id=actor_id,
            actor_username=actor_username,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            detail=detail or {},
            client_ip=client_ip,
        )
    )
