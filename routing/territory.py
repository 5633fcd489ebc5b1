"""Territory (属地): the district, street and community an address and a message speak of.

The gazetteer is the city's own list: its territorial units (districts/counties, streets/towns,
communities/villages, with their short names) and named places (roads, landmarks, villages,
residential estates) that lie in a district and sometimes a known street. ``Gazetteer.locate``
finds every name in the address and the text, exactly first and then, in what is left, within one
edit (a wrong, missing or extra character: "梁源区" for 梁园区) for names of three characters or
more. The names found vote for a district (a name shared by several places splits its vote); the
street and community are then taken from the names that agree with that district.

Built once per process (a few milliseconds); a call takes tens to hundreds of microseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz.distance import Levenshtein

from routing.textmatch import Folded, PhraseIndex, fold

Field = Literal["address", "content"]
TERRITORIAL_KINDS = frozenset({"district", "street", "community"})

EXACT_SCORE = 1.0
DERIVED_SCORE = 0.95  # a form we derived ("平原办事处"), not one the gazetteer lists
FUZZY_WEIGHT = 0.9  # a name one edit away scores this times its similarity
FUZZY_MIN_LENGTH = 3  # two-character names are matched exactly only
# Below this length a near name must end like the name does (区, 县, 路, 村...): "梁源区" is 梁园区,
# "民权益" is not 民权县. From this length on, the error may be anywhere.
FUZZY_FREE_LENGTH = 5
FUZZY_MAX_LENGTH = 8  # long official names ("…居民委员会") are matched exactly only
FIELD_WEIGHT: dict[Field, float] = {"address": 1.0, "content": 0.8}
# How much a kind of name says about the district it lies in (roads cross district borders).
KIND_WEIGHT = {
    "district": 1.0,
    "street": 0.9,
    "community": 0.9,
    "village": 0.85,
    "residential": 0.85,
    "landmark": 0.8,
    "road": 0.6,
}
DEFAULT_KIND_WEIGHT = 0.7
MIN_DISTRICT_SHARE = 0.5  # a district needs at least half of the votes to be proposed
MAX_CONTENT_CHARS = 2000  # place names sit early in a message; this bounds the work per call

# Short names that are also parts of common words: 民权 (a county) in 人民权益.
FALSE_FRIENDS: dict[str, tuple[str, ...]] = {
    "民权": ("人民权", "公民权", "民权利", "民权益"),
    "商师": ("电商师",),
    "北湖": ("北湖南",),
}

# Forms of a unit's short name that people use beside the gazetteer's own.
_STREET_FORMS = {
    "街道": ("办事处", "街道办", "街道办事处"),
    "镇": ("镇政府", "镇人民政府"),
    "乡": ("乡政府", "乡人民政府"),
}
_COMMUNITY_FORMS = {"社区": ("社区居委会", "居委会"), "村": ("村委会", "村民委员会")}
_GOVERNMENT_SUFFIXES = ("人民政府", "管理委员会")


@dataclass(frozen=True)
class UnitRecord:
    """A territorial unit as the gazetteer needs it (codes, not database ids)."""

    code: str
    name: str
    kind: str
    parent: str | None
    short_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    """Something with a name in the city, and the units it lies in."""

    name: str
    kind: str
    district: str
    street: str | None = None
    community: str | None = None

    @property
    def depth(self) -> int:
        """How precisely the place locates a request: 1 district, 2 street, 3 community."""
        return 1 + (self.street is not None) + (self.community is not None)


@dataclass(frozen=True)
class Span:
    """Where a name was found, in the operator's own text."""

    field: Field
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class PlaceMatch:
    """A gazetteer name found in the address or the text."""

    form: str  # the gazetteer's form that matched (folded)
    places: tuple[Place, ...]  # several when the name is shared (城关镇 is in five counties)
    span: Span
    score: float
    fuzzy: bool

    @property
    def weight(self) -> float:
        """How much this match counts in the vote: its score, the field's and the kind's weight."""
        kind = max((KIND_WEIGHT.get(p.kind, DEFAULT_KIND_WEIGHT) for p in self.places), default=DEFAULT_KIND_WEIGHT)
        return self.score * FIELD_WEIGHT[self.span.field] * kind

    @property
    def districts(self) -> set[str]:
        return {p.district for p in self.places}


