"""Keyword rules for request type and urgency."""

from __future__ import annotations

import pytest

from routing.classifier.rules import (
    DEFAULT_CONFIDENCE,
    Proposal,
    RequestType,
    Urgency,
    propose_request_type,
    propose_urgency,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我要举报有人在河边偷排污水", RequestType.REPORT),
        ("投诉物业乱收费，态度恶劣", RequestType.COMPLAINT),
        ("请问社保转移怎么办理？", RequestType.CONSULTATION),
        ("建议在学校门口增设红绿灯", RequestType.SUGGESTION),
        ("表扬城管局工作人员尽职尽责，特送锦旗", RequestType.PRAISE),
        ("老人生活困难，求助政府帮帮我们", RequestType.HELP),
        ("我 要 举报 无证经营", RequestType.REPORT),
    ],
)
def test_request_type_follows_keywords(text: str, expected: RequestType) -> None:
    proposal = propose_request_type(text)
    assert proposal.value == expected
    assert proposal.evidence
    assert DEFAULT_CONFIDENCE < proposal.confidence < 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("楼道里煤气泄漏，味道很大", Urgency.URGENT),
        ("小区停水三天了", Urgency.UTILITY_OUTAGE),
        ("整栋楼 停电 一天", Urgency.UTILITY_OUTAGE),
        ("暖气不热，家里只有十度", Urgency.UTILITY_OUTAGE),
        ("拆迁补偿历史遗留问题多年未解决，多个部门相互推诿", Urgency.COMPLEX),
    ],
)
def test_urgency_follows_keywords(text: str, expected: Urgency) -> None:
    assert propose_urgency(text).value == expected


def test_an_emergency_outranks_stronger_outage_evidence() -> None:
    proposal = propose_urgency("停水停电，燃气泄漏了")
    assert proposal.value == Urgency.URGENT
    assert proposal.evidence == ("燃气泄漏",)


def test_without_keywords_the_defaults_are_proposed_with_low_confidence() -> None:
    text = "楼下路灯坏了"
    assert propose_request_type(text) == Proposal(RequestType.HELP, DEFAULT_CONFIDENCE)
    assert propose_urgency(text) == Proposal(Urgency.GENERAL, DEFAULT_CONFIDENCE)


def test_more_evidence_means_more_confidence() -> None:
    assert propose_request_type("举报").confidence < propose_request_type("举报 涉嫌 非法 传销").confidence


def test_a_learned_model_can_replace_the_rules() -> None:
    class LearnedUrgency:
        def propose(self, text: str) -> Proposal:
            return Proposal(Urgency.COMPLEX, 0.9)

    assert propose_urgency("小区停水三天了", proposer=LearnedUrgency()).value == Urgency.COMPLEX
