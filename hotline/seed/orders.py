"""Demo orders in every state, built from real citizen messages when the public data set is present.

Orders are driven through the real lifecycle service, so their histories are what staff would see. Each is
registered with what the console proposes for its text (category, territory) and dispatched to the unit the
dispatch catalogue names for it, as an operator accepting the proposals would.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import Role, User
from hotline.auth.service import CurrentUser
from hotline.channels.models import Channel
from hotline.db_types import utcnow
from hotline.tickets import service
from hotline.tickets.lifecycle import Action
from hotline.tickets.models import RequestType, Ticket, Urgency
from hotline.tickets.schemas import TicketCreate
from hotline.units.models import Unit, UnitKind
from routing.context import RoutingContext
from routing.schemas import Suggestion
from routing.suggest import suggest

REPLIES_FILE = "teddycup2020_c_replies.jsonl"
HISTORY_DAYS = 20
RANDOM_SEED = 12345
MAX_CONTENT = 1500
BUILTIN_MESSAGES = (
    ("小区电梯频繁故障", "我住在梁园区平原街道某小区，电梯一个月坏了三次，物业一直不修，老人上下楼很困难。", "zhujian"),
    ("路灯不亮", "睢阳区南京路与神火大道交叉口附近路灯已经一周不亮了，晚上出行很危险。", "chengguan"),
    ("噪音扰民", "示范区某工地夜间十一点以后还在施工，噪音很大，严重影响休息。", "shengtai"),
    ("咨询公积金提取", "请问在商丘缴纳的住房公积金，租房可以提取吗？需要哪些材料？", "gongjijin"),
    ("停水无通知", "梁园区长征街道一带今天早上突然停水，没有任何通知，什么时候恢复？", "zilaishui"),
    ("社保卡补办", "我的社保卡丢了，在哪里可以补办，多长时间能拿到？", "renshe"),
    ("学校周边交通拥堵", "睢阳区某小学门口上下学时段交通拥堵严重，建议增加交警疏导。", "jiaotong"),
    ("医保报销咨询", "在外地住院的费用回商丘怎么报销，需要提前备案吗？", "yibao"),
    ("占道经营", "夏邑县城关镇某路段商贩占道经营，行人只能走机动车道。", "xiayi"),
    ("农村道路破损", "虞城县某村通村公路破损严重，下雨天车辆无法通行。", "yucheng"),
    ("供暖不热", "睢阳区某小区暖气温度只有十几度，热力公司一直没人来看。", "reli"),
    ("表扬社区工作人员", "平原街道社区工作人员帮助我家老人办理了低保，服务很好，特此表扬。", "liangyuan"),
)
KEYWORD_UNITS = (
    (r"物业|小区|房产|楼盘|电梯|住房|开发商", "zhujian"),
    (r"公积金", "gongjijin"),
    (r"社保|工资|欠薪|就业|养老保险", "renshe"),
    (r"医保|报销", "yibao"),
    (r"医院|医生|卫生|疫苗", "weijian"),
    (r"学校|教育|学生|老师|幼儿园", "jiaoti"),
    (r"公交|交通|道路|出租车|客运", "jiaotong"),
    (r"污染|噪音|噪声|排放|环保|臭", "shengtai"),
    (r"垃圾|城管|占道|摊|违建|路灯", "chengguan"),
    (r"停电|供电|电费", "gongdian"),
    (r"停水|自来水|水压", "zilaishui"),
    (r"燃气|天然气|煤气", "ranqi"),
    (r"暖气|供暖|热力", "reli"),
    (r"食品|市场|价格|商家|消费", "shichang"),
)
# The share of demo orders left in each state, as a center's live data would show.
TARGET_STATES = (
    ("registered", 12),
    ("dispatched", 12),
    ("return_review", 4),
    ("in_progress", 20),
    ("extension", 3),
    ("reply_review", 8),
    ("replied", 8),
    ("direct", 8),
    ("closed", 15),
    ("archived", 6),
    ("merged", 4),
)


@dataclass(frozen=True)
class DemoMessage:
    title: str
    body: str
    reply: str | None
    unit_code: str | None


@dataclass
class Cast:
    """The demo staff who act on the orders."""

    operator: CurrentUser
    dispatcher: CurrentUser
    supervisor: CurrentUser
    departments: dict[int, CurrentUser]


def _localise(text: str, districts: list[str]) -> str:
    """Put the anonymised places of the public data (``A市``, ``B9市``, ``A3区``, ``K4县``) into the demo city."""
    text = re.sub(r"[A-Z]\d*市", "商丘市", text)
    return re.sub(
        r"([A-Z])(\d+)[区县]", lambda m: districts[(ord(m.group(1)) + int(m.group(2))) % len(districts)], text
    )


def read_messages(data_dir: Path, districts: list[str]) -> list[DemoMessage]:
    """Real messages with their official replies if the data set is there, else a small built-in set."""
    path = data_dir / REPLIES_FILE
    if not path.is_file():
        return [DemoMessage(t, b, None, unit) for t, b, unit in BUILTIN_MESSAGES]
    messages = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            body = _localise(" ".join(str(row.get("body") or "").split()), districts)[:MAX_CONTENT]
            if body:
                reply = _localise(str(row.get("reply") or "").strip(), districts)[:MAX_CONTENT] or None
                messages.append(DemoMessage(_localise(str(row.get("title") or ""), districts), body, reply, None))
    return messages


def _unit_for(message: DemoMessage, units: dict[str, Unit], rng: random.Random) -> Unit:
    code = message.unit_code or next(
        (code for pattern, code in KEYWORD_UNITS if re.search(pattern, message.title + message.body)), None
    )
    if code and code in units:
        return units[code]
    districts = [u for u in units.values() if u.kind == UnitKind.DISTRICT]
    return rng.choice(districts)


def _states(n: int) -> Iterator[str]:
    total = sum(weight for _, weight in TARGET_STATES)
    for i in range(n):
        position, acc = (i * total // max(n, 1)) % total, 0
        for state, weight in TARGET_STATES:
            acc += weight
            if position < acc:
                yield state
                break


def _request_type(text: str) -> RequestType:
    for pattern, kind in (
        (r"举报", RequestType.REPORT),
        (r"投诉|不作为", RequestType.COMPLAINT),
        (r"表扬|感谢", RequestType.PRAISE),
        (r"建议", RequestType.SUGGESTION),
        (r"请问|咨询|怎么办理|如何", RequestType.CONSULTATION),
    ):
        if re.search(pattern, text):
            return kind
    return RequestType.HELP


async def load_cast(session: AsyncSession, units: dict[str, Unit]) -> Cast:
    """The demo accounts as actors of the lifecycle."""
    users = {u.username: u for u in (await session.execute(select(User))).scalars()}
    paths = {u.id: u.path for u in units.values()}

    def actor(user: User) -> CurrentUser:
        assert user.id is not None
        unit_path = paths.get(user.unit_id) if user.unit_id else None
        return CurrentUser(user.id, user.username, user.display_name, Role(user.role), user.unit_id, unit_path, 0)

    departments = {u.unit_id: actor(u) for u in users.values() if u.role == Role.DEPARTMENT_STAFF and u.unit_id}
    return Cast(actor(users["operator1"]), actor(users["dispatcher1"]), actor(users["supervisor1"]), departments)


async def build_orders(
    session: AsyncSession, *, units: dict[str, Unit], data_dir: Path, count: int, routing: RoutingContext
) -> int:
    """Create ``count`` orders spread over the last weeks and drive each into its target state."""
    rng = random.Random(RANDOM_SEED)
    districts = [u.short_names[0] if u.short_names else u.name for u in units.values() if u.kind == UnitKind.DISTRICT]
    messages = read_messages(data_dir, districts)
    rng.shuffle(messages)
    cast = await load_cast(session, units)
    index = await routing.index(session)
    now = utcnow()
    previous: Ticket | None = None
    for i, state in enumerate(_states(count)):
        message = messages[i % len(messages)]
        start = now - timedelta(days=rng.uniform(0.2, HISTORY_DAYS))
        if state in ("registered", "merged"):
            start = now - timedelta(hours=rng.uniform(0.1, 6))
        proposal = suggest(index, routing.classifier, content=_text(message), address=None)
        ticket = await _create(session, message, proposal, cast, rng, start)
        lead = _proposed_lead(proposal, units, cast) or _unit_for(message, units, rng)
        await _drive(session, ticket, state, message, lead, cast, start, previous)
        previous = ticket
    return count


def _text(message: DemoMessage) -> str:
    return f"{message.title}\n{message.body}" if message.title else message.body


def _proposed_lead(proposal: Suggestion, units: dict[str, Unit], cast: Cast) -> Unit | None:
    """The unit a catalogue rule names for the order, if the demo city has staff there."""
    lead = proposal.dispatch.lead_unit
    if proposal.dispatch.basis != "rule" or lead is None or lead.id not in cast.departments:
        return None
    return next((unit for unit in units.values() if unit.id == lead.id), None)


async def _create(
    session: AsyncSession, message: DemoMessage, proposal: Suggestion, cast: Cast, rng: random.Random, at: datetime
) -> Ticket:
    text = _text(message)
    territory = proposal.territory.unit
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    data = TicketCreate(
        citizen_phone=phone,
        content=text,
        title=message.title or None,
        channel=rng.choice([Channel.PHONE, Channel.PHONE, Channel.SMS, Channel.WECHAT, Channel.EMAIL, Channel.WEB]),
        request_type=_request_type(text),
        urgency=Urgency.UTILITY_OUTAGE if re.search(r"停水|停电|停气|暖气", text) else Urgency.GENERAL,
        category_id=proposal.categories[0].category_id if proposal.categories else None,
        territory_unit_id=territory.id if territory else None,
    )
    return await service.create_ticket(session, data=data, actor=service.actor_of(cast.operator), now=at)


async def _drive(
    session: AsyncSession,
    ticket: Ticket,
    state: str,
    message: DemoMessage,
    unit: Unit,
    cast: Cast,
    start: datetime,
    previous: Ticket | None,
) -> None:
    """Take an order from registered to its target state, one real transition at a time."""
    assert ticket.id is not None and unit.id is not None
    clock = iter(start + timedelta(hours=h) for h in (0.2, 1, 3, 20, 40, 50, 60, 70))

    async def step(action: Action, who: CurrentUser, text: str | None = None, **params: object) -> None:
        await service.act(
            session,
            ticket_id=ticket.id or 0,
            user=who,
            action=action,
            text=text,
            params=params,
            now=min(next(clock), utcnow()),
        )

    if state == "registered":
        return
    if state == "merged":
        if previous is not None and previous.status in ("registered", "dispatched", "in_progress"):
            await step(Action.MERGE, cast.operator, "同一诉求重复来电", target_id=previous.id)
        return
    if state == "direct":
        await step(Action.ANSWER_DIRECTLY, cast.operator, message.reply or "已按政策口径答复诉求人。")
        return
    await step(Action.DISPATCH, cast.dispatcher, lead_unit_id=unit.id, assisting_unit_ids=[])
    staff = cast.departments[unit.id]
    if state == "dispatched":
        return
    if state == "return_review":
        await step(Action.RETURN, staff, "不属于本单位职责范围，请改派。", reason_code="not_our_remit")
        return
    await step(Action.ACCEPT, staff)
    if state == "in_progress":
        return
    if state == "extension":
        assert ticket.due_at is not None
        await step(
            Action.REQUEST_EXTENSION,
            staff,
            "需协调多个部门现场核查。",
            requested_due_at=ticket.due_at + timedelta(days=7),
        )
        return
    await step(Action.REPLY, staff, message.reply or "经现场核查，问题已处理完毕，已电话告知诉求人。")
    if state == "reply_review":
        return
    await step(Action.APPROVE_REPLY, cast.supervisor)
    if state == "replied":
        return
    await step(Action.CLOSE, cast.supervisor)
    if state == "archived":
        await step(Action.ARCHIVE, cast.supervisor)
