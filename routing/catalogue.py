"""The dispatch catalogue (派单目录): which unit leads on a category of request in a territory.

A rule names a category and a district (or any territory) and gives the lead unit (主办) and any
assisting units (协办). Resolution, for a category and a district:

1. the category's own rules, then its parent's, then its first-level category's (a rule covers
   the whole subtree below its category unless a more specific category has its own);
2. within one category, the rule for the district before the city-wide rule;
3. no rule at all: the district government of the territory (属地管理);
4. no rule and no territory: no proposal; the hotline's dispatcher desk decides.

Pure: no I/O. The service builds a ``Catalogue`` from the active rules and swaps it when they change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Basis = Literal["rule", "territory", "desk"]
BASIS_LABELS_ZH: dict[str, str] = {"rule": "派单目录", "territory": "属地管理", "desk": "人工派单"}


@dataclass(frozen=True)
class Rule:
    """An active rule of the catalogue."""

    id: int
    category_id: int
    territory_unit_id: int | None  # a district; None: anywhere
    lead_unit_id: int
    assisting_unit_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """Where an order should go and why."""

    basis: Basis
    lead_unit_id: int | None
    assisting_unit_ids: tuple[int, ...] = ()
    rule: Rule | None = None
    rule_category_id: int | None = None  # the category (the order's or an ancestor) whose rule applied


DESK = Resolution("desk", None)


class Catalogue:
    """The active rules, indexed by category and territory."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = {(rule.category_id, rule.territory_unit_id): rule for rule in rules}

    def __len__(self) -> int:
        return len(self._rules)

    def resolve(self, *, category_chain: Sequence[int], district_id: int | None) -> Resolution:
        """The rule for the most specific category (district before city-wide), else the territory, else the desk.

        ``category_chain`` is the order's category followed by its ancestors (empty when unknown).
        """
        territories = (district_id, None) if district_id is not None else (None,)
        for category_id in category_chain:
            for territory in territories:
                rule = self._rules.get((category_id, territory))
                if rule is not None:
                    return Resolution("rule", rule.lead_unit_id, rule.assisting_unit_ids, rule, category_id)
        if district_id is not None:
            return Resolution("territory", district_id)
        return DESK
