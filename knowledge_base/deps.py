"""FastAPI dependencies of the knowledge-base routers."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.deps import require_roles
from knowledge_base.live_index import LiveIndex

log = logging.getLogger(__name__)


def live_index(request: Request) -> LiveIndex:
    """The process's search index, created on first use."""
    return live_index_of(request.app)


def live_index_of(app: FastAPI) -> LiveIndex:
    """The application's search index, created on first use."""
    state = app.state
    if getattr(state, "kb_index", None) is None:
        state.kb_index = LiveIndex(state.db, state.settings.kb_index_poll_seconds)
    return state.kb_index  # type: ignore[no-any-return]


def start_warm_up(app: FastAPI) -> asyncio.Task[None]:
    """Build the process's search index in the background, so the first search (or auto-answer) finds it ready.

    The first build of a large knowledge base takes seconds (segmenting every question and answer); a
    process that starts serving without it would make its first searcher wait for all of it.
    """
    index = live_index_of(app)

    async def build() -> None:
        try:
            await index.catch_up()
        except Exception:  # never stop the process: the first search tries again
            log.exception("building the knowledge-base index at start failed")
        else:
            log.info("knowledge-base index ready")

    return asyncio.create_task(build(), name="kb-warm-up")


Index = Annotated[LiveIndex, Depends(live_index)]
Editor = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR, Role.DEPARTMENT_STAFF))]
Supervisor = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR))]
Staff = Annotated[
    CurrentUser,
    Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.DEPARTMENT_STAFF, Role.SYSTEM_ADMIN)),
]
Hotline = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR))]