@dataclass(frozen=True)
class Territory:
    """The territory proposed for a request, with the names that support it."""

    district: str | None
    street: str | None
    community: str | None
    score: float
    matches: tuple[PlaceMatch, ...] = ()
    candidates: tuple[str, ...] = ()  # districts in question when none has enough of the vote

    @property
    def unit(self) -> str | None:
        """The most precise unit found: community, else street, else district."""
        return self.community or self.street or self.district

    @property
    def supporting(self) -> tuple[PlaceMatch, ...]:
        """The matches that agree with the proposed district."""
        return tuple(m for m in self.matches if self.district in m.districts)


UNKNOWN = Territory(district=None, street=None, community=None, score=0.0)


def _unit_places(units: Sequence[UnitRecord]) -> dict[str, Place]:
    """The place of every territorial unit, with the district and street it lies in."""
    by_code = {u.code: u for u in units}
    places: dict[str, Place] = {}
    for unit in units:
        if unit.kind not in TERRITORIAL_KINDS:
            continue
        chain = [unit]
        while chain[-1].parent and chain[-1].parent in by_code:
            chain.append(by_code[chain[-1].parent])
        levels = {u.kind: u.code for u in chain}
        if "district" not in levels:
            continue
        places[unit.code] = Place(
            unit.name, unit.kind, levels["district"], levels.get("street"), levels.get("community")
        )
    return places


def _derived_forms(unit: UnitRecord) -> set[str]:
    """Everyday forms of a unit's names: 平原街道 → 平原办事处, 长征社区 → 长征社区居委会, 梁园区政府."""
    forms: set[str] = set()
    table = _STREET_FORMS if unit.kind == "street" else _COMMUNITY_FORMS if unit.kind == "community" else {}
    for short in unit.short_names:
        for suffix, variants in table.items():
            if short.endswith(suffix):
                stem = short[: -len(suffix)]
                forms.update(stem + variant for variant in variants)
    if unit.kind == "district":
        for suffix in _GOVERNMENT_SUFFIXES:
            if unit.name.endswith(suffix):
                forms.add(unit.name[: -len(suffix)] + "政府")
    return forms


@dataclass
class _Forms:
    """Every form of every name, each with the places it may stand for and how sure a hit on it is."""

    places: dict[str, list[Place]] = field(default_factory=lambda: defaultdict(list))
    scores: dict[str, float] = field(default_factory=dict)
    everyday: set[str] = field(default_factory=set)  # the forms people type, which may come with a typo

    def add(self, form: str, place: Place, score: float, *, everyday: bool = True) -> None:
        key = fold(form)
        if place not in self.places[key]:
            self.places[key].append(place)
        self.scores[key] = max(self.scores.get(key, 0.0), score)
        if everyday and FUZZY_MIN_LENGTH <= len(key) <= FUZZY_MAX_LENGTH and key.isalpha():
            self.everyday.add(key)


