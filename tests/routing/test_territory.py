"""Territory extraction against the demo city's gazetteer: names, variants, typos, spans, ambiguity, speed."""

from __future__ import annotations

import json
from functools import cache

import pytest

from hotline.seed.city import DATA
from routing.territory import Gazetteer, UnitRecord, places_from_gazetteer


@cache
def gazetteer() -> Gazetteer:
    units = json.loads((DATA / "units.json").read_text(encoding="utf-8"))
    records = [UnitRecord(u["code"], u["name"], u["kind"], u["parent"], tuple(u["short_names"])) for u in units]
    return Gazetteer(records, places_from_gazetteer(json.loads((DATA / "gazetteer.json").read_text(encoding="utf-8"))))


@pytest.mark.parametrize(
    ("address", "district", "street", "community"),
    [
        ("梁园区平原路88号", "liangyuan", "liangyuan_pingyuan", None),  # a road known to lie in a street
        ("梁园平原路", "liangyuan", "liangyuan_pingyuan", None),  # short district name run into the road
        ("梁源区长征社区", "liangyuan", "liangyuan_changzheng", "liangyuan_changzheng_changzheng"),  # typo
        ("睢阳古城", "suiyang", "suiyang_gucheng", None),  # district + the landmark's everyday name
        ("商丘古城南门", "suiyang", "suiyang_gucheng", None),  # landmark inside a longer phrase
        ("夏邑县城关镇东关村", "xiayi", "xiayi_chengguan", "xiayi_chengguan_dongguan"),
        ("虞城县西关村", "yucheng", "yucheng_limin", "yucheng_limin_xiguan"),  # shared name settled by the county
        ("平原办事处", "liangyuan", "liangyuan_pingyuan", None),  # everyday form of 平原街道办事处
        ("示范区中州路", "shifanqu", "shifanqu_zhongzhou", None),
        ("睢阳大道", "shifanqu", "shifanqu_pingtai", None),  # the road, not the district 睢阳区
        ("民权县王公庄", "minquan", "minquan_beiguan", None),
    ],
)
def test_address_variants_find_their_units(
    address: str, district: str, street: str | None, community: str | None
) -> None:
    territory = gazetteer().locate(address=address)
    assert (territory.district, territory.street, territory.community) == (district, street, community)
    assert territory.score > 0.5


def test_typos_are_near_matches_with_a_lower_score_and_the_span_typed() -> None:
    territory = gazetteer().locate(address="梁圆区平元路")
    assert (territory.district, territory.street) == ("liangyuan", "liangyuan_pingyuan")
    assert [(m.span.text, m.form, m.fuzzy) for m in territory.matches] == [
        ("梁圆区", "梁园区", True),
        ("平元路", "平原路", True),
    ]
    assert territory.score < 0.7  # the operator sees it is a guess


def test_spans_point_into_the_operators_own_text() -> None:
    content = "我家住在商丘古城南门附近，路灯已经坏了一周。"
    territory = gazetteer().locate(content=content)
    (match,) = territory.matches
    assert (match.span.field, match.span.start, match.span.end) == ("content", 4, 8)
    assert content[match.span.start : match.span.end] == match.span.text == "商丘古城"


def test_spaces_and_full_width_characters_do_not_hide_names() -> None:
    address = "梁园 区 平原路１２号"
    territory = gazetteer().locate(address=address)
    assert (territory.district, territory.street) == ("liangyuan", "liangyuan_pingyuan")
    assert [address[m.span.start : m.span.end] for m in territory.matches] == ["梁园 区", "平原路"]


def test_the_address_outweighs_a_road_named_in_passing() -> None:
    territory = gazetteer().locate(address="梁园区", content="南京路上有个大坑")  # 南京路 is in 睢阳区
    assert territory.district == "liangyuan"
    assert [m.span.field for m in territory.supporting] == ["address"]


def test_a_name_shared_by_several_counties_alone_is_not_guessed() -> None:
    territory = gazetteer().locate(address="城关镇")
    assert territory.district is None
    assert set(territory.candidates) == {"xiayi", "yucheng", "zhecheng", "suixian", "minquan"}


def test_short_names_inside_common_words_are_not_places() -> None:
    assert gazetteer().locate(content="请维护人民权益，保障公民权利").district is None  # not 民权县
    assert gazetteer().locate(content="民权县人和镇").district == "minquan"


def test_nothing_known_is_unknown() -> None:
    territory = gazetteer().locate(address="北京市海淀区", content="咨询社保卡补办")
    assert (territory.district, territory.unit, territory.score, territory.matches) == (None, None, 0.0, ())
