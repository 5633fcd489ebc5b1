"""A local stand-in of the online approval platform: the side of the contract in docs/PLATFORM.md that is theirs.

It checks our signatures with its own code (not ours), serves cases and the service-item catalogue, keeps
pushed results by idempotency key, can fail a number of pushes, and signs the events it sends us.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

SECRET = "platform-test-secret"

CASES = {
    "SQ2026110100123": {
        "application_no": "SQ2026110100123",
        "item_code": "11411400MB1234567X4000117001",
        "item_name": "公共场所卫生许可",
        "applicant": "张**",
        "unit_name": "商丘市卫生健康委员会",
        "status": "in_review",
        "status_label": "审查中",
        "submitted_at": "2026-11-01T09:12:00+08:00",
        "due_at": "2026-11-21T18:00:00+08:00",
        "steps": [
            {"name": "受理", "status": "done", "at": "2026-11-01T09:30:00+08:00", "unit": "市政务服务中心"},
            {"name": "审查", "status": "running", "unit": "市卫健委"},
        ],
    }
}

ITEMS = [
    {
        "code": "11411400MB1234567X4000117001",
        "name": "公共场所卫生许可",
        "unit_name": "市卫健委",
        "item_type": "行政许可",
        "basis": "《公共场所卫生管理条例》第八条",
        "applicants": "企业法人、个体工商户",
        "conditions": "经营场所符合卫生要求",
        "materials": ["公共场所卫生许可申请表", "营业执照复印件", "卫生检测报告"],
        "process": "申请—受理—审查—决定—送达",
        "fees": "不收费",
        "time_limit": "20个工作日（承诺5个工作日）",
        "contact": "0370-12345678",
        "supervising_unit": "市卫健委政策法规科 0370-87654321",
    },
    {
        "code": "11411400MB0987654X4000217002",
        "name": "住房公积金提取",
        "unit_name": "市住房公积金管理中心",
        "item_type": "公共服务",
        "conditions": "购买、建造、翻建、大修自住住房；离休、退休；租房自住",
        "materials": ["身份证", "银行卡", "购房合同或租房合同"],
        "process": "网上申请—审核—转账",
        "fees": "不收费",
        "time_limit": "即办",
        "contact": "0370-2345678",
    },
]


@dataclass
class PlatformStandIn:
    """What the stand-in was asked, for the tests to check."""

    secret: str = SECRET
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key → pushed result
    push_failures_left: int = 0
    requests: list[str] = field(default_factory=list)

    def verified(self, request: Request, body: bytes) -> bool:
        timestamp = request.headers.get("x-platform-timestamp", "")
        given = request.headers.get("x-platform-signature", "")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = f"{timestamp}\n{request.method}\n{target}\n".encode() + body
        expected = "sha256=" + hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        return fresh and hmac.compare_digest(given, expected)

    def sign_event(self, event: dict[str, Any], *, now: float | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers of an event the platform sends to the hotline."""
        body = json.dumps(event, ensure_ascii=False).encode()
        timestamp = str(int(time.time() if now is None else now))
        message = f"{timestamp}\nPOST\n/channels/platform/events\n".encode() + body
        signature = "sha256=" + hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Platform-Timestamp": timestamp,
            "X-Platform-Signature": signature,
        }
        return body, headers

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/api/v1/cases/{application_no}")
        async def case(application_no: str, request: Request) -> JSONResponse:
            self.requests.append(f"GET {application_no}")
            if not self.verified(request, b""):
                return JSONResponse({"error": "bad signature"}, status_code=401)
            found = CASES.get(application_no)
            return JSONResponse(found or {"error": "not found"}, status_code=200 if found else 404)

        @api.get("/api/v1/service-items")
        async def items(request: Request, page: int = 1) -> JSONResponse:
            if not self.verified(request, b""):
                return JSONResponse({"error": "bad signature"}, status_code=401)
            return JSONResponse({"items": ITEMS[page - 1 : page], "next_page": page + 1 if page < len(ITEMS) else None})

        @api.post("/api/v1/cases/{application_no}/results")
        async def result(application_no: str, request: Request) -> JSONResponse:
            body = await request.body()
            if not self.verified(request, body):
                return JSONResponse({"error": "bad signature"}, status_code=401)
            if self.push_failures_left > 0:
                self.push_failures_left -= 1
                return JSONResponse({"error": "busy"}, status_code=503)
            key = request.headers.get("idempotency-key", "")
            self.results.setdefault(key, {"application_no": application_no, **json.loads(body)})
            return JSONResponse({"result_id": f"R-{list(self.results).index(key) + 1}"})

        return api
