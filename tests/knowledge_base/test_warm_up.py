"""A starting process builds its search index in the background, before anyone searches."""

from __future__ import annotations

import asyncio

import httpx

from hotline.config import Settings
from hotline.main import create_app
from knowledge_base.deps import live_index_of
from tests.conftest import City, login
from tests.knowledge_base.helpers import publish_entry

FUND = {"question": "住房公积金怎么提取？", "answer": "<p>携带身份证到公积金中心办理。</p>"}


async def test_a_new_process_has_its_index_built_before_the_first_search(
    app_client: httpx.AsyncClient, staff: dict, city: City, settings: Settings
) -> None:
    author = await login(app_client, "dept_zhujian1")
    supervisor = await login(app_client, "supervisor1")
    entry = await publish_entry(app_client, author, supervisor, **FUND)

    starting = create_app(settings.model_copy(update={"kb_warm_up": True}))
    async with starting.router.lifespan_context(starting):
        [warm_up] = [task for task in asyncio.all_tasks() if task.get_name() == "kb-warm-up"]
        await warm_up
        index = live_index_of(starting)
        assert index.ready
        assert index.held(entry["id"]) is not None  # indexed without a search having asked for it
