"""Shared steps of the knowledge-base API tests."""

from __future__ import annotations

from typing import Any

import httpx


async def publish_entry(
    client: httpx.AsyncClient, author: dict[str, str], supervisor: dict[str, str], **content: Any
) -> dict[str, Any]:
    """Write an entry, submit it and publish it; return the published entry."""
    created = await client.post("/api/v1/kb/entries", headers=author, json=content)
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    submitted = await client.post(f"/api/v1/kb/entries/{entry_id}/submit", headers=author, json={})
    assert submitted.status_code == 200, submitted.text
    published = await client.post(f"/api/v1/kb/entries/{entry_id}/publish", headers=supervisor, json={})
    assert published.status_code == 200, published.text
    return published.json()  # type: ignore[no-any-return]


async def search(client: httpx.AsyncClient, headers: dict[str, str], q: str, **filters: Any) -> list[dict[str, Any]]:
    """The result items of a knowledge-base search."""
    response = await client.get("/api/v1/kb/search", headers=headers, params={"q": q, **filters})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]
