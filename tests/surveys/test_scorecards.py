"""Scorecards: a month of orders with known outcomes, every rate checked against hand-computed values,
the API's rankings, and the Excel export holding the same figures.

November 2026 (no holidays; business hours 09:00-12:00, 13:30-17:30; 咨询 due in 2 working days,
acceptance within 2 working hours). 市住建局 (A) and 睢阳区 (B) handle orders; the hotline answers two
directly:

- A1: accepted in time, replied in time; survey: resolved, 非常满意.
- A2: accepted late, replied late; survey: unresolved, 不满意, judged unreasonable (excluded).
- A3: in time; survey: unresolved, 非常不满意, judged reasonable → 重办, replied again in time;
  second survey: resolved, 满意.
- A4: never accepted (both of its deadlines passed).
- A5: returned, the return rejected (the unit's fault); then accepted and replied in time; survey unreached.
- A6: returned, the return approved (not the unit's fault), re-dispatched to B: accepted and replied in
  time; survey: resolved, 基本满意.
- B1: dispatched to B on 11-30, in time; its survey is created on 12-01 (another month).
- H1, H2: answered directly; H1's survey: resolved, 满意; H2's unreached.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO

import httpx
import pytest
from openpyxl import load_workbook

from hotline.auth.models import User
from hotline.auth.service import CurrentUser
from hotline.db import Database
from hotline.surveys import review, scorecards
from hotline.surveys.parsing import Satisfaction
from hotline.surveys.service import SurveyPolicy
from hotline.surveys.tasks import run_surveys
from hotline.tickets import service
from hotline.tickets.lifecycle import Action
from hotline.tickets.models import RequestType
from hotline.tickets.schemas import TicketCreate
from hotline.timefmt import CHINA_TZ
from tests.conftest import City, as_current, login
from tests.supervision.helpers import OPERATOR
from tests.surveys.conftest import act, citizen_id, surveys_of

AS_OF = datetime(2026, 12, 10, 12, 0, tzinfo=CHINA_TZ)
MONTH = (datetime(2026, 11, 1, tzinfo=CHINA_TZ), datetime(2026, 12, 1, tzinfo=CHINA_TZ))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA_TZ)


class Month:
    """Builds the month's orders as the people involved would act on them."""

    def __init__(self, db: Database, city: City, staff: dict[str, User], policy: SurveyPolicy) -> None:
        self.db, self.city, self.policy = db, city, policy
        self.operator = as_current(staff["operator1"])
        self.dispatcher = as_current(staff["dispatcher1"])
        self.supervisor = as_current(staff["supervisor1"])
        self.staff = {
            "zhujian": as_current(staff["dept_zhujian1"], city.unit("zhujian")),
            "suiyang": as_current(staff["dept_suiyang1"], city.unit("suiyang")),
        }
        self.phones = iter(f"+8613800138{n:03d}" for n in range(1000))

    async def register(self, when: datetime) -> int:
        who = await citizen_id(self.db, phone=next(self.phones))
        async with self.db.session() as session:
            data = TicketCreate(content="小区路灯不亮", request_type=RequestType.CONSULTATION, channel="sms")
            ticket = await service.create_ticket(session, data=data, actor=OPERATOR, citizen_id=who, now=when)
            return ticket.id or 0

    async def dispatch(self, ticket_id: int, unit: str, when: datetime) -> None:
        await act(self.db, ticket_id, self.dispatcher, Action.DISPATCH, when, lead_unit_id=self.city.unit(unit).id)

    async def handle(self, ticket_id: int, unit: str, accepted: datetime | None, replied: datetime | None) -> None:
        if accepted:
            await act(self.db, ticket_id, self.staff[unit], Action.ACCEPT, accepted)
        if replied:
            await act(self.db, ticket_id, self.staff[unit], Action.REPLY, replied, text="已处理")
            await self.approve(ticket_id, replied + timedelta(hours=1))

    async def approve(self, ticket_id: int, when: datetime) -> None:
        await act(self.db, ticket_id, self.supervisor, Action.APPROVE_REPLY, when)
        await run_surveys(self.db, self.policy, now=when + timedelta(minutes=5))

    async def answer(self, ticket_id: int, resolved: bool, level: Satisfaction, when: datetime, round_: int = 0) -> int:
        survey = (await surveys_of(self.db, ticket_id))[round_]
        async with self.db.session() as session:
            await review.record_call(
                session,
                survey_id=survey.id or 0,
                user=self.operator,
                resolved=resolved,
                satisfaction=level,
                comment=None,
                now=when,
            )
        return survey.id or 0

    async def judge(self, survey_id: int, reasonable: bool, when: datetime, user: CurrentUser | None = None) -> None:
        async with self.db.session() as session:
            await review.judge(
                session,
                survey_id=survey_id,
                user=user or self.supervisor,
                reasonable=reasonable,
                reason="现场核实",
                policy=self.policy,
                now=when,
            )

    async def let_expire(self, ticket_id: int) -> None:
        [survey] = await surveys_of(self.db, ticket_id)
        assert survey.first_sent_at is not None
        await run_surveys(self.db, self.policy, now=survey.first_sent_at + self.policy.retry_after)
        await run_surveys(self.db, self.policy, now=survey.first_sent_at + 2 * self.policy.retry_after)
        await run_surveys(self.db, self.policy, now=survey.first_sent_at + self.policy.expire_after)
        assert (await surveys_of(self.db, ticket_id))[0].status == "unreached"


