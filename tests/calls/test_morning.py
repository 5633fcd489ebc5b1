"""A simulated morning: 211 calls from a script while operators sign in, take breaks and let phones ring out;
the call metrics equal what was worked out by hand below, and no call is lost between queue and operator.

Settings: service 08:00-18:00, rings of 20 s, 10 s wrap-up after every call, voicemail after 120 s of waiting.
Every operator picks up 4 s after their phone starts ringing unless the script says otherwise.

07:50-07:58  five calls before opening: voicemail (after hours), not offered.
08:00-08:59  A, B, C sign in (07:59:00/10/20). A call every minute (60), 120 s talk. Each operator is busy
             4 + 120 + 10 = 134 s < 180 s, so every call finds someone free: waits are all 4 s, and the calls
             go round A, B, C (the longest idle first): 20 each.
09:03-09:58  D signs in at 09:02. Twelve waves, every 5 minutes, of eight calls one second apart, 50 s talk;
             the eighth caller hangs up after 30 s. Calls 1-4 ring the four operators at once (wait 4 s);
             calls 5-7 wait for the first three to finish (wave + 4 + 50 + 10 = 64 s), answered at 68-70 s,
             so each waited 64 s; the last operator of a wave (free first) leads the next, so the four rotate,
             each is the one with a single call in 3 of 12 waves: 9 * 2 + 3 = 21 calls each.
             Per wave: 8 offered, 7 answered (4 at 4 s, 3 at 64 s), 1 abandoned.
10:01-10:58  C and D go on a break at 10:00:30. A call every 3 minutes (20), 60 s talk, two operators
             alternating (A first, idle since 09:59:07; B since 10:00:08). The call of 10:16 rings B, who lets it
             ring out: at 10:16:25 (20 s + 5 s grace) it moves to A, answered at 10:16:29 (wait 29 s), and B is set
             busy until B shows available at 10:20. The call of 10:31 rings A, who goes on a break 13 s into the
             ring: it moves at once to B, answered at 10:31:17 (wait 17 s); A is back at 10:35. Waits: 18 x 4, 29, 17.
11:00-11:29  B breaks at 10:59:30, C and D sign out at 11:00; only A works. A call every minute (30), 170 s talk:
             A is free every 184 s (at 11:00 + 184 k s, k >= 1) and takes the oldest caller still waiting; the
             others reach 120 s and go to voicemail. Answered: 11:00 (wait 4) and ten more with waits 68, 72, ...
             104 (4 s more each time); 19 overflowed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.calls.models import Call, CallStatus, Presence
from hotline.calls.policy import policy_from
from hotline.config import Settings
from hotline.db import Database
from hotline.timefmt import CHINA_TZ
from tests.calls.conftest import events_of
from tests.calls.simulation import Caller, Operator, Simulation
from tests.conftest import add_user, login

DAY = datetime(2026, 11, 3, tzinfo=CHINA_TZ)


def clock(hms: str) -> datetime:
    hours, minutes, seconds = (int(part) for part in hms.split(":"))
    return DAY.replace(hour=hours, minute=minutes, second=seconds)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


async def _operators(db: Database) -> dict[str, Operator]:
    found = {}
    async with db.session() as session:
        for name in "ABCD":
            user = await add_user(session, f"sim_{name.lower()}", Role.OPERATOR)
            found[name] = Operator(user_id=user.id or 0, endpoint=f"80{ord(name) - 64:02d}")
    return found


def script(sim: Simulation) -> None:
    for minute in range(50, 59, 2):
        sim.call(Caller(f"early-{minute}", clock(f"07:{minute}:00"), talk=seconds(0)))
    for name, at in (("A", "07:59:00"), ("B", "07:59:10"), ("C", "07:59:20"), ("D", "09:02:00")):
        sim.presence(name, Presence.AVAILABLE, clock(at))
    for minute in range(60):
        sim.call(Caller(f"steady-{minute}", clock("08:00:00") + timedelta(minutes=minute), talk=seconds(120)))
    for wave in range(12):
        start = clock("09:03:00") + timedelta(minutes=5 * wave)
        for k in range(8):
            patience = seconds(30) if k == 7 else None
            sim.call(Caller(f"wave-{wave}-{k}", start + seconds(k), talk=seconds(50), patience=patience))
    sim.presence("C", Presence.BREAK, clock("10:00:30"))
    sim.presence("D", Presence.BREAK, clock("10:00:30"))
    for n in range(20):
        sim.call(Caller(f"late-{n}", clock("10:01:00") + timedelta(minutes=3 * n), talk=seconds(60)))
    sim.operators["B"].let_ring.add("late-5")
    sim.presence("B", Presence.AVAILABLE, clock("10:20:00"))
    sim.operators["A"].break_after["late-10"] = seconds(13)
    sim.presence("A", Presence.AVAILABLE, clock("10:35:00"))
    sim.presence("B", Presence.BREAK, clock("10:59:30"))
    sim.presence("C", Presence.OFFLINE, clock("11:00:00"))
    sim.presence("D", Presence.OFFLINE, clock("11:00:00"))
    for minute in range(30):
        sim.call(Caller(f"rush-{minute}", clock("11:00:00") + timedelta(minutes=minute), talk=seconds(170)))


def row(
    offered: int,
    answered: int,
    abandoned: int,
    overflowed: int,
    after_hours: int,
    rate: float | None,
    within_15: float | None,
    within_20: float | None,
    wait: float | None,
    talk: float | None,
) -> dict[str, object]:
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "overflowed": overflowed,
        "after_hours": after_hours,
        "connection_rate": rate,
        "answered_within_15s_rate": within_15,
        "answered_within_20s_rate": within_20,
        "average_wait_seconds": wait,
        "average_talk_seconds": talk,
    }


BY_HOUR = {
    "2026-11-03T07:00:00+08:00": row(0, 0, 0, 0, 5, None, None, None, None, None),
    "2026-11-03T08:00:00+08:00": row(60, 60, 0, 0, 0, 1.0, 1.0, 1.0, 4.0, 120.0),
    # waits 48 * 4 + 36 * 64 = 2496 s over 84 answers = 29.71 s
    "2026-11-03T09:00:00+08:00": row(96, 84, 12, 0, 0, 0.875, 0.5, 0.5, 29.7, 50.0),
    # waits 18 * 4 + 29 + 17 = 118 s over 20; within 15 s: 18, within 20 s: 19
    "2026-11-03T10:00:00+08:00": row(20, 20, 0, 0, 0, 1.0, 0.9, 0.95, 5.9, 60.0),
    # waits 4 + (68 + 72 + ... + 104) = 4 + 860 = 864 s over 11 = 78.55 s; 11 / 30 = 0.3667
    "2026-11-03T11:00:00+08:00": row(30, 11, 0, 19, 0, 0.3667, 0.0333, 0.0333, 78.5, 170.0),
}
# 206 offered, 175 answered; within 15 s 60 + 48 + 18 + 1 = 127, within 20 s 128;
# waits 240 + 2496 + 118 + 864 = 3718 s / 175 = 21.25; talk 7200 + 4200 + 1200 + 1870 = 14470 s / 175 = 82.69
DAY_TOTAL = row(206, 175, 12, 19, 5, 0.8495, 0.6165, 0.6214, 21.2, 82.7)
# by operator: A 20 + 21 + 10 + 11, B 20 + 21 + 10, C 20 + 21, D 21; the 31 never rung (and the 5 after-hours
# calls) belong to no one, so the rows add up to the day.
# A waits 80 + 624 + (9 * 4 + 29) + 864 = 1633 s / 62; B 80 + 624 + (9 * 4 + 17) = 757 s / 51; C 704 / 41; D 624 / 21
# within 15 s: A 20 + 12 + 9 + 1 = 42 of 62; B 20 + 12 + 9 = 41 of 51 (42 within 20 s); C 32 of 41; D 12 of 21
BY_OPERATOR = {
    "sim_a": row(62, 62, 0, 0, 0, 1.0, 0.6774, 0.6774, 26.3, 95.5),
    "sim_b": row(51, 51, 0, 0, 0, 1.0, 0.8039, 0.8235, 14.8, 79.4),
    "sim_c": row(41, 41, 0, 0, 0, 1.0, 0.7805, 0.7805, 17.2, 84.1),
    "sim_d": row(21, 21, 0, 0, 0, 1.0, 0.5714, 0.5714, 29.7, 50.0),
    None: row(31, 0, 12, 19, 5, 0.0, 0.0, 0.0, None, None),
}


def _counts(document: dict[str, object]) -> dict[str, object]:
    return {name: document[name] for name in DAY_TOTAL}


async def test_a_simulated_morning_gives_the_hand_computed_metrics(
    settings: Settings, db: Database, staff: dict[str, User]
) -> None:
    settings = settings.model_copy(
        update={
            "call_service_hours": "08:00-18:00",
            "call_ring_seconds": 20,
            "call_wrap_up_seconds": 10,
            "call_max_wait_seconds": 120,
        }
    )
    sim = Simulation(db, policy_from(settings), await _operators(db))
    script(sim)
    await sim.run()

    async with db.read_session() as session:
        calls = list((await session.execute(select(Call))).scalars())
    assert len(calls) == 5 + 60 + 96 + 20 + 30
    assert {c.status for c in calls} <= {CallStatus.COMPLETED, CallStatus.ABANDONED, CallStatus.VOICEMAIL}
    broken_ring = sim.call_id("late-10")
    assert await events_of(db, broken_ring) == [
        "arrived",
        "queued",
        "offered",
        "withdrawn",
        "offered",
        "answered",
        "completed",
    ]

    from tests.channels.conftest import running_app

    async with running_app(settings) as client:
        reports = await _reports(client)
    assert {r["key"]: _counts(r) for r in reports["hour"]["rows"]} == BY_HOUR
    assert _counts(reports["hour"]["total"]) == DAY_TOTAL
    assert [_counts(r) for r in reports["day"]["rows"]] == [DAY_TOTAL]
    operators = {r["label"] if r["key"] else None: _counts(r) for r in reports["operator"]["rows"]}
    assert operators == BY_OPERATOR


async def _reports(client: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    headers = await login(client, "supervisor1")
    period = {"start": DAY.isoformat(), "end": (DAY + timedelta(days=1)).isoformat()}
    found = {}
    for by in ("hour", "day", "operator"):
        response = await client.get("/api/v1/calls/metrics", params={**period, "by": by}, headers=headers)
        assert response.status_code == 200, response.text
        found[by] = response.json()
    return found