class Gazetteer:
    """The city's place names, indexed for exact and one-edit matching."""

    def __init__(self, units: Sequence[UnitRecord], places: Iterable[Place | tuple[Place, Sequence[str]]]) -> None:
        forms = _Forms()
        unit_places = _unit_places(units)
        for unit in units:
            place = unit_places.get(unit.code)
            if place is None:
                continue
            forms.add(unit.name, place, EXACT_SCORE, everyday=False)
            for name in unit.short_names:
                forms.add(name, place, EXACT_SCORE)
            for derived in _derived_forms(unit) - {unit.name, *unit.short_names}:
                forms.add(derived, place, DERIVED_SCORE, everyday=False)
        for entry in places:
            place, aliases = entry if isinstance(entry, tuple) else (entry, ())
            for name in (place.name, *aliases):
                forms.add(name, place, EXACT_SCORE)
        self._places = {form: tuple(found) for form, found in forms.places.items()}
        self._scores = forms.scores
        self._exact = PhraseIndex({form: form for form in self._places})
        # Near names are looked for around an anchor (a name's last character, or its first for long
        # names) and only among names that share another character with the text there.
        self._by_last = _anchor_index(forms.everyday, anchor=-1)
        self._by_first = _anchor_index({f for f in forms.everyday if len(f) >= FUZZY_FREE_LENGTH}, anchor=0)
        self.unit_places = unit_places

    def __len__(self) -> int:
        """How many distinct name forms the gazetteer knows."""
        return len(self._places)

    def find(self, text: str, field: Field) -> list[PlaceMatch]:
        """Every place name in one field: exact matches, then one-edit matches in the gaps."""
        folded = Folded.of(text[:MAX_CONTENT_CHARS] if field == "content" else text)
        matches = []
        covered = bytearray(len(folded.text))
        for hit in self._exact.find(folded.text):
            if self._false_friend(folded.text, hit.start, hit.phrase):
                continue
            matches.append(self._match(text, folded, field, hit.start, hit.end, hit.phrase, fuzzy=False))
            covered[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
        for start, end, form, distance in self._fuzzy(folded.text, covered):
            match = self._match(text, folded, field, start, end, form, fuzzy=True)
            similarity = 1 - distance / max(len(form), end - start)
            matches.append(
                PlaceMatch(match.form, match.places, match.span, round(FUZZY_WEIGHT * similarity, 3), fuzzy=True)
            )
        return sorted(matches, key=lambda m: m.span.start)

    def locate(self, *, address: str | None = None, content: str | None = None) -> Territory:
        """The district, street and community that the address and the text point to."""
        matches = (self.find(address, "address") if address else []) + (
            self.find(content, "content") if content else []
        )
        if not matches:
            return UNKNOWN
        return _resolve(tuple(matches))

    def _false_friend(self, text: str, start: int, form: str) -> bool:
        """Whether a short name is only part of a longer common word here (民权 in 人民权益)."""
        for context in FALSE_FRIENDS.get(form, ()):
            offset = context.find(form)
            if offset <= start and text.startswith(context, start - offset):
                return True
        return False

    def _match(
        self, raw: str, folded: Folded, field: Field, start: int, end: int, form: str, *, fuzzy: bool
    ) -> PlaceMatch:
        raw_start, raw_end = folded.original_span(start, end)
        span = Span(field, raw_start, raw_end, raw[raw_start:raw_end])
        return PlaceMatch(form, self._places[form], span, self._scores[form], fuzzy)

    def _fuzzy(self, text: str, covered: bytearray) -> list[tuple[int, int, str, int]]:
        """Names one edit away from a stretch of text not matched exactly, best first, not overlapping."""
        found: list[tuple[int, int, str, int]] = []
        for i, char in enumerate(text):
            if covered[i]:
                continue
            if char in self._by_last:
                before = set(text[max(0, i - FUZZY_MAX_LENGTH) : i])
                for form in _sharing(self._by_last[char], before):
                    found += _near(text, covered, form, [(i + 1 - n, i + 1) for n in _lengths(form)])
            if char in self._by_first:
                after = set(text[i + 1 : i + 1 + FUZZY_MAX_LENGTH])
                for form in _sharing(self._by_first[char], after):
                    found += _near(text, covered, form, [(i, i + n) for n in _lengths(form)])
        found.sort(key=lambda f: (f[3], -len(f[2]), f[0]))
        taken: list[tuple[int, int, str, int]] = []
        for candidate in found:  # a stretch of text stands for one name only
            if all(candidate[1] <= t[0] or candidate[0] >= t[1] for t in taken):
                taken.append(candidate)
        return taken


AnchorIndex = dict[str, dict[str, set[str]]]  # anchor character -> another character -> names with both


def _anchor_index(forms: Iterable[str], *, anchor: int) -> AnchorIndex:
    index: AnchorIndex = defaultdict(lambda: defaultdict(set))
    for form in forms:
        rest = form[:-1] if anchor == -1 else form[1:]
        for char in rest:
            index[form[anchor]][char].add(form)
    return {key: dict(value) for key, value in index.items()}


def _sharing(by_char: dict[str, set[str]], chars: set[str]) -> set[str]:
    """The names (of one anchor) that contain at least one of these characters."""
    found: set[str] = set()
    for char in chars & by_char.keys():
        found |= by_char[char]
    return found


def _near(text: str, covered: bytearray, form: str, windows: list[tuple[int, int]]) -> list[tuple[int, int, str, int]]:
    """The windows of text (not matched exactly, at least three characters) one edit away from a name."""
    near = []
    for start, end in windows:
        if start < 0 or end > len(text) or end - start < FUZZY_MIN_LENGTH or any(covered[start:end]):
            continue
        if Levenshtein.distance(form, text[start:end], score_cutoff=1) == 1:
            near.append((start, end, form, 1))
    return near


def _lengths(form: str) -> tuple[int, int, int]:
    """Window lengths that hold the form with one character wrong, missing or extra."""
    return len(form), len(form) - 1, len(form) + 1


def _resolve(matches: tuple[PlaceMatch, ...]) -> Territory:
    """Vote for a district, then take the street and community from the names that agree with it.

    The score is the best agreeing name's own score times the share of all the names' weight that
    agrees with the district (a name shared by several districts agrees when one of them is it).
    """
    votes: dict[str, float] = defaultdict(float)
    for match in matches:
        for district in match.districts:
            votes[district] += match.weight / len(match.districts)
    ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
    best, best_votes = ranked[0]
    share = best_votes / sum(votes.values())
    tied = len(ranked) > 1 and ranked[1][1] >= best_votes - 1e-9
    if tied or share < MIN_DISTRICT_SHARE:
        candidates = tuple(d for d, v in ranked if v >= best_votes * MIN_DISTRICT_SHARE)
        return Territory(None, None, None, round(share * max(m.score for m in matches), 2), matches, candidates)
    agreeing = [(m, p) for m in matches for p in m.places if p.district == best]
    agreement = sum(m.weight for m in matches if best in m.districts) / sum(m.weight for m in matches)
    score = round(agreement * max(m.score for m, _ in agreeing), 2)
    community = _best_at(agreeing, "community")
    street = community or _best_at(agreeing, "street")
    return Territory(
        best, street.street if street else None, community.community if community else None, score, matches
    )


def _best_at(agreeing: list[tuple[PlaceMatch, Place]], level: Literal["street", "community"]) -> Place | None:
    """A place that names a unit at this level, the unit with the most weight behind it (None: no name does)."""
    weights: dict[str, float] = defaultdict(float)
    representative: dict[str, Place] = {}
    for match, place in agreeing:
        code = place.community if level == "community" else place.street
        if code is not None:
            weights[code] += match.weight / len(match.places)
            representative.setdefault(code, place)
    if not weights:
        return None
    return representative[max(weights, key=lambda code: weights[code])]


def places_from_gazetteer(document: Mapping[str, Any]) -> list[tuple[Place, list[str]]]:
    """The named places of a gazetteer document (``{"places": [{name, kind, district, street, aliases}]}``)."""
    return [
        (Place(row["name"], row["kind"], row["district"], row.get("street")), list(row.get("aliases", [])))
        for row in document.get("places", [])
    ]