async def build_month(db: Database, city: City, staff: dict[str, User], policy: SurveyPolicy) -> None:
    m = Month(db, city, staff, policy)
    a1 = await m.register(at(3, 10))
    await m.dispatch(a1, "zhujian", at(3, 10))
    await m.handle(a1, "zhujian", at(3, 10, 30), at(4, 10))
    await m.answer(a1, True, Satisfaction.VERY_SATISFIED, at(4, 12))

    a2 = await m.register(at(3, 10))
    await m.dispatch(a2, "zhujian", at(3, 10))
    await m.handle(a2, "zhujian", at(3, 13), at(6, 10))  # acceptance due 12:00; handling due 11-05 10:00
    survey = await m.answer(a2, False, Satisfaction.DISSATISFIED, at(6, 12))
    await m.judge(survey, False, at(6, 15))

    a3 = await m.register(at(10, 10))
    await m.dispatch(a3, "zhujian", at(10, 10))
    await m.handle(a3, "zhujian", at(10, 10, 30), at(11, 10))
    survey = await m.answer(a3, False, Satisfaction.VERY_DISSATISFIED, at(11, 12))
    await m.judge(survey, True, at(12, 10))  # 重办: due again 11-16 10:00
    await act(db, a3, m.staff["zhujian"], Action.REPLY, at(13, 10), text="已更换灯具")
    await m.approve(a3, at(13, 11))
    await m.answer(a3, True, Satisfaction.SATISFIED, at(13, 15), round_=1)

    a4 = await m.register(at(17, 10))
    await m.dispatch(a4, "zhujian", at(17, 10))

    a5 = await m.register(at(17, 10))
    await m.dispatch(a5, "zhujian", at(17, 10))
    await act(
        db, a5, m.staff["zhujian"], Action.RETURN, at(17, 10, 20), text="非本单位职责", reason_code="not_our_remit"
    )
    await act(db, a5, m.dispatcher, Action.REJECT_RETURN, at(17, 10, 40), text="属于住建职责")
    await m.handle(a5, "zhujian", at(17, 11), at(18, 10))
    await m.let_expire(a5)

    a6 = await m.register(at(24, 10))
    await m.dispatch(a6, "zhujian", at(24, 10))
    await act(db, a6, m.staff["zhujian"], Action.RETURN, at(24, 10, 20), text="属地问题", reason_code="wrong_territory")
    await act(db, a6, m.dispatcher, Action.APPROVE_RETURN, at(24, 13, 40))
    await m.dispatch(a6, "suiyang", at(24, 14))
    await m.handle(a6, "suiyang", at(24, 14, 30), at(25, 10))
    await m.answer(a6, True, Satisfaction.BASICALLY_SATISFIED, at(25, 15))

    b1 = await m.register(at(30, 10))
    await m.dispatch(b1, "suiyang", at(30, 10))
    await m.handle(b1, "suiyang", at(30, 10, 10), at(1, 10, month=12))  # its survey is December's

    for minute, satisfied in ((0, True), (1, False)):
        direct = await m.register(at(5, 10, minute))
        await act(db, direct, m.operator, Action.ANSWER_DIRECTLY, at(5, 10, 5 + minute), text="已告知")
        await run_surveys(db, policy, now=at(5, 10, 10 + minute))
        if satisfied:
            await m.answer(direct, True, Satisfaction.SATISFIED, at(5, 11))
        else:
            await m.let_expire(direct)


