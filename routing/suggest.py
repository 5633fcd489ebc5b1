"""One proposal for a request: categories, type, urgency, territory and the units to dispatch to.

Pure given the in-memory index and the model: the console asks while the operator types, so it
does no I/O and takes a few milliseconds (the category model's segmentation is most of it).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from hotline.tickets.models import REQUEST_TYPE_LABELS_ZH, URGENCY_LABELS_ZH
from routing.catalogue import BASIS_LABELS_ZH, Resolution
from routing.classifier.model import CategoryClassifier
from routing.classifier.rules import Proposal, propose_request_type, propose_urgency
from routing.index import RoutingIndex, UnitNode
from routing.schemas import (
    CategoryProposal,
    ClassifierStatus,
    DispatchProposal,
    PlaceMatchView,
    Suggestion,
    TerritoryProposal,
    UnitRef,
    ValueProposal,
)
from routing.territory import Territory
from routing.textmatch import Folded

TOP_CATEGORIES = 3
# Keywords are the only evidence for categories the model was never trained on; such evidence takes
# this share of the confidence (more with more keywords), the model's categories share the rest.
KEYWORD_SHARE_BASE = 0.55
KEYWORD_SHARE_STEP = 0.1
KEYWORD_SHARE_MAX = 0.85
NOT_TRAINED_ZH = "分类模型尚未训练：类别仅按关键词推荐（管理员可运行 hotline classifier retrain）"
REQUEST_TYPE_BY_LABEL = {label: value.value for value, label in REQUEST_TYPE_LABELS_ZH.items()}
URGENCY_BY_LABEL = {label: value.value for value, label in URGENCY_LABELS_ZH.items()}
FIELD_LABELS_ZH = {"address": "地址", "content": "诉求内容"}
HOTLINE_CENTER = "hotline_center"


@dataclass(frozen=True)
class _Candidate:
    category_id: int
    confidence: float
    source: str
    evidence: tuple[str, ...]


def suggest(
    index: RoutingIndex, classifier: CategoryClassifier | None, *, content: str, address: str | None
) -> Suggestion:
    """Everything the console proposes for a request, with the reasons in Chinese."""
    started = time.perf_counter()
    candidates = propose_categories(index, classifier, content)
    territory = index.gazetteer.locate(address=address, content=content)
    district = index.unit_by_code(territory.district)
    category_id = candidates[0].category_id if candidates else None
    resolution = index.catalogue.resolve(
        category_chain=index.chain(category_id) if category_id is not None else [],
        district_id=district.id if district else None,
    )
    return Suggestion(
        categories=[_category_view(index, c) for c in candidates],
        classifier=_status(classifier),
        request_type=_value(propose_request_type(content), REQUEST_TYPE_BY_LABEL),
        urgency=_value(propose_urgency(content), URGENCY_BY_LABEL),
        territory=territory_view(index, territory),
        dispatch=dispatch_view(index, resolution, category_id=category_id, district=district),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )


def propose_categories(index: RoutingIndex, classifier: CategoryClassifier | None, text: str) -> list[_Candidate]:
    """Up to three categories, most likely first: the model's, refined by keywords, and keywords' own."""
    by_root = _keyword_nodes(index, text)
    known = set(classifier.labels) if classifier else set()
    unknown_roots = [root for root in by_root if index.categories[root].name not in known]
    hits = sum(len(words) for root in unknown_roots for words in by_root[root].values())
    share = min(KEYWORD_SHARE_MAX, KEYWORD_SHARE_BASE + KEYWORD_SHARE_STEP * (hits - 1)) if hits else 0.0
    candidates: list[_Candidate] = []
    if classifier is not None:
        for label, probability in classifier.predict(text).top3:
            root = index.first_level(label)
            if root is not None:
                node, words = _refine(index, root.id, by_root.get(root.id, {}))
                candidates.append(_Candidate(node, round(probability * (1 - share), 4), "model", words))
    for root_id in unknown_roots:
        node, words = _refine(index, root_id, by_root[root_id])
        weight = sum(len(w) for w in by_root[root_id].values()) / hits
        candidates.append(_Candidate(node, round(share * weight, 4), "keywords", words))
    candidates.sort(key=lambda c: -c.confidence)
    return candidates[:TOP_CATEGORIES]


def _keyword_nodes(index: RoutingIndex, text: str) -> dict[int, dict[int, list[str]]]:
    """The keywords found in the text, by first-level category and then by the category they name."""
    found: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for hit in index.keywords.find(Folded.of(text).text):
        found[index.root(hit.value).id][hit.value].append(hit.phrase)
    return found


def _refine(index: RoutingIndex, root: int, nodes: dict[int, list[str]]) -> tuple[int, tuple[str, ...]]:
    """The most specific category under a first-level one that the keywords agree on.

    A category's support is the keywords naming it or one of its ancestors; the best supported
    wins, the deeper one on a tie ("物业" and "电梯故障" make 物业管理 / 电梯故障).
    """
    if not nodes:
        return root, ()

    def support(node: int) -> tuple[int, int]:
        return sum(len(nodes.get(i, ())) for i in index.chain(node)), index.categories[node].level

    best = max(nodes, key=support)
    words = dict.fromkeys(w for i in reversed(index.chain(best)) for w in nodes.get(i, ()))
    return best, tuple(words)


def _category_view(index: RoutingIndex, candidate: _Candidate) -> CategoryProposal:
    node = index.categories[candidate.category_id]
    return CategoryProposal(
        category_id=node.id,
        code=node.code,
        name=node.name,
        path=index.path(node.id),
        level=node.level,
        confidence=candidate.confidence,
        source=candidate.source,
        evidence=list(candidate.evidence),
    )


def _status(classifier: CategoryClassifier | None) -> ClassifierStatus:
    if classifier is None:
        return ClassifierStatus(ready=False, model_version=None, message=NOT_TRAINED_ZH)
    return ClassifierStatus(ready=True, model_version=classifier.version or None, message=None)


def _value(proposal: Proposal, values: dict[str, str]) -> ValueProposal:
    return ValueProposal(
        value=values[proposal.value],
        label=proposal.value,
        confidence=proposal.confidence,
        evidence=list(proposal.evidence),
    )


def _ref(unit: UnitNode | None) -> UnitRef | None:
    return UnitRef(id=unit.id, name=unit.name, kind=unit.kind) if unit else None


def territory_view(index: RoutingIndex, territory: Territory) -> TerritoryProposal:
    """The territory with its matched spans and a sentence for the operator."""
    district = index.unit_by_code(territory.district)
    street = index.unit_by_code(territory.street)
    community = index.unit_by_code(territory.community)
    candidates = [u for u in (index.unit_by_code(code) for code in territory.candidates) if u]
    return TerritoryProposal(
        district=_ref(district),
        street=_ref(street),
        community=_ref(community),
        unit=_ref(community or street or district),
        score=territory.score,
        matches=[
            PlaceMatchView(
                field=m.span.field,
                start=m.span.start,
                end=m.span.end,
                text=m.span.text,
                place=m.places[0].name if len(m.places) == 1 else m.form,
                kind=m.places[0].kind,
                score=m.score,
                fuzzy=m.fuzzy,
                agrees=territory.district is not None and territory.district in m.districts,
            )
            for m in territory.matches
        ],
        candidates=[r for r in map(_ref, candidates) if r],
        explanation=_territory_sentence(territory, [u for u in (district, street, community) if u], candidates),
    )


def _territory_sentence(territory: Territory, found: list[UnitNode], candidates: list[UnitNode]) -> str:
    if not territory.matches:
        return "未识别出属地"
    if not found:
        places = "、".join(f"“{m.span.text}”" for m in territory.matches)
        where = "、".join(u.short_name for u in candidates)
        return f"{places}可能属于{where}，请确认属地"
    evidence = "、".join(
        f"{FIELD_LABELS_ZH[m.span.field]}“{m.span.text}”" + (f"（近似“{m.form}”）" if m.fuzzy else "")
        for m in territory.supporting
    )
    return f"属地：{' / '.join(u.short_name for u in found)}（依据{evidence}）"


def dispatch_view(
    index: RoutingIndex, resolution: Resolution, *, category_id: int | None, district: UnitNode | None
) -> DispatchProposal:
    """The proposed lead and assisting units, and why: 类别“物业管理”位于梁园区 → 梁园区人民政府（派单目录规则 #12）."""
    lead = index.units.get(resolution.lead_unit_id) if resolution.lead_unit_id is not None else None
    assisting = [index.units[i] for i in resolution.assisting_unit_ids if i in index.units]
    return DispatchProposal(
        basis=resolution.basis,
        basis_label=BASIS_LABELS_ZH[resolution.basis],
        lead_unit=_ref(lead),
        assisting_units=[r for r in map(_ref, assisting) if r],
        rule_id=resolution.rule.id if resolution.rule else None,
        answer_directly=lead is not None and lead.kind == HOTLINE_CENTER,
        explanation=_dispatch_sentence(index, resolution, category_id, district, lead, assisting),
    )


