"""The platform adapter's HTTP client: case status (办件查询), the service-item catalogue, results pushed back."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from hotline.config import Settings
from hotline.errors import DomainError, InvalidInput, NotFound
from knowledge_base.platform.signing import signed_headers

CASES_PATH = "/api/v1/cases/{application_no}"
RESULTS_PATH = "/api/v1/cases/{application_no}/results"
ITEMS_PATH = "/api/v1/service-items"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ITEM_PAGES = 200


class PlatformUnavailable(DomainError):
    status_code = 502
    code = "platform_unavailable"


class CaseStep(BaseModel):
    name: str
    status: str | None = None
    at: str | None = None
    unit: str | None = None


class CaseStatus(BaseModel):
    """A case (办件) as the platform reports it."""

    application_no: str
    item_code: str | None = None
    item_name: str | None = None
    applicant: str | None = None  # masked by the platform (张**)
    unit_name: str | None = None
    status: str
    status_label: str | None = None
    submitted_at: str | None = None
    due_at: str | None = None
    finished_at: str | None = None
    steps: list[CaseStep] = []


class PlatformClient:
    """Signed requests to the platform at ``HOTLINE_PLATFORM_BASE_URL``."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not settings.platform_base_url or settings.platform_secret is None:
            raise PlatformUnavailable("未配置政务服务平台接口", "the platform link is not configured", 503)
        self._base_url = settings.platform_base_url.rstrip("/")
        self._secret = settings.platform_secret.get_secret_value()
        self._timeout = settings.platform_timeout_seconds
        self._transport = transport

    async def case_status(self, application_no: str) -> CaseStatus:
        """The case's status and steps; 404 when the platform does not know the number."""
        number = application_no.strip()
        if not number or len(number) > 64 or not number.replace("-", "").isalnum():
            raise InvalidInput("办件编号格式不正确", "the application number is malformed")
        response = await self._request("GET", CASES_PATH.format(application_no=number))
        if response.status_code == 404:
            raise NotFound("政务服务平台没有该办件", f"the platform has no case {number}")
        return _parsed(CaseStatus, _json(response))

    async def service_items(self) -> list[dict[str, Any]]:
        """Every page of the platform's service-item catalogue (办事指南)."""
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_ITEM_PAGES + 1):
            data = _json(await self._request("GET", f"{ITEMS_PATH}?page={page}"))
            items.extend(data.get("items", []))
            if not data.get("next_page"):
                break
        return items

    async def push_result(self, application_no: str, result: dict[str, Any], idempotency_key: str) -> str | None:
        """Send an order's result to the case; the platform keeps one result per idempotency key."""
        body = json.dumps(result, ensure_ascii=False).encode()
        response = await self._request(
            "POST", RESULTS_PATH.format(application_no=application_no), body, {IDEMPOTENCY_HEADER: idempotency_key}
        )
        data = _json(response)
        return str(data["result_id"]) if data.get("result_id") is not None else None

    async def _request(
        self, method: str, target: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {**signed_headers(self._secret, method=method, target=target, body=body), **(extra or {})}
        if body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.request(method, self._base_url + target, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PlatformUnavailable("政务服务平台暂时无法访问", f"the platform is unreachable: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise PlatformUnavailable(
                "政务服务平台拒绝或未能处理请求", f"the platform answered HTTP {response.status_code}"
            )
        return response


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise PlatformUnavailable("政务服务平台返回了无法识别的内容", "the platform's answer is not JSON") from exc
    if not isinstance(data, dict):
        raise PlatformUnavailable("政务服务平台返回了无法识别的内容", "the platform's answer is not an object")
    if response.status_code >= 400:
        raise PlatformUnavailable("政务服务平台拒绝了请求", f"the platform answered HTTP {response.status_code}")
    return data


def _parsed(model: type[CaseStatus], data: dict[str, Any]) -> CaseStatus:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PlatformUnavailable("政务服务平台返回了无法识别的办件", "the platform's case is malformed") from exc
