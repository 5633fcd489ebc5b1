"""Importing a center's existing knowledge base: the whole file or nothing, the same file twice changes nothing."""

from __future__ import annotations

import asyncio
import codecs
import io
import json
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from hotline.audit.models import AuditEntry
from hotline.categories import Category
from hotline.config import get_settings
from hotline.db import Database
from hotline.errors import InvalidInput
from knowledge_base.cli import kb_app
from knowledge_base.imports import parse_file
from knowledge_base.models import KbEntry
from tests.conftest import City, login
from tests.knowledge_base.helpers import publish_entry, search

CSV = """编号,问题,相似问法,答案,责任单位,生效日期,失效日期
FAQ-1,住房公积金怎么提取？,公积金提取流程|怎样取公积金,携带身份证到公积金中心办理。,市住房公积金管理中心,2026-01-01,
FAQ-2,居住证在哪里办？,,到户籍所在地派出所办理。,公安局,,
"""


def upload(text: str, name: str = "faq.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, text.encode("utf-8-sig"), "text/csv")}


async def entry_count(db: Database) -> int:
    async with db.read_session() as session:
        return int((await session.execute(select(func.count()).select_from(KbEntry))).scalar_one())


def test_chinese_and_english_columns_and_the_three_formats_read_alike() -> None:
    from_csv = parse_file("faq.csv", CSV.encode("utf-8-sig"))
    rows = [row.model_dump(mode="json", exclude_none=True) for row in from_csv]
    from_jsonl = parse_file("faq.jsonl", "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode())
    from_json = parse_file("faq.json", json.dumps({"entries": rows}, ensure_ascii=False).encode())
    assert from_csv == from_jsonl == from_json
    assert from_csv[0].key == "FAQ-1" and from_csv[0].similar_questions == ["公积金提取流程", "怎样取公积金"]
    assert from_csv[1].similar_questions == [] and from_csv[1].valid_from is None
    # The public corpus's rows ({"id", "question", "answer"}) are an importable file as they are.
    assert parse_file("kb.jsonl", b'{"id": 7, "question": "q1", "answer": "a"}')[0].key == "7"


@pytest.mark.parametrize(
    ("name", "content", "named"),
    [
        ("faq.csv", "问题,答案\n住房公积金怎么提取？,\n", "第1条"),
        ("faq.jsonl", '{"question": "住房公积金怎么提取？", "answer": "到中心办理"}\n{"question": "x"', "第2行"),
        ("faq.json", '{"rows": []}', "entries"),
        ("faq.csv", "编号,问题,答案\nA,问题一,答案\nA,问题二,答案\n", "第2条与第1条"),
        ("faq.csv", "问题,答案,生效日期,失效日期\n问题一,答案,2026-05-01,2026-04-30\n", "失效日期早于生效日期"),
    ],
)
def test_a_bad_file_is_refused_naming_where(name: str, content: str, named: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_file(name, content.encode())
    assert named in refused.value.message_zh


async def test_an_import_goes_to_review_and_the_same_file_again_changes_nothing(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    supervisor = await login(app_client, "supervisor1")
    first = await app_client.post("/api/v1/kb/entries/import", headers=supervisor, files=upload(CSV))
    assert first.status_code == 200, first.text
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0, "retired": 0, "published": 0}
    listed = await app_client.get("/api/v1/kb/entries", headers=supervisor, params={"status": "in_review"})
    by_question = {item["question"]: item for item in listed.json()["items"]}
    assert set(by_question) == {"住房公积金怎么提取？", "居住证在哪里办？"}
    assert by_question["住房公积金怎么提取？"]["owner_unit_id"] == city.unit("gongjijin").id  # by name
    assert by_question["居住证在哪里办？"]["owner_unit_id"] == city.unit("gongan").id  # by short name
    assert await search(app_client, supervisor, "公积金提取") == []  # in review: not searchable yet

    again = await app_client.post("/api/v1/kb/entries/import", headers=supervisor, files=upload(CSV))
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2, "retired": 0, "published": 0}
    assert await entry_count(db) == 2

    published = await app_client.post(
        "/api/v1/kb/entries/import", headers=supervisor, files=upload(CSV), data={"publish": "true"}
    )
    assert published.json() == {"created": 0, "updated": 0, "unchanged": 2, "retired": 0, "published": 2}
    hits = await search(app_client, supervisor, "怎样取公积金")
    assert hits[0]["question"] == "住房公积金怎么提取？"
    async with db.read_session() as session:
        audited = (await session.execute(select(AuditEntry).where(AuditEntry.action == "kb_entry.imported"))).all()
    assert len(audited) == 3


async def test_an_edited_file_adds_a_version_and_a_retired_entry_stays_retired(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    supervisor = await login(app_client, "supervisor1")
    await app_client.post("/api/v1/kb/entries/import", headers=supervisor, files=upload(CSV), data={"publish": "1"})
    entries = (await app_client.get("/api/v1/kb/entries", headers=supervisor)).json()["items"]
    ids = {item["question"]: item["id"] for item in entries}
    retired = await app_client.post(f"/api/v1/kb/entries/{ids['居住证在哪里办？']}/retire", headers=supervisor, json={})
    assert retired.status_code == 200, retired.text

    edited = CSV.replace("携带身份证到公积金中心办理。", "携带身份证和银行卡到公积金中心办理。").replace(
        "到户籍所在地派出所办理。", "到居住地派出所办理。"
    )
    result = await app_client.post("/api/v1/kb/entries/import", headers=supervisor, files=upload(edited))
    assert result.json() == {"created": 0, "updated": 1, "unchanged": 0, "retired": 1, "published": 0}

    fund = ids["住房公积金怎么提取？"]
    versions = (await app_client.get(f"/api/v1/kb/entries/{fund}/versions", headers=supervisor)).json()
    assert [(v["version"], v["change"]) for v in versions] == [(2, "imported"), (1, "imported")]
    changes = (
        await app_client.get(f"/api/v1/kb/entries/{fund}/diff", headers=supervisor, params={"from": 1, "to": 2})
    ).json()["changes"]
    assert [change["field"] for change in changes] == ["answer"]
    # The new answer waits for review; citizens keep the published one meanwhile.
    hits = await search(app_client, supervisor, "住房公积金怎么提取")
    assert hits[0]["question"] == "住房公积金怎么提取？" and "银行卡" not in hits[0]["answer"]
    gone = (await app_client.get(f"/api/v1/kb/entries/{ids['居住证在哪里办？']}", headers=supervisor)).json()
    assert gone["status"] == "retired" and gone["version"] == 1


async def test_a_file_with_an_unknown_unit_or_category_writes_nothing(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    supervisor = await login(app_client, "supervisor1")
    async with db.read_session() as session:
        category = (await session.execute(select(Category).limit(1))).scalars().one()
    good = f"问题,答案,分类\n公积金贷款额度多少？,最高60万元。,{category.code}\n"
    refused = await app_client.post(
        "/api/v1/kb/entries/import",
        headers=supervisor,
        files=upload(good + "医保怎么报销？,带好票据。,不存在的分类\n"),
    )
    assert refused.status_code == 422
    assert "第2条的分类“不存在的分类”不存在" in refused.json()["message_zh"]
    assert await entry_count(db) == 0
    # The good row alone imports fine.
    accepted = await app_client.post("/api/v1/kb/entries/import", headers=supervisor, files=upload(good))
    assert accepted.json()["created"] == 1
    listed = (await app_client.get("/api/v1/kb/entries", headers=supervisor)).json()["items"]
    assert listed[0]["category_id"] == category.id


async def test_only_supervisors_import_and_unreadable_files_are_refused(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    department = await login(app_client, "dept_zhujian1")
    forbidden = await app_client.post("/api/v1/kb/entries/import", headers=department, files=upload(CSV))
    assert forbidden.status_code == 403
    supervisor = await login(app_client, "supervisor1")
    for name, content in (("faq.csv", "问题,答案\n公积金,办理\n".encode("gbk")), ("faq.json", b"[{")):
        refused = await app_client.post(
            "/api/v1/kb/entries/import", headers=supervisor, files={"file": (name, content, "text/plain")}
        )
        assert refused.status_code == 422, refused.text
    assert await entry_count(db) == 0


async def test_the_command_line_imports_a_file_and_refuses_a_bad_one(
    db: Database, city: City, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    good, bad = tmp_path / "faq.csv", tmp_path / "bad.csv"
    good.write_text(CSV, encoding="utf-8")
    bad.write_text(CSV.replace("公安局", "没有这个局"), encoding="utf-8")
    runner = CliRunner()
    try:
        refused = await asyncio.to_thread(runner.invoke, kb_app, ["import", "--file", str(bad)])
        imported = await asyncio.to_thread(runner.invoke, kb_app, ["import", "--file", str(good), "--publish"])
    finally:
        get_settings.cache_clear()
    assert refused.exit_code == 2 and "第2条的责任单位“没有这个局”不存在" in refused.output
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout) == {"created": 2, "updated": 0, "unchanged": 0, "retired": 0, "published": 2}
    async with db.read_session() as session:
        statuses = (await session.execute(select(KbEntry.status))).scalars().all()
    assert statuses == ["published", "published"]


async def test_an_exported_table_imports_again_unchanged_and_an_edited_one_adds_a_version(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    supervisor = await login(app_client, "supervisor1")
    written = CSV.replace("携带身份证到公积金中心办理。", '"携带身份证\n到公积金中心办理。"').replace(
        "到户籍所在地派出所办理。", "身份证&户口簿，到派出所办理。"
    )
    imported = await app_client.post(
        "/api/v1/kb/entries/import", headers=supervisor, files=upload(written), data={"publish": "true"}
    )
    assert imported.json()["created"] == 2
    department = await login(app_client, "dept_zhujian1")
    tables = {}
    for format in ("xlsx", "csv"):
        exported = await app_client.get(
            "/api/v1/kb/entries/export", headers=department, params={"format": format, "status": "published"}
        )
        assert exported.status_code == 200, exported.text
        assert f'.{format}"' in exported.headers["content-disposition"]
        tables[format] = exported.content
        again = await app_client.post(
            "/api/v1/kb/entries/import", headers=supervisor, files={"file": (f"kb.{format}", exported.content, "")}
        )
        assert again.json() == {"created": 0, "updated": 0, "unchanged": 2, "retired": 0, "published": 0}, format
    assert tables["csv"].startswith(codecs.BOM_UTF8)  # Excel opens the Chinese text as it is

    book = load_workbook(io.BytesIO(tables["xlsx"]))
    sheet = book.active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    rows = {row[header.index("问题")].value: row for row in sheet.iter_rows(min_row=2)}
    assert rows["住房公积金怎么提取？"][header.index("相似问法")].value == "公积金提取流程\n怎样取公积金"
    assert rows["居住证在哪里办？"][header.index("责任单位")].value == "gongan"
    rows["居住证在哪里办？"][header.index("答案")].value = "到居住地派出所或网上办理。"
    edited = io.BytesIO()
    book.save(edited)
    result = await app_client.post(
        "/api/v1/kb/entries/import", headers=supervisor, files={"file": ("kb.xlsx", edited.getvalue(), "")}
    )
    assert result.json() == {"created": 0, "updated": 1, "unchanged": 1, "retired": 0, "published": 0}


def test_a_workbook_with_typed_dates_and_numeric_ids_reads_like_text() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "问题", "答案", "生效日期", "相似问法"])
    sheet.append([17, "老旧小区加装电梯怎么申请？", "向街道提出申请。", datetime(2026, 3, 1), None])
    sheet.append([None, None, None, None, None])  # an empty row in the middle of the sheet
    sheet.append(["A-2", "电梯补贴多少钱？", "每台20万元。", None, "加装电梯补贴"])
    content = io.BytesIO()
    book.save(content)
    first, second = parse_file("faq.xlsx", content.getvalue())
    assert (first.key, first.valid_from, first.similar_questions) == ("17", date(2026, 3, 1), [])
    assert (second.key, second.valid_from, second.similar_questions) == ("A-2", None, ["加装电梯补贴"])
    with pytest.raises(InvalidInput) as refused:
        parse_file("faq.xlsx", b"not a workbook")
    assert "Excel" in refused.value.message_zh


async def test_an_entry_written_by_hand_takes_the_key_of_the_row_with_its_question(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    supervisor = await login(app_client, "supervisor1")
    author = await login(app_client, "dept_zhujian1")
    written = await publish_entry(
        app_client, author, supervisor, question="住房公积金怎么提取？", answer="到中心办理。"
    )
    result = await app_client.post("/api/v1/kb/entries/import", headers=supervisor, files=upload(CSV))
    assert result.json() == {"created": 1, "updated": 1, "unchanged": 0, "retired": 0, "published": 0}
    async with db.read_session() as session:
        keys = dict((await session.execute(select(KbEntry.question, KbEntry.import_key))).all())
    assert keys == {"住房公积金怎么提取？": "FAQ-1", "居住证在哪里办？": "FAQ-2"}
    versions = (await app_client.get(f"/api/v1/kb/entries/{written['id']}/versions", headers=supervisor)).json()
    assert [v["change"] for v in versions] == ["imported", "created"]
    again = await app_client.post("/api/v1/kb/entries/import", headers=supervisor, files=upload(CSV))
    assert again.json()["unchanged"] == 2


async def test_an_entry_with_control_characters_still_exports(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    supervisor = await login(app_client, "supervisor1")
    await publish_entry(
        app_client, supervisor, supervisor, question="复制来的问题\x1b？", answer="答案里有响铃\x07字符"
    )
    exported = await app_client.get("/api/v1/kb/entries/export", headers=supervisor)
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None
    assert [cell.value for cell in sheet[2]][1:4] == ["复制来的问题？", None, "答案里有响铃字符"]
