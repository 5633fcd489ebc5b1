"""Service items imported from a file: CSV and JSON read alike, a bad row refuses the whole file."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.errors import InvalidInput
from knowledge_base.models import ServiceItem
from knowledge_base.service_items import import_items, parse_file
from tests.conftest import City

CSV = """code,name,unit_name,item_type,materials,time_limit,fees
A001,居住证办理,市公安局,公共服务,身份证；居住证明；照片,15个工作日,不收费
A002,城市道路占用许可,市城管局,行政许可,申请书;占道平面图,5个工作日,
"""


async def test_a_csv_file_is_imported_and_units_matched_by_name(db: Database, city: City) -> None:
    items = parse_file("items.csv", CSV.encode("utf-8-sig"))
    assert [item.materials for item in items] == [["身份证", "居住证明", "照片"], ["申请书", "占道平面图"]]
    async with db.session() as session:
        assert await import_items(session, items, source="file", now=utcnow()) == {"created": 2, "updated": 0}
    async with db.read_session() as session:
        stored = (await session.execute(select(ServiceItem).order_by(ServiceItem.code))).scalars().all()
    assert [(item.name, item.unit_id) for item in stored] == [
        ("居住证办理", city.unit("gongan").id),
        ("城市道路占用许可", city.unit("chengguan").id),
    ]


def test_a_file_with_a_bad_row_is_refused_naming_the_row() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_file("items.json", b'[{"code": "A1", "name": "x", "unit_name": "y"}, {"code": "A2"}]')
    assert "第2条" in refused.value.message_zh and "name" in refused.value.message_en
