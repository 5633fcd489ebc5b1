"""The demo city's knowledge base and service items, so that `make run` has answers to search."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db_types import utcnow
from hotline.units.models import Unit
from knowledge_base.models import EntryStatus, KbEntry, KbEntryVersion, ServiceItem
from knowledge_base.richtext import sanitize

# (owner unit code, question, similar phrasings, answer, source document)
DEMO_ENTRIES = [
    (
        "gongjijin",
        "租房可以提取住房公积金吗？",
        ["租房怎么取公积金", "没有买房能不能提取公积金"],
        "可以。在本市无自有住房且租房自住的职工，可按月或按年提取住房公积金支付房租。"
        "办理渠道：市住房公积金管理中心服务大厅、“商丘公积金”手机APP或微信公众号。需要身份证和本人银行卡。",
        "商丘市住房公积金提取管理办法",
    ),
    (
        "gongjijin",
        "住房公积金贷款最高能贷多少？",
        ["公积金贷款额度", "公积金贷款上限是多少"],
        "单方缴存职工最高可贷50万元，夫妻双方缴存最高可贷70万元，具体额度还与缴存余额、还款能力和房价有关。",
        "商丘市住房公积金个人住房贷款管理办法",
    ),
    (
        "renshe",
        "社保卡丢了怎么补办？",
        ["社会保障卡遗失补办", "社保卡补卡去哪里"],
        "先拨打12333或到合作银行网点挂失，再携带身份证到任一社保卡服务网点或合作银行网点补办，即时制卡网点可当场领卡。",
        None,
    ),
    (
        "renshe",
        "被拖欠工资怎么办？",
        ["公司不发工资去哪投诉", "欠薪怎么维权"],
        "可向用人单位所在地的人力资源和社会保障局劳动保障监察机构投诉，携带身份证、劳动合同或工资条、考勤记录等证据；"
        "也可申请劳动人事争议仲裁。农民工欠薪可拨打12345或12333反映。",
        "保障农民工工资支付条例",
    ),
    (
        "yibao",
        "异地就医怎么备案？",
        ["在外地住院医保怎么报销", "医保异地备案"],
        "可通过“国家医保服务平台”APP、微信小程序或到参保地医保经办机构办理异地就医备案，备案后在外地定点医院可直接结算。",
        None,
    ),
    (
        "zhujian",
        "房屋漏水找谁维修？",
        ["楼上漏水怎么办", "新房漏水找开发商吗"],
        "保修期内的新建住房由建设单位（开发商）负责维修；已过保修期的，专有部分由业主自行维修，共用部位可申请使用住宅专项维修资金。"
        "楼上住户漏水影响您家的，可先协商，协商不成可请物业或社区调解。",
        "房屋建筑工程质量保修办法",
    ),
    (
        "chengguan",
        "路灯不亮找谁？",
        ["路灯坏了报修", "小区外面路灯不亮"],
        "城市道路路灯由市城市管理局负责维护，可拨打12345反映，说明具体路段和灯杆编号；小区内部路灯由物业负责。",
        None,
    ),
]

DEMO_ITEMS: list[dict[str, Any]] = [
    {
        "code": "11411400MB1234567X4000117001",
        "name": "住房公积金提取",
        "unit_name": "市住房公积金管理中心",
        "item_type": "公共服务",
        "conditions": "购买、建造、翻建、大修自住住房；离休、退休；租房自住等",
        "materials": ["身份证", "本人银行卡", "购房合同或租房证明"],
        "process": "网上申请—审核—转账到账",
        "fees": "不收费",
        "time_limit": "即办",
        "contact": "0370-12345",
    },
    {
        "code": "11411400MB7654321X4000217002",
        "name": "社会保障卡补领",
        "unit_name": "市人社局",
        "item_type": "公共服务",
        "conditions": "社保卡遗失、损坏",
        "materials": ["身份证"],
        "process": "挂失—申请补卡—制卡—领卡",
        "fees": "按规定收取工本费",
        "time_limit": "即时制卡网点当场办结",
        "contact": "12333",
    },
]


async def load_demo_knowledge(session: AsyncSession, units: dict[str, Unit]) -> dict[str, int]:
    """Publish the demo entries and service items once (nothing is added when any entry exists)."""
    if (await session.execute(select(func.count()).select_from(KbEntry))).scalar_one():
        return {"kb_entries_added": 0, "service_items_added": 0}
    now = utcnow()
    for unit_code, question, similar, answer, source in DEMO_ENTRIES:
        unit = units.get(unit_code)
        content: dict[str, Any] = {
            "question": question,
            "similar_questions": similar,
            "answer": sanitize(answer),
            "owner_unit_id": unit.id if unit else None,
            "source_document": source,
        }
        entry = KbEntry(**content, status=EntryStatus.PUBLISHED, version=1, published_version=1, published_at=now)
        session.add(entry)
        await session.flush()
        assert entry.id is not None
        session.add(KbEntryVersion(entry_id=entry.id, version=1, change="created", created_at=now, **content))
    by_name = {unit.name: unit.id for unit in units.values()}
    for item in DEMO_ITEMS:
        session.add(ServiceItem(**item, unit_id=by_name.get(str(item["unit_name"])), source="file", updated_at=now))
    return {"kb_entries_added": len(DEMO_ENTRIES), "service_items_added": len(DEMO_ITEMS)}
