"""Explainable keyword rules proposing a request's type and urgency.

There is no labelled data for type and urgency yet, so these proposers weigh keywords and show
the operator which ones they matched. They implement the small `Proposer` protocol, so a model
learned later from operators' corrections can replace either one without touching callers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from routing.classifier.preprocess import normalize

# Keyword weights, from "names the value outright" down to "a hint".
DECISIVE, STRONG, MEDIUM, WEAK, HINT = 3.0, 2.0, 1.5, 1.0, 0.5
# Pseudo-weight of "none of the rules": keeps confidence below 1 and low for weak evidence.
UNCERTAINTY_WEIGHT = 1.0
# Confidence reported when no keyword matched and the default value is proposed.
DEFAULT_CONFIDENCE = 0.3
# Evidence an overriding value (an emergency) needs before it wins over everything else.
OVERRIDE_MIN_SCORE = DECISIVE

_WHITESPACE = re.compile(r"\s+")


class RequestType(StrEnum):
    """诉求类型: what the citizen asks for."""

    CONSULTATION = "咨询"
    HELP = "求助"
    COMPLAINT = "投诉"
    REPORT = "举报"
    SUGGESTION = "建议"
    PRAISE = "表扬"


class Urgency(StrEnum):
    """How fast the request must be handled."""

    URGENT = "紧急"
    UTILITY_OUTAGE = "水电气热"
    GENERAL = "一般"
    COMPLEX = "复杂"


@dataclass(frozen=True)
class Proposal:
    """A proposed value with a confidence in [0, 1] and the keywords that support it."""

    value: str
    confidence: float
    evidence: tuple[str, ...] = ()


class Proposer(Protocol):
    """Anything that proposes one value for a message (keyword rules now, a model later)."""

    def propose(self, text: str) -> Proposal:
        """Propose a value for one raw or segmented message."""
        ...


@dataclass(frozen=True)
class KeywordRule:
    """Keywords (with weights) that speak for one value."""

    value: str
    keywords: Mapping[str, float]

    def matches(self, text: str) -> dict[str, float]:
        """Return the rule's keywords found in text, with their weights."""
        return {keyword: weight for keyword, weight in self.keywords.items() if keyword in text}


def _compact(text: str) -> str:
    """Normalise width and drop whitespace, so segmented and raw text match the same keywords."""
    return _WHITESPACE.sub("", normalize(text))


def _confidence(score: float, total: float) -> float:
    """Return the share of the winning score, discounted by the uncertainty weight."""
    return round(score / (total + UNCERTAINTY_WEIGHT), 2)


@dataclass(frozen=True)
class KeywordProposer:
    """Proposes the value whose keywords weigh most; overriding values win on enough evidence.

    Ties go to the value listed first in rules, so rules are ordered by how costly it is to miss
    them (a report before a complaint, an emergency before an outage).
    """

    rules: Sequence[KeywordRule]
    default: str
    overriding: frozenset[str] = frozenset()

    def propose(self, text: str) -> Proposal:
        """Propose a value for one raw or segmented message."""
        compact = _compact(text)
        matched = {rule.value: found for rule in self.rules if (found := rule.matches(compact))}
        if not matched:
            return Proposal(value=self.default, confidence=DEFAULT_CONFIDENCE)
        scores = {value: sum(found.values()) for value, found in matched.items()}
        winner = self._winner(scores)
        # An overriding winner stands on its own evidence; otherwise the rivals count against it.
        total = scores[winner] if winner in self._overrides(scores) else sum(scores.values())
        found = matched[winner]
        evidence = tuple(sorted(found, key=lambda keyword: (-found[keyword], keyword)))
        return Proposal(value=winner, confidence=_confidence(scores[winner], total), evidence=evidence)

    def _overrides(self, scores: Mapping[str, float]) -> set[str]:
        """Return the overriding values with enough evidence to win outright."""
        return {value for value in self.overriding if scores.get(value, 0.0) >= OVERRIDE_MIN_SCORE}

    def _winner(self, scores: Mapping[str, float]) -> str:
        """Return the overriding value if any, else the best score, ties to the earlier rule."""
        order = [rule.value for rule in self.rules]
        overrides = self._overrides(scores)
        return max(scores, key=lambda value: (value in overrides, scores[value], -order.index(value)))


