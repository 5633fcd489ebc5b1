"""FastAPI dependencies of the knowledge-base routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.deps import require_roles
from knowledge_base.live_index import LiveIndex


def live_index(request: Request) -> LiveIndex:
    """The process's search index, created on first use."""
    return live_index_of(request.app)


def live_index_of(app: FastAPI) -> LiveIndex:
    """The application's search index, created on first use."""
    state = app.state
    if getattr(state, "kb_index", None) is None:
        state.kb_index = LiveIndex(state.db, state.settings.kb_index_poll_seconds)
    return state.kb_index  # type: ignore[no-any-return]


Index = Annotated[LiveIndex, Depends(live_index)]
Editor = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR, Role.DEPARTMENT_STAFF))]
Supervisor = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR))]
Staff = Annotated[
    CurrentUser,
    Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.DEPARTMENT_STAFF, Role.SYSTEM_ADMIN)),
]
Hotline = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR))]
