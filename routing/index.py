"""What routing needs in memory: the category tree, the units, the gazetteer, keywords and the catalogue.

Built from the database (and the gazetteer file) once, then reused by every suggestion; the
``RoutingContext`` rebuilds the catalogue part when a rule changes and the rest now and then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from routing.catalogue import Catalogue
from routing.category_hints import CATEGORY_KEYWORDS
from routing.territory import Gazetteer, UnitRecord, places_from_gazetteer
from routing.textmatch import PhraseIndex


@dataclass(frozen=True)
class CategoryNode:
    id: int
    code: str
    name: str
    level: int
    parent_id: int | None


@dataclass(frozen=True)
class UnitNode:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    short_names: tuple[str, ...] = ()

    @property
    def short_name(self) -> str:
        """How people name it in a sentence: 梁园区, 市住建局."""
        return self.short_names[0] if self.short_names else self.name


@dataclass(frozen=True)
class RoutingIndex:
    """An immutable snapshot; a new catalogue or unit list makes a new one."""

    categories: Mapping[int, CategoryNode]
    units: Mapping[int, UnitNode]
    unit_ids: Mapping[str, int]  # by code
    gazetteer: Gazetteer
    keywords: PhraseIndex[int]  # keyword -> category id
    catalogue: Catalogue

    @classmethod
    def build(
        cls,
        *,
        categories: Sequence[CategoryNode],
        units: Sequence[UnitNode],
        gazetteer_document: Mapping[str, Any],
        catalogue: Catalogue,
    ) -> RoutingIndex:
        """Index the tree, the units and the gazetteer (a few milliseconds)."""
        by_id = {u.id: u for u in units}
        records = [
            UnitRecord(u.code, u.name, u.kind, by_id[u.parent_id].code if u.parent_id in by_id else None, u.short_names)
            for u in units
        ]
        by_code = {c.code: c.id for c in categories}
        keywords = {
            keyword: by_code[code]
            for code, words in CATEGORY_KEYWORDS.items()
            if code in by_code
            for keyword in words.split()
        }
        return cls(
            categories={c.id: c for c in categories},
            units=by_id,
            unit_ids={u.code: u.id for u in units},
            gazetteer=Gazetteer(records, places_from_gazetteer(gazetteer_document)),
            keywords=PhraseIndex(keywords),
            catalogue=catalogue,
        )

    def with_catalogue(self, catalogue: Catalogue) -> RoutingIndex:
        """The same snapshot with another catalogue."""
        return dataclasses.replace(self, catalogue=catalogue)

    def chain(self, category_id: int) -> list[int]:
        """The category and its ancestors, most specific first."""
        chain = []
        node = self.categories.get(category_id)
        while node is not None and node.id not in chain:
            chain.append(node.id)
            node = self.categories.get(node.parent_id) if node.parent_id is not None else None
        return chain

    def root(self, category_id: int) -> CategoryNode:
        """The first-level category above (or at) a category."""
        return self.categories[self.chain(category_id)[-1]]

    def path(self, category_id: int) -> str:
        """The category's place in the tree, e.g. "城乡建设 / 物业管理"."""
        return " / ".join(self.categories[i].name for i in reversed(self.chain(category_id)))

    def first_level(self, name: str) -> CategoryNode | None:
        """The first-level category of this name (the model's labels are such names)."""
        return next((c for c in self.categories.values() if c.level == 1 and c.name == name), None)

    def unit_by_code(self, code: str | None) -> UnitNode | None:
        unit_id = self.unit_ids.get(code) if code is not None else None
        return self.units[unit_id] if unit_id is not None else None

    def desk(self) -> UnitNode | None:
        """The hotline's own unit, whose dispatchers decide what no rule and no territory decides."""
        return next((u for u in self.units.values() if u.kind == "hotline_center"), None)
