"""Every router of the knowledge base and the platform link, for the application to mount."""

from __future__ import annotations

from fastapi import APIRouter

from knowledge_base.endpoints import router as kb_api
from knowledge_base.pages import router as faq_pages
from knowledge_base.platform.endpoints import api as platform_api
from knowledge_base.platform.endpoints import webhook as platform_webhook
from knowledge_base.service_item_endpoints import router as service_items_api

routers: list[APIRouter] = [kb_api, service_items_api, platform_api, platform_webhook, faq_pages]