def _dispatch_sentence(
    index: RoutingIndex,
    resolution: Resolution,
    category_id: int | None,
    district: UnitNode | None,
    lead: UnitNode | None,
    assisting: list[UnitNode],
) -> str:
    category = f"类别“{index.categories[category_id].name}”" if category_id is not None else "未识别类别"
    if resolution.basis == "desk":
        desk = index.desk()
        return f"{category}，派单目录无对应规则，也未识别出属地：请{desk.name if desk else '热线'}派单席人工派单"
    assert lead is not None
    if resolution.basis == "territory":
        return (
            f"{category}在派单目录中无归口单位，位于{district.short_name if district else ''}，按属地管理 → {lead.name}"
        )
    assert resolution.rule is not None and resolution.rule_category_id is not None
    inherited = (
        f"（按上级类别“{index.categories[resolution.rule_category_id].name}”的规则）"
        if resolution.rule_category_id != category_id
        else ""
    )
    where = f"位于{district.short_name}" if resolution.rule.territory_unit_id is not None and district else "（全市）"
    helpers = f"，协办：{'、'.join(u.name for u in assisting)}" if assisting else ""
    target = f"由热线直接答复（{lead.name}）" if lead.kind == HOTLINE_CENTER else lead.name
    return f"{category}{inherited}{where} → {target}{helpers}（派单目录规则 #{resolution.rule.id}）"