def keyword_rule(value: str, tiers: Mapping[float, str]) -> KeywordRule:
    """Build a rule from space-separated keywords grouped by weight."""
    keywords = {keyword: weight for weight, words in tiers.items() for keyword in words.split()}
    return KeywordRule(value, keywords)


REQUEST_TYPE_RULES: tuple[KeywordRule, ...] = (
    keyword_rule(
        RequestType.REPORT,
        {
            DECISIVE: "举报 检举 揭发",
            MEDIUM: "偷排 传销 诈骗 黑作坊 无证经营 贪污 受贿",
            WEAK: "涉嫌 非法 违法",
        },
    ),
    keyword_rule(
        RequestType.COMPLAINT,
        {
            DECISIVE: "投诉",
            STRONG: "不作为 乱收费 态度恶劣 推诿",
            MEDIUM: "扯皮 扰民 拖欠",
            WEAK: "噪音 强制 不合理 欺骗 拒不 严重影响 不满",
        },
    ),
    keyword_rule(
        RequestType.HELP,
        {
            DECISIVE: "求助 求救",
            STRONG: "救助 帮帮 请求帮助 走投无路 快来人",
            MEDIUM: "帮忙 请求解决 怎么办 生活困难",
            WEAK: "帮助 急需",
        },
    ),
    keyword_rule(
        RequestType.SUGGESTION,
        {
            DECISIVE: "建议 提议",
            STRONG: "呼吁 献策 提个意见",
            MEDIUM: "能否增设 是否可以考虑",
            WEAK: "希望能够 增设",
        },
    ),
    keyword_rule(
        RequestType.PRAISE,
        {
            DECISIVE: "表扬 点赞 赞扬 锦旗 感谢信",
            STRONG: "称赞 好评 致谢",
            MEDIUM: "尽职尽责",
            WEAK: "热心 及时解决",
            HINT: "感谢",
        },
    ),
    keyword_rule(
        RequestType.CONSULTATION,
        {
            DECISIVE: "咨询",
            STRONG: "请问 想了解 想知道 问一下 如何办理 怎么办理 需要什么材料",
            WEAK: "什么时候",
            HINT: "是否 能否 ?",
        },
    ),
)
"""Request-type keywords, ordered so that ties go to the costlier miss."""

URGENCY_RULES: tuple[KeywordRule, ...] = (
    keyword_rule(
        Urgency.URGENT,
        {
            DECISIVE: "煤气泄漏 燃气泄漏 天然气泄漏 火灾 起火 着火 爆炸 坍塌 倒塌 塌方 触电 电线掉落 落水 "
            "溺水 被困 生命危险 危及生命 中毒 昏迷 救命 跳楼 轻生 自杀 有毒气体",
            STRONG: "漏气 漏电 人命 急救 井盖丢失 井盖缺失 随时可能倒 砸伤 洪水",
            MEDIUM: "内涝",
        },
    ),
    keyword_rule(
        Urgency.UTILITY_OUTAGE,
        {
            DECISIVE: "停水 断水 停电 断电 停气 停暖 暖气不热",
            STRONG: "没水 没有水 没电 水管爆裂 爆管",
            MEDIUM: "水压低 跳闸 电压不稳 供暖",
            WEAK: "自来水 燃气 煤气 暖气 供水 供电 供气",
        },
    ),
    keyword_rule(
        Urgency.COMPLEX,
        {
            STRONG: "历史遗留 多个部门 多部门 相互推诿 长期未解决 多年未解决",
            MEDIUM: "多次反映 反复反映 群体 上访 拆迁补偿 土地纠纷",
            WEAK: "集体 信访 征地 诉讼 法院",
        },
    ),
)
"""Urgency keywords; emergency evidence always wins (safety before precision)."""

REQUEST_TYPE_PROPOSER = KeywordProposer(rules=REQUEST_TYPE_RULES, default=RequestType.HELP)
URGENCY_PROPOSER = KeywordProposer(
    rules=URGENCY_RULES,
    default=Urgency.GENERAL,
    overriding=frozenset({Urgency.URGENT}),
)


def propose_request_type(text: str, proposer: Proposer = REQUEST_TYPE_PROPOSER) -> Proposal:
    """Propose the request type (咨询, 求助, 投诉, 举报, 建议, 表扬) of a message."""
    return proposer.propose(text)


def propose_urgency(text: str, proposer: Proposer = URGENCY_PROPOSER) -> Proposal:
    """Propose the urgency (紧急, 水电气热, 一般, 复杂) of a message."""
    return proposer.propose(text)
