"""Checks for the reference city's seed data (商丘市): units, gazetteer and category tree.

The JSON files live in ``hotline/seed/data`` and are read directly (no import of ``hotline``), so these
tests only check the data itself: references resolve, codes are unique, the shapes are what
``hotline seed-demo`` and the territory gazetteer expect.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

DATA_DIR = Path(__file__).resolve().parents[2] / "hotline/seed/data"
FILES = ("units.json", "gazetteer.json", "categories.json")

UNIT_KINDS = {"hotline_center", "city_bureau", "district", "street", "community", "utility"}
PLACE_KINDS = {"road", "landmark", "residential", "village"}
UNIT_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CATEGORY_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,2}$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")

CITY_BUREAUS = {
    "zhujian": "市住房和城乡建设局",
    "chengguan": "市城市管理局",
    "shengtai": "市生态环境局",
    "jiaotong": "市交通运输局",
    "jiaoti": "市教育体育局",
    "renshe": "市人力资源和社会保障局",
    "weijian": "市卫生健康委员会",
    "shichang": "市市场监督管理局",
    "gongan": "市公安局",
    "ziran": "市自然资源和规划局",
    "minzheng": "市民政局",
    "yibao": "市医疗保障局",
    "gongjijin": "市住房公积金管理中心",
    "wenlv": "市文化广电和旅游局",
    "sifa": "市司法局",
    "tuiyi": "市退役军人事务局",
    "caizheng": "市财政局",
    "fagai": "市发展和改革委员会",
}
UTILITIES = {"gongdian", "zilaishui", "ranqi", "reli"}
# The online service hall's ten branches minus 市直 (the city level itself).
BRANCHES = ["市直", "示范区", "梁园区", "睢阳区", "夏邑县", "虞城县", "柘城县", "宁陵县", "睢县", "民权县"]
DISTRICT_CODES = {
    "shifanqu": "示范区",
    "liangyuan": "梁园区",
    "suiyang": "睢阳区",
    "xiayi": "夏邑县",
    "yucheng": "虞城县",
    "zhecheng": "柘城县",
    "ningling": "宁陵县",
    "suixian": "睢县",
    "minquan": "民权县",
}
PUBLIC_SERVICE_CATEGORIES = [
    "政策支持",
    "法律和信息查询",
    "知识产权",
    "就业创业和职业技能培训",
    "公共教育",
    "社会保障",
    "医疗卫生",
    "住房保障",
    "文化体育",
    "民政救助",
    "扶贫脱贫",
    "公共安全",
    "交通出行",
    "社区服务",
    "金融服务",
    "邮电通信",
    "水电气暖",
    "三农服务",
]
CLASSIFIER_LABELS = ["城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输"]


def _load(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_bytes().decode("utf-8"))


@pytest.fixture(scope="module")
def units() -> list[dict[str, Any]]:
    data = _load("units.json")
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def units_by_code(units: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {u["code"]: u for u in units}


@pytest.fixture(scope="module")
def gazetteer() -> dict[str, Any]:
    data = _load("gazetteer.json")
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def categories() -> list[dict[str, Any]]:
    data = _load("categories.json")
    assert isinstance(data, list)
    return data


def _walk(nodes: list[dict[str, Any]], level: int = 1) -> list[tuple[int, dict[str, Any]]]:
    out: list[tuple[int, dict[str, Any]]] = []
    for node in nodes:
        out.append((level, node))
        out.extend(_walk(node.get("children") or [], level + 1))
    return out


# --- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_file_is_utf8_json_with_readable_chinese(name: str) -> None:
    raw = (DATA_DIR / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
    text = raw.decode("utf-8")
    json.loads(text)
    assert CJK_RE.search(text), "Chinese names are stored as characters"
    assert "\\u" not in text, "write with ensure_ascii=False"
    assert "\n  " in text, "pretty-printed"


# --- units ---------------------------------------------------------------------------------------


def test_unit_shape(units: list[dict[str, Any]]) -> None:
    for u in units:
        assert set(u) == {"code", "name", "kind", "parent", "short_names"}, u
        assert UNIT_CODE_RE.match(u["code"]) and len(u["code"]) <= 64, u["code"]
        assert isinstance(u["name"], str) and u["name"].strip() and len(u["name"]) <= 128, u
        assert CJK_RE.search(u["name"]), u
        assert u["kind"] in UNIT_KINDS, u
        assert u["parent"] is None or isinstance(u["parent"], str), u
        assert isinstance(u["short_names"], list) and u["short_names"], u
        for s in u["short_names"]:
            assert isinstance(s, str) and s.strip(), u
        assert len(set(u["short_names"])) == len(u["short_names"]), u


def test_unit_codes_unique(units: list[dict[str, Any]]) -> None:
    dupes = [c for c, n in Counter(u["code"] for u in units).items() if n > 1]
    assert not dupes


def test_unit_parents_exist_and_fit_the_hierarchy(
    units: list[dict[str, Any]], units_by_code: dict[str, dict[str, Any]]
) -> None:
    expected_parent_kind = {"street": "district", "community": "street"}
    for u in units:
        if u["kind"] in expected_parent_kind:
            assert u["parent"] in units_by_code, u
            assert units_by_code[u["parent"]]["kind"] == expected_parent_kind[u["kind"]], u
            assert u["code"].startswith(u["parent"] + "_"), u
        else:
            assert u["parent"] is None, u


def test_hotline_center(units: list[dict[str, Any]]) -> None:
    centers = [u for u in units if u["kind"] == "hotline_center"]
    assert [c["code"] for c in centers] == ["szsj"]
    assert centers[0]["name"] == "市政务服务和大数据管理局"
    assert "市政数局" in centers[0]["short_names"]


def test_city_bureaus(units_by_code: dict[str, dict[str, Any]], units: list[dict[str, Any]]) -> None:
    for code, name in CITY_BUREAUS.items():
        assert code in units_by_code, code
        assert units_by_code[code]["kind"] == "city_bureau"
        assert units_by_code[code]["name"] == name
    assert {u["code"] for u in units if u["kind"] == "city_bureau"} == set(CITY_BUREAUS)
    assert "市住建局" in units_by_code["zhujian"]["short_names"]
    assert "住建局" in units_by_code["zhujian"]["short_names"]


def test_utilities(units: list[dict[str, Any]]) -> None:
    assert {u["code"] for u in units if u["kind"] == "utility"} == UTILITIES


def test_districts_are_the_branches_minus_city_level(units: list[dict[str, Any]]) -> None:
    districts = {u["code"]: u for u in units if u["kind"] == "district"}
    assert len(districts) == len(BRANCHES) - 1 == 9
    assert set(districts) == set(DISTRICT_CODES)
    assert "shizhi" not in districts
    for code, branch in DISTRICT_CODES.items():
        assert branch in districts[code]["short_names"], code
    assert districts["liangyuan"]["name"] == "梁园区人民政府"
    assert {"梁园区", "梁园"} <= set(districts["liangyuan"]["short_names"])


def test_every_district_has_three_to_five_streets(units: list[dict[str, Any]]) -> None:
    streets = Counter(u["parent"] for u in units if u["kind"] == "street")
    for code in DISTRICT_CODES:
        assert 3 <= streets[code] <= 5, (code, streets[code])


def test_every_district_has_two_streets_with_communities(
    units: list[dict[str, Any]], units_by_code: dict[str, dict[str, Any]]
) -> None:
    communities = Counter(u["parent"] for u in units if u["kind"] == "community")
    for code in DISTRICT_CODES:
        with_comms = [s for s, n in communities.items() if units_by_code[s]["parent"] == code and n >= 2]
        assert len(with_comms) >= 2, code
    assert all(2 <= n <= 3 for n in communities.values())


def test_street_and_community_naming(units: list[dict[str, Any]]) -> None:
    for u in units:
        if u["kind"] == "street":
            assert u["name"].endswith(("街道办事处", "镇人民政府", "乡人民政府")), u
            assert any(s.endswith(("街道", "镇", "乡")) for s in u["short_names"]), u
        if u["kind"] == "community":
            assert u["name"].endswith(("社区居民委员会", "村民委员会")), u
            assert any(s.endswith(("社区", "村")) for s in u["short_names"]), u


# --- gazetteer -----------------------------------------------------------------------------------


def test_gazetteer_shape(gazetteer: dict[str, Any]) -> None:
    assert set(gazetteer) == {"note", "places"}
    assert isinstance(gazetteer["note"], str) and "demo" in gazetteer["note"].lower()
    assert isinstance(gazetteer["places"], list) and gazetteer["places"]


def test_gazetteer_places(gazetteer: dict[str, Any], units_by_code: dict[str, dict[str, Any]]) -> None:
    for p in gazetteer["places"]:
        assert set(p) == {"name", "kind", "district", "street", "aliases"}, p
        assert isinstance(p["name"], str) and p["name"].strip(), p
        assert p["kind"] in PLACE_KINDS, p
        assert p["district"] in units_by_code and units_by_code[p["district"]]["kind"] == "district", p
        if p["street"] is not None:
            street = units_by_code.get(p["street"])
            assert street is not None and street["kind"] == "street", p
            assert street["parent"] == p["district"], p
        assert isinstance(p["aliases"], list), p
        for a in p["aliases"]:
            assert isinstance(a, str) and a.strip() and a != p["name"], p


def test_gazetteer_names_unique_and_cover_every_district(gazetteer: dict[str, Any]) -> None:
    names = [p["name"] for p in gazetteer["places"]]
    assert len(names) == len(set(names))
    per_district = Counter(p["district"] for p in gazetteer["places"])
    for code in DISTRICT_CODES:
        assert per_district[code] >= 5, code
    kinds = {p["kind"] for p in gazetteer["places"]}
    assert {"road", "landmark"} <= kinds


# --- categories ----------------------------------------------------------------------------------


def test_category_shape_and_depth(categories: list[dict[str, Any]]) -> None:
    for level, node in _walk(categories):
        assert level <= 3, node["code"]
        assert set(node) == {"code", "name", "default_unit", "children"}, node
        assert isinstance(node["name"], str) and node["name"].strip() and len(node["name"]) <= 64, node
        assert CATEGORY_CODE_RE.match(node["code"]) and len(node["code"]) <= 64, node
        assert node["code"].count(".") == level - 1, node
        if level < 3:
            assert 2 <= len(node["children"]) <= 5, node["code"]
            for child in node["children"]:
                assert child["code"].startswith(node["code"] + "."), child
        else:
            assert node["children"] == [], node


def test_category_codes_unique(categories: list[dict[str, Any]]) -> None:
    codes = [node["code"] for _, node in _walk(categories)]
    assert len(codes) == len(set(codes))


def test_sibling_names_unique(categories: list[dict[str, Any]]) -> None:
    def check(siblings: list[dict[str, Any]]) -> None:
        names = [s["name"] for s in siblings]
        assert len(names) == len(set(names)), names
        for s in siblings:
            check(s["children"])

    check(categories)


def test_level_one_names(categories: list[dict[str, Any]]) -> None:
    names = [c["name"] for c in categories]
    for label in CLASSIFIER_LABELS:
        assert label in names, f"classifier label {label} must be a level-1 name verbatim"
    for name in PUBLIC_SERVICE_CATEGORIES:
        assert name in names, name
    assert len(names) == len(PUBLIC_SERVICE_CATEGORIES) + len(CLASSIFIER_LABELS)


def test_category_default_units_exist(
    categories: list[dict[str, Any]], units_by_code: dict[str, dict[str, Any]]
) -> None:
    for _, node in _walk(categories):
        unit = node["default_unit"]
        if unit is not None:
            assert unit in units_by_code, node
            assert units_by_code[unit]["kind"] in {"city_bureau", "utility", "hotline_center"}, node
    by_name = {c["name"]: c for c in categories}
    assert by_name["城乡建设"]["default_unit"] == "zhujian"
    assert by_name["环境保护"]["default_unit"] == "shengtai"
    assert by_name["水电气暖"]["default_unit"] is None
    utilities = {c["default_unit"] for c in by_name["水电气暖"]["children"]}
    assert utilities == UTILITIES