# Hand-computed: (numerator, denominator) of each rate.
EXPECTED_A = {
    "response_rate": (3, 5),  # A1, A3, A5 in time; A2 late; A4 never; A6's approved return left out
    "on_time_rate": (3, 5),  # A1, A3 (its reworked reply), A5 in time; A2 late; A4 overdue; A6 is B's now
    "resolution_rate": (2, 3),  # A1, A3 again resolved; A3 first not; A2 excluded as unreasonable
    "satisfaction_rate": (2, 3),  # A1, A3 again satisfied; A3 first not; A2 excluded
    "return_rate": (1, 6),  # A5's rejected return; six dispatches to A (A6's approved return is not A's fault)
    "rework_rate": (1, 4),  # A3 reworked, of A1, A2, A3, A5 replied
    "reach_rate": (4, 5),  # A1, A2, A3, A3 again reached; A5 unreached
    "first_contact_rate": (0, 0),
}
EXPECTED_B = {
    "response_rate": (2, 2),
    "on_time_rate": (2, 2),
    "resolution_rate": (1, 1),
    "satisfaction_rate": (1, 1),
    "return_rate": (0, 2),
    "rework_rate": (0, 2),
    "reach_rate": (1, 1),  # B1's survey is December's
    "first_contact_rate": (0, 0),
}
EXPECTED_HOTLINE = {
    "response_rate": (0, 0),
    "on_time_rate": (0, 0),
    "resolution_rate": (1, 1),
    "satisfaction_rate": (1, 1),
    "return_rate": (0, 0),
    "rework_rate": (0, 0),
    "reach_rate": (1, 2),
    "first_contact_rate": (2, 9),  # of the nine orders registered in November
}
# 0.15×0.6 + 0.20×0.6 + 0.20×0.6667 + 0.25×0.6667 + 0.05×(1−0.1667) + 0.10×(1−0.25) + 0.05×0.8
SCORE_A = 0.6667


def counts_of(row: scorecards.Row) -> dict[str, tuple[int, int]]:
    return {key: (c.numerator, c.denominator) for key, c in row.counts.items()}


@pytest.fixture
async def month(db: Database, city: City, staff: dict[str, User], survey_policy: SurveyPolicy) -> None:
    await build_month(db, city, staff, survey_policy)


@pytest.mark.usefixtures("month")
async def test_every_rate_matches_the_hand_computed_value(db: Database, city: City) -> None:
    async with db.read_session() as session:
        rows = await scorecards.scorecard(session, start=MONTH[0], end=MONTH[1], as_of=AS_OF)
    by_unit = {r.unit_id: r for r in rows}
    a, b = by_unit[city.unit("zhujian").id], by_unit[city.unit("suiyang").id]
    hotline = by_unit[city.unit("szsj").id]
    assert counts_of(a) == EXPECTED_A
    assert counts_of(b) == EXPECTED_B
    assert counts_of(hotline) == EXPECTED_HOTLINE and hotline.hotline and hotline.rank is None
    assert a.counts["return_rate"].rate == 0.1667 and hotline.counts["first_contact_rate"].rate == 0.2222
    assert (a.score, b.score) == (SCORE_A, 1.0)
    assert (b.rank, a.rank) == (1, 2)
    assert a.ranks["return_rate"] == 2 and b.ranks["return_rate"] == 1
    assert [r.unit_id for r in rows] == [b.unit_id, a.unit_id, hotline.unit_id]


@pytest.mark.usefixtures("month")
async def test_the_api_and_the_excel_export_hold_the_same_figures(client: httpx.AsyncClient, city: City) -> None:
    supervisor = await login(client, "supervisor1")
    params = {"period": "2026-11", "as_of": AS_OF.isoformat()}
    response = await client.get("/api/v1/scorecards", params=params, headers=supervisor)
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["start"], view["end"]) == ("2026-11-01", "2026-11-30")
    rows = {r["unit_name"]: r for r in view["rows"]}
    a = rows["市住房和城乡建设局"]
    assert {k: (v["numerator"], v["denominator"]) for k, v in a["metrics"].items()} == EXPECTED_A
    assert (a["rank"], a["score"], a["metrics"]["satisfaction_rate"]["rate"]) == (2, SCORE_A, 0.6667)

    exported = await client.get("/api/v1/scorecards/export", params=params, headers=supervisor)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(exported.content))
    sheet = book["部门考核"]
    header = [c.value for c in sheet[2]]
    table = {row[1]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert set(table) == set(rows)
    for name, row in rows.items():
        assert (table[name]["排名"], table[name]["综合得分"]) == (row["rank"], row["score"])
        for metric in view["metrics"]:
            figures = row["metrics"][metric["key"]]
            label = metric["label"]
            assert table[name][label] == figures["rate"]
            assert (table[name][f"{label}分子"], table[name][f"{label}分母"]) == (
                figures["numerator"],
                figures["denominator"],
            )
    definitions = {r[1]: r for r in book["指标口径"].iter_rows(min_row=2, values_only=True) if r and r[1]}
    for metric in view["metrics"]:
        assert definitions[metric["key"]][2:4] == (metric["numerator"], metric["denominator"])
    assert sheet["D3"].number_format == "0.00%"


async def test_departments_do_not_read_scorecards(client: httpx.AsyncClient, staff: dict[str, User]) -> None:
    department = await login(client, "dept_zhujian1")
    assert (await client.get("/api/v1/scorecards", headers=department)).status_code == 403


def test_the_docs_define_every_rate_the_code_computes() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "SURVEYS.md").read_text(encoding="utf-8")
    for metric in scorecards.METRICS:
        assert f"| `{metric.key}` | {metric.label}" in docs
        if metric.weight:
            assert f"{metric.weight:.2f}" in docs
