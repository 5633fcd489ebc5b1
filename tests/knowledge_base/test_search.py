"""Behaviour of the knowledge-base search index on a small hand-made corpus of hotline questions."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knowledge_base.cli import kb_app
from knowledge_base.highlight import mark_html
from knowledge_base.search import FEEDBACK_MAX_BOOST, Hit, KnowledgeEntry, SearchIndex

HOUSING_FUND_CENTRE = 11
PUBLIC_SECURITY = 21
HUMAN_RESOURCES = 31
HEATING_COMPANY = 41

CORPUS = [
    KnowledgeEntry(
        "gjj-withdraw",
        "如何提取住房公积金？",
        "职工购房、租房、离退休等情形可申请提取住房公积金，携带身份证到公积金管理中心或通过手机APP办理。",
        similar_questions=("租房可以提取公积金吗", "公积金怎么取出来"),
        category="住房",
        owner_unit_id=HOUSING_FUND_CENTRE,
    ),
    KnowledgeEntry(
        "gjj-loan",
        "住房公积金贷款最高额度是多少？",
        "单缴存职工最高可贷50万元，双缴存职工最高可贷70万元。",
        category="住房",
        owner_unit_id=HOUSING_FUND_CENTRE,
    ),
    KnowledgeEntry(
        "residence-permit",
        "居住证怎么办理？",
        "在本市居住半年以上，携带身份证、居住证明到社区警务室或派出所申请，15个工作日内领证。",
        category="户籍",
        owner_unit_id=PUBLIC_SECURITY,
    ),
    KnowledgeEntry(
        "residence-permit-renew",
        "居住证到期了如何签注？",
        "居住证每年签注一次，可在到期前一个月内到派出所或通过政务服务网办理签注。",
        category="户籍",
        owner_unit_id=PUBLIC_SECURITY,
    ),
    KnowledgeEntry(
        "hukou-transfer",
        "户口迁入需要准备哪些材料？",
        "身份证、户口簿、房屋产权证明或单位接收证明，到迁入地派出所办理。",
        category="户籍",
        owner_unit_id=PUBLIC_SECURITY,
    ),
    KnowledgeEntry(
        "social-card-reissue",
        "社保卡丢失了如何补办？",
        "先拨打12333或到合作银行挂失，再携带身份证到社保经办网点或合作银行网点补办。",
        category="社保",
        owner_unit_id=HUMAN_RESOURCES,
    ),
    KnowledgeEntry(
        "social-card-activate",
        "新领的社保卡怎么激活？",
        "持社保卡和身份证到合作银行网点设置密码即可激活金融功能。",
        category="社保",
        owner_unit_id=HUMAN_RESOURCES,
    ),
    KnowledgeEntry(
        "pension-flexible",
        "灵活就业人员如何缴纳养老保险？",
        "可在社保经办机构办理个人参保登记，按月或按季度缴纳基本养老保险费。",
        category="社保",
        owner_unit_id=HUMAN_RESOURCES,
    ),
    KnowledgeEntry(
        "medical-remote",
        "异地就医如何备案和报销？",
        "通过国家医保服务平台APP办理异地就医备案，备案后在定点医院直接结算。",
        category="社保",
        owner_unit_id=HUMAN_RESOURCES,
    ),
    KnowledgeEntry(
        "unemployment-benefit",
        "失业保险金怎么申领？",
        "失业后60日内持身份证到户籍地或参保地的公共就业服务机构申领失业保险金。",
        category="社保",
        owner_unit_id=HUMAN_RESOURCES,
    ),
    KnowledgeEntry(
        "heating",
        "冬季室内温度不达标如何处理？",
        "室温低于18℃可拨打供热企业服务电话报修，企业应在24小时内上门检测。",
        similar_questions=("暖气不热找谁",),
        category="供热",
        owner_unit_id=HEATING_COMPANY,
    ),
    KnowledgeEntry(
        "business-licence",
        "个体工商户营业执照怎么办理？",
        "通过市场监管局网上登记平台提交申请，材料齐全的当场办结。",
        category="市场监管",
    ),
    KnowledgeEntry(
        "construction-noise",
        "夜间施工噪音扰民怎么投诉？",
        "夜间22时至次日6时禁止产生噪声的建筑施工作业，可拨打12345投诉，由城管部门查处。",
        category="环境",
    ),
]


def ids(hits: list[Hit]) -> list[str]:
    """Return the entry ids of a hit list, best first."""
    return [hit.entry_id for hit in hits]


def indexed(index: SearchIndex, hit: Hit) -> KnowledgeEntry:
    """Return the indexed entry behind a hit."""
    entry = index.get(hit.entry_id)
    assert entry is not None
    return entry


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    """An index over the hand-made corpus, shared by read-only tests."""
    return SearchIndex.build(CORPUS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("我想把住房公积金取出来交房租，怎么弄？", "gjj-withdraw"),
        ("社保卡丢了怎么办", "social-card-reissue"),
        ("办理居住证要去哪里", "residence-permit"),
        ("公积金最多能贷多少钱", "gjj-loan"),
        ("没有工作了怎么领失业金", "unemployment-benefit"),
        ("在外地看病医保怎么报销", "medical-remote"),
    ],
)
def test_a_paraphrased_question_finds_the_right_entry_first(index: SearchIndex, query: str, expected: str) -> None:
    assert ids(index.search(query))[0] == expected


def test_a_similar_phrasing_is_matched_even_when_the_question_shares_no_words(index: SearchIndex) -> None:
    with_phrasing = index.search("家里暖气不热找谁")
    assert ids(with_phrasing)[0] == "heating"
    without_phrasings = SearchIndex.build([replace(entry, similar_questions=()) for entry in CORPUS])
    weak = [hit.score for hit in without_phrasings.search("家里暖气不热找谁") if hit.entry_id == "heating"]
    assert with_phrasing[0].score > 2 * max(weak, default=0.0)


def test_full_width_characters_and_punctuation_are_normalised(index: SearchIndex) -> None:
    assert ids(index.search("社保卡，丢失！补办？"))[0] == "social-card-reissue"
    assert ids(index.search("ＡＰＰ提取住房公积金"))[0] == "gjj-withdraw"
    assert ids(index.search("拨打１２３３３挂失"))[0] == "social-card-reissue"


def test_filters_by_category_and_owner_unit(index: SearchIndex) -> None:
    unfiltered = index.search("怎么办理")
    assert {indexed(index, hit).category for hit in unfiltered} > {"户籍"}

    by_category = index.search("怎么办理", category="户籍")
    assert by_category
    assert {indexed(index, hit).category for hit in by_category} == {"户籍"}

    by_unit = index.search("办理", owner_unit_id=HUMAN_RESOURCES)
    assert by_unit
    assert {indexed(index, hit).owner_unit_id for hit in by_unit} == {HUMAN_RESOURCES}

    assert "social-card-reissue" not in ids(index.search("社保卡丢了怎么办", category="住房"))


def test_upsert_changes_results_immediately_and_remove_drops_the_entry() -> None:
    index = SearchIndex.build(CORPUS)
    assert "e-bike" not in ids(index.search("电动自行车怎么上牌照"))

    index.upsert(KnowledgeEntry("e-bike", "电动自行车如何登记上牌？", "携带购车发票和合格证到车管所登记。"))
    assert ids(index.search("电动自行车怎么上牌照"))[0] == "e-bike"

    index.upsert(KnowledgeEntry("e-bike", "电动车牌照丢了怎么补领？", "携带身份证和行驶证到车管所补领。"))
    assert ids(index.search("电动车牌照丢失补领"))[0] == "e-bike"
    assert index.get("e-bike") == KnowledgeEntry(
        "e-bike", "电动车牌照丢了怎么补领？", "携带身份证和行驶证到车管所补领。"
    )
    assert len(index) == len(CORPUS) + 1

    assert index.remove("e-bike") is True
    assert "e-bike" not in ids(index.search("电动车牌照丢失补领"))
    assert index.remove("e-bike") is False
    assert len(index) == len(CORPUS)


def test_incremental_updates_rank_like_a_fresh_build() -> None:
    churned = SearchIndex.build(CORPUS)
    for entry in CORPUS[::2]:
        churned.remove(entry.id)
    for entry in reversed(CORPUS[::2]):
        churned.upsert(entry)
    fresh = SearchIndex.build(CORPUS)
    for query in ("社保卡丢了怎么办", "公积金怎么取", "居住证签注", "施工噪音投诉"):
        assert ids(churned.search(query)) == ids(fresh.search(query))


def test_entries_with_the_same_answer_are_found_together() -> None:
    answer = "延长至2月24日，湖北省延长至3月6日。"
    index = SearchIndex.build(
        [
            *CORPUS,
            KnowledgeEntry("tax-deadline-a", "二月份纳税申报期限延长到哪天？", answer),
            KnowledgeEntry("tax-deadline-b", "税务局对报税截止时间做了什么调整？", answer),
        ]
    )
    assert set(ids(index.search("二月份纳税申报期限延长到哪天"))[:2]) == {"tax-deadline-a", "tax-deadline-b"}


def test_highlights_mark_the_matched_characters_of_the_question(index: SearchIndex) -> None:
    hit = index.search("社保卡补办")[0]
    assert hit.question == "社保卡丢失了如何补办？"
    assert [hit.question[start:end] for start, end in hit.highlights] == ["社保卡", "补办"]
    assert hit.highlighted_question == "<mark>社保卡</mark>丢失了如何<mark>补办</mark>？"


def test_highlighted_text_is_html_escaped() -> None:
    assert mark_html("<b>社保</b>卡", [(3, 5)]) == "&lt;b&gt;<mark>社保</mark>&lt;/b&gt;卡"


def test_feedback_breaks_a_tie_but_cannot_lift_an_irrelevant_entry() -> None:
    twins = [
        KnowledgeEntry("permit-police", "居住证怎么办理？", "到居住地派出所申请。"),
        KnowledgeEntry("permit-community", "居住证怎么办理？", "到居住地派出所申请。"),
        KnowledgeEntry("licence", "个体工商户营业执照怎么办理？", "网上登记。"),
    ]
    index = SearchIndex.build(twins)
    before = index.search("居住证怎么办理")
    assert before[0].score == before[1].score
    loser = before[1].entry_id
    index.record_answered_with(loser)
    assert ids(index.search("居住证怎么办理"))[0] == loser

    for _ in range(1000):
        index.record_click("licence")
    assert index.feedback_boost("licence") <= FEEDBACK_MAX_BOOST
    ranking = ids(index.search("居住证怎么办理"))
    assert ranking.index("licence") > ranking.index("permit-police")


def test_queries_without_any_match_return_nothing(index: SearchIndex) -> None:
    assert index.search("") == []
    assert index.search("，。！") == []
    assert index.search("xyzzy") == []


def test_evaluate_command_prints_one_json_object(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    queries = tmp_path / "queries.jsonl"
    corpus.write_text(
        "\n".join(json.dumps({"id": e.id, "question": e.question, "answer": e.answer}) for e in CORPUS),
        encoding="utf-8",
    )
    queries.write_text(
        "\n".join(
            json.dumps({"query": query, "expected": expected}, ensure_ascii=False)
            for query, expected in [("社保卡丢了怎么办", "social-card-reissue"), ("居住证办理", "residence-permit")]
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(kb_app, ["evaluate", "--corpus", str(corpus), "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert {"hit_at_1", "hit_at_3", "mrr", "n", "p95_ms", "build_ms"} <= report.keys()
    assert report["n"] == 2
    assert report["hit_at_1"] == 1.0
