"""The responsibility graph: who answers for each household, from the registry and a run's dossiers."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator

import networkx as nx

from dangka.mask import mask_phone

LEADER_ROLE = "脱贫责任组组长"
SECRETARY_ROLE = "驻村第一书记"
HELPER_ROLE = "帮扶责任人"
CARD_ROLES = (LEADER_ROLE, SECRETARY_ROLE, HELPER_ROLE)

NOT_REGISTERED = "未在帮扶责任体系中登记"


def village_key(region: object) -> str | None:
    """"封丘县/城关镇/东街村" for a region with all three names, else None.

    A "/" inside a name is written as the full-width "／": the key is split at "/" into its three
    names, and a village named "东街/西街" would otherwise be four.
    """
    if not isinstance(region, dict):
        return None
    parts = [region.get("county"), region.get("township"), region.get("village")]
    if not all(isinstance(part, str) and part.strip() for part in parts):
        return None
    return "/".join(part.strip().replace("/", "／") for part in parts)


class HelperLoads:
    """Households per helper, year and village, packed: a province's run counts some 330k helpers.

    Each (year, village key) pair is numbered once, so a village's key is one string however many
    helpers serve there. A helper's counts are one int: a 64-bit field per pair, the pair's number
    in the high 32 bits and the households in the low 32. Given the graph, a registered helper's
    int is kept on its node (attribute "loads"), where it costs no key of its own; others' in a
    dict by helper id (a dict of Counters took ~450 bytes a helper, the node ~40).
    """

    FIELD_BITS = 64
    COUNT_BITS = 32

    def __init__(self, graph: nx.DiGraph | None = None) -> None:
        self._graph = graph
        self._pair_numbers: dict[tuple[int | None, str | None], int] = {}
        self._pairs: list[tuple[int | None, str | None]] = []
        self._packed: dict[str, int] = {}

    def add(self, helper_id: str, year: int | None, key: str | None, count: int) -> None:
        """Add `count` (negative to take away) to the helper's households in the year and village."""
        pair = (year, key)
        number = self._pair_numbers.get(pair)
        if number is None:
            number = self._pair_numbers[pair] = len(self._pairs)
            self._pairs.append(pair)
        fields = dict(self._fields(helper_id))
        total = fields.get(number, 0) + count
        if not 0 <= total < 1 << self.COUNT_BITS:
            raise ValueError(f"households of helper {helper_id!r} out of range: {total}")
        fields[number] = total
        self._store(helper_id, fields)

    def counts(self, helper_id: str) -> Iterator[tuple[tuple[int | None, str | None], int]]:
        """((year, village key), households) of one helper; none at zero."""
        return ((self._pairs[number], count) for number, count in self._fields(helper_id))

    def items(self) -> Iterator[tuple[str, tuple[int | None, str | None], int]]:
        """(helper id, (year, village key), households) of every helper."""
        on_nodes = (_key(node) for node, packed in self._graph.nodes(data="loads") if packed) if self._graph else ()
        for helper_id in [*on_nodes, *self._packed]:
            for pair, count in self.counts(helper_id):
                yield helper_id, pair, count

    def _fields(self, helper_id: str) -> Iterator[tuple[int, int]]:
        node = self._registered_node(helper_id)
        packed = node.get("loads", 0) if node is not None else self._packed.get(helper_id, 0)
        count_mask, field_mask = (1 << self.COUNT_BITS) - 1, (1 << self.FIELD_BITS) - 1
        while packed:
            field = packed & field_mask
            yield field >> self.COUNT_BITS, field & count_mask
            packed >>= self.FIELD_BITS

    def _store(self, helper_id: str, fields: dict[int, int]) -> None:
        packed = 0
        for number, count in reversed([(number, count) for number, count in fields.items() if count]):
            packed = packed << self.FIELD_BITS | number << self.COUNT_BITS | count
        node = self._registered_node(helper_id)
        place, name = (node, "loads") if node is not None else (self._packed, helper_id)
        if packed:
            place[name] = packed
        else:
            place.pop(name, None)

    def _registered_node(self, helper_id: str) -> dict | None:
        """The attributes of the helper's node when the registry lists the helper."""
        if self._graph is None:
            return None
        node = self._graph.nodes.get(f"helper:{helper_id}")
        return node if node is not None and _registered_helper(node) else None


def same_phone(first: object, second: object) -> bool:
    """Phones agree when their digits do: "138-0373-1101" is "13803731101"."""
    return _digits(first) == _digits(second)


def same_name(first: object, second: object) -> bool:
    return _text(first).replace(" ", "") == _text(second).replace(" ", "")


class ResponsibilityGraph:
    """County → township → village → household, helper → household, village → its officials.

    Nodes are named "<kind>:<key>" ("helper:H-001", "village:封丘县/城关镇/东街村"); the kind is
    the name's prefix. A province registers hundreds of thousands of helpers, so what a node
    carries is kept small: no copy of its kind or id, repeated texts (names, unit ids, positions,
    places) one string each, and a person's unit an attribute (the unit is a node of its own):
    an edge per helper would cost about a quarter of the graph. A registered helper's node holds
    its record (name, unit, position, phone) and the merged loads; a helper the households name
    but the registry lacks has a node with `registered` False.

    Pass 1 (`add_household` over the run, possibly split across workers) counts each helper's
    households by year and village; `loads` / `merge_loads` carry those counts between workers,
    so that `links` sees the whole run's load wherever it is called.
    """

    def __init__(self, registry: dict | None, *, consume: bool = False):
        """The graph of a registry (None: no registry). With `consume`, the registry's lists are
        emptied as they are read, so that a province's parsed registry and its graph are never
        both whole in memory; the caller gives the registry up."""
        self.graph = nx.DiGraph()
        # Households counted by helper, year and village: of this part, and of merged parts (a
        # province's run merges the counts of every helper: those of registered ones go on their nodes).
        self._own = HelperLoads()
        self._merged = HelperLoads(self.graph)
        # Without a registry nothing can be known about registration, villages or the card's
        # agreement with it: links then carry only what the dossiers themselves show (loads).
        self.has_registry = isinstance(registry, dict)
        registry = registry if isinstance(registry, dict) else {}
        for unit in _entries(registry, "units", consume):
            self._add_unit(unit)
        for helper in _entries(registry, "helpers", consume):
            self._add_helper(helper)
        for village in _entries(registry, "villages", consume):
            self._add_registered_village(village)

    # ---- building ------------------------------------------------------------------------

    def _add_unit(self, unit: dict) -> None:
        unit_id = _text(unit.get("id"))
        if unit_id:
            self.graph.add_node(f"unit:{unit_id}", name=_shared(unit.get("name")), level=_shared(unit.get("level")))

    def _add_helper(self, helper: dict) -> None:
        helper_id = _text(helper.get("id"))
        if helper_id:
            self.graph.add_node(
                f"helper:{helper_id}", name=_shared(helper.get("name")), unit=_shared(helper.get("unit")),
                position=_shared(helper.get("position")), phone=_optional(helper.get("phone")),
            )

    def _ensure_region(self, county: str, township: str, village: str) -> str:
        county_node = f"county:{county}"
        township_node = f"township:{county}/{township}"
        village_node = f"village:{county}/{township}/{village}"
        if county_node not in self.graph:
            self.graph.add_node(county_node, name=sys.intern(county))
        if township_node not in self.graph:
            self.graph.add_node(township_node, name=sys.intern(township), county=sys.intern(county))
            self.graph.add_edge(county_node, township_node, relation="下辖")
        if village_node not in self.graph:
            self.graph.add_node(village_node, name=sys.intern(village), county=sys.intern(county),
                                township=sys.intern(township), registered=False)
            self.graph.add_edge(township_node, village_node, relation="下辖")
        return village_node

    def _add_registered_village(self, entry: dict) -> None:
        key = village_key(entry)
        if key is None:
            return
        village_node = self._ensure_region(*key.split("/"))
        self.graph.nodes[village_node]["registered"] = True
        secretary = entry.get("first_secretary")
        if isinstance(secretary, dict) and _text(secretary.get("name")):
            node = f"secretary:{key}"
            self.graph.add_node(node, name=_shared(secretary.get("name")), unit=_shared(secretary.get("unit")),
                                phone=_optional(secretary.get("phone")))
            self.graph.add_edge(village_node, node, relation=SECRETARY_ROLE)
        leader = entry.get("group_leader")
        if isinstance(leader, dict) and _text(leader.get("name")):
            node = f"leader:{key}"
            self.graph.add_node(node, name=_shared(leader.get("name")), position=_shared(leader.get("position")),
                                phone=_optional(leader.get("phone")))
            self.graph.add_edge(village_node, node, relation=LEADER_ROLE)

    def add_household(self, dossier: dict) -> None:
        """Pass 1: link one household; reads only id, region, year, helpers, the head's name and the card."""
        household_id = _text(dossier.get("id"))
        if not household_id:
            raise ValueError("a household without id cannot be linked")
        node = f"household:{household_id}"
        if node in self.graph:
            self._forget_household(node)
        region = dossier.get("region") if isinstance(dossier.get("region"), dict) else {}
        key = village_key(region)
        year = _year(dossier.get("year"))
        helper_ids = _helper_ids(dossier.get("helpers"))
        self.graph.add_node(
            node, kind="household", id=household_id, year=year, village=key,
            province=_optional(region.get("province")), head=_head_name(dossier.get("members")),
            helpers=helper_ids, contacts=_card_contacts(dossier),
        )
        if key is not None:
            self.graph.add_edge(self._ensure_region(*key.split("/")), node, relation="建档")
        for helper_id in helper_ids:
            helper_node = f"helper:{helper_id}"
            if helper_node not in self.graph:
                self.graph.add_node(helper_node, registered=False)
            self.graph.add_edge(helper_node, node, relation="帮扶")
            self._own.add(helper_id, year, key, 1)

    def _forget_household(self, node: str) -> None:
        """A household added twice keeps only its last version (and is counted once)."""
        attributes = self.graph.nodes[node]
        for helper_id in attributes["helpers"]:
            self._own.add(helper_id, attributes["year"], attributes["village"], -1)
            helper_node = f"helper:{helper_id}"
            if not _registered_helper(self.graph.nodes[helper_node]) and self.graph.degree(helper_node) == 1:
                self.graph.remove_node(helper_node)
        self.graph.remove_node(node)

    # ---- loads across the run -------------------------------------------------------------

    def loads(self) -> dict[str, int]:
        """This part's pass-1 counts, to hand to `merge_loads` of the other parts.

        The counts are kept by helper, year and village, because the policy limit is per year and
        `village_count` must also cover the whole run; each key is the JSON text of
        `[helper id, year, village key]`. The counts are additive: merging every other part's
        `loads()` gives each part the whole run's loads.
        """
        return {json.dumps([helper_id, year, key], ensure_ascii=False): count
                for helper_id, (year, key), count in self._own.items()}

    def merge_loads(self, loads: dict[str, int]) -> None:
        """Add the counts another part of the run computed with `loads()`."""
        for encoded, count in loads.items():
            helper_id, year, key = _decode_load_key(encoded)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ValueError(f"load count must be a non-negative integer: {encoded!r}: {count!r}")
            self._merged.add(helper_id, year, key, count)

    def _counts(self, helper_id: str, year: int | None) -> Counter:
        """(year, village) → households of the whole run (this part and merged ones) for one helper."""
        total: Counter = Counter()
        for source in (self._own, self._merged):
            for (count_year, key), count in source.counts(helper_id):
                if year is None or count_year == year:
                    total[(count_year, key)] += count
        return total

    def helper_load(self, helper_id: str, year: int | None = None) -> int:
        """Households of the whole run linked to the helper (in `year` only, when given)."""
        return sum(self._counts(helper_id, year).values())

    def helper_village_count(self, helper_id: str, year: int | None = None) -> int:
        """Villages of the whole run where the helper has households (in `year` only, when given)."""
        return len({key for (_, key) in self._counts(helper_id, year) if key is not None})

    def helper_years(self, helper_id: str) -> dict[int | None, int]:
        """Year → households of the whole run, for the per-year policy limit."""
        years: Counter = Counter()
        for (year, _), count in self._counts(helper_id, None).items():
            years[year] += count
        return dict(years)

    # ---- reading --------------------------------------------------------------------------

    def household_ids(self) -> list[str]:
        return sorted(self._keys("household"))

    def has_household(self, household_id: str) -> bool:
        return f"household:{household_id}" in self.graph

    def household(self, household_id: str) -> dict:
        """The household's node attributes; KeyError for a household not in this graph."""
        node = f"household:{household_id}"
        if node not in self.graph:
            raise KeyError(household_id)
        return dict(self.graph.nodes[node])

    def village_keys(self) -> list[str]:
        return sorted(self._keys("village"))

    def village_households(self, key: str) -> list[str]:
        """Ids of this graph's households in the village."""
        node = f"village:{key}"
        if node not in self.graph:
            return []
        return sorted(_key(child) for child in self.graph.successors(node) if _kind(child) == "household")

    def village(self, key: str | None) -> dict:
        """The village's registered officials; `registered` False for a village missing from the registry."""
        node = f"village:{key}"
        data = self.graph.nodes[node] if key is not None and node in self.graph else {}
        secretary = self._official(f"secretary:{key}")
        leader = self._official(f"leader:{key}")
        return {
            "registered": bool(data.get("registered")),
            "first_secretary_name": secretary.get("name"),
            "first_secretary_unit": secretary.get("unit"),
            "first_secretary_unit_name": self._unit(secretary.get("unit")).get("name"),
            "first_secretary_phone": secretary.get("phone"),
            "group_leader_name": leader.get("name"),
            "group_leader_position": leader.get("position"),
            "group_leader_phone": leader.get("phone"),
        }

    def helper_ids(self) -> list[str]:
        """Registered helpers and the unregistered ids households name."""
        return sorted(self._keys("helper"))

    def has_helper(self, helper_id: str) -> bool:
        return f"helper:{helper_id}" in self.graph

    def helper(self, helper_id: str) -> dict:
        """The helper as registered (with the unit's name and level); `registered` False otherwise."""
        data = self.graph.nodes.get(f"helper:{helper_id}", {})
        unit = self._unit(data.get("unit"))
        return {
            "helper_id": helper_id,
            "registered": bool(data) and _registered_helper(data),
            "name": data.get("name"),
            "unit": data.get("unit"),
            "unit_name": unit.get("name"),
            "unit_level": unit.get("level"),
            "position": data.get("position"),
            "phone": data.get("phone"),
        }

    def helper_households(self, helper_id: str) -> list[str]:
        """Ids of this graph's households the helper is linked to."""
        node = f"helper:{helper_id}"
        if node not in self.graph:
            return []
        return sorted(_key(child) for child in self.graph.successors(node))

    def _keys(self, kind: str) -> Iterable[str]:
        """The keys of the nodes of one kind ("helper" → helper ids)."""
        return (_key(node) for node in self.graph if _kind(node) == kind)

    def _official(self, node: str) -> dict:
        return dict(self.graph.nodes[node]) if node in self.graph else {}

    def _unit(self, unit_id: str | None) -> dict:
        node = f"unit:{unit_id}"
        return dict(self.graph.nodes[node]) if unit_id and node in self.graph else {}

    # ---- facts for the rules --------------------------------------------------------------

    def links(self, dossier: dict, load_limit: int | None = None) -> dict:
        """The graph facts of one household (it need not be in this graph: the loads are the run's)."""
        region = dossier.get("region") if isinstance(dossier.get("region"), dict) else {}
        return self._links(
            village_key(region), _year(dossier.get("year")), _helper_ids(dossier.get("helpers")),
            _card_contacts(dossier), load_limit,
        )

    def household_links(self, household_id: str, load_limit: int | None = None) -> dict:
        """`links` of a household of this graph, from what pass 1 kept of it."""
        data = self.household(household_id)
        return self._links(data["village"], data["year"], data["helpers"], data["contacts"], load_limit)

    def _links(self, key, year, helper_ids, contacts, load_limit) -> dict:
        helpers = [self._helper_facts(helper_id, year) for helper_id in helper_ids]
        if not self.has_registry:
            return {"helpers": [{"helper_id": helper["helper_id"], "load": self.helper_load(helper["helper_id"], year)}
                                for helper in helpers],
                    "village": None, "registry_contacts": None, "card": [],
                    "chains": {"helpers": {}, "village": "", "household": household_chain(helpers)}}
        village = self.village(key)
        registry_contacts = {
            LEADER_ROLE: _contact(village["group_leader_name"], village["group_leader_phone"]),
            SECRETARY_ROLE: _contact(village["first_secretary_name"], village["first_secretary_phone"]),
            HELPER_ROLE: [
                contact for helper in helpers
                if helper["registered"] and (contact := _contact(helper["name"], helper["phone"]))
            ],
        }
        return {
            "helpers": helpers,
            "village": village,
            "registry_contacts": registry_contacts,
            "card": compare_card(contacts, registry_contacts),
            "chains": {
                "helpers": {helper["helper_id"]: helper_chain(helper, load_limit) for helper in helpers},
                "village": village_chain(key, village),
                "household": household_chain(helpers),
            },
        }

    def _helper_facts(self, helper_id: str, year: int | None) -> dict:
        facts = self.helper(helper_id)
        registered = facts["registered"]
        facts["load"] = self.helper_load(helper_id, year) if registered else None
        facts["village_count"] = self.helper_village_count(helper_id, year) if registered else None
        return facts

    def chain(self, household_id: str, *, mask: bool = True, load_limit: int | None = None) -> list[str]:
        """The household's whole chain as Chinese lines, phones masked unless `mask` is False."""
        data = self.household(household_id)
        links = self.household_links(household_id, load_limit)
        phone = mask_phone if mask else str
        village = links["village"]
        lines = [_household_title(data)]
        if data["village"] is None:
            lines.append("行政区划：不完整")
        else:
            note = "" if village["registered"] else f"（村{NOT_REGISTERED}）"
            lines.append("行政区划：" + " → ".join(data["village"].split("/")) + note)
        if village["registered"]:
            lines.append(_official_line(SECRETARY_ROLE, village["first_secretary_name"],
                                        village["first_secretary_unit_name"] or village["first_secretary_unit"],
                                        village["first_secretary_phone"], phone))
            lines.append(_official_line(LEADER_ROLE, village["group_leader_name"], village["group_leader_position"],
                                        village["group_leader_phone"], phone))
        lines.extend(_helper_line(helper, load_limit, phone) for helper in links["helpers"])
        if not links["helpers"]:
            lines.append(f"{HELPER_ROLE}：无")
        lines.append("明白卡：")
        lines.extend("  " + line for line in _card_lines(links["card"], phone))
        return lines


# ---- chain texts ---------------------------------------------------------------------------


def helper_chain(helper: dict, load_limit: int | None = None) -> str:
    """"户 → 帮扶责任人 赵文博（封丘县教育局）→ 帮扶 7 户，上限 5 户"."""
    if not helper["registered"]:
        return _chain("户", f"{HELPER_ROLE} {helper['helper_id']}", NOT_REGISTERED)
    who = helper["name"] or helper["helper_id"]
    unit = helper["unit_name"] or helper["unit"]
    text = _chain("户", f"{HELPER_ROLE} {_named(who, unit)}", f"帮扶 {helper['load']} 户")
    if helper["village_count"] > 1:
        text += f"（分布在 {helper['village_count']} 个村）"
    if load_limit is not None:
        text += f"，上限 {load_limit} 户"
    return text


def village_chain(key: str | None, village: dict) -> str:
    """"户 → 东街村（封丘县城关镇）→ 驻村第一书记 周振华（封丘县教育局），脱贫责任组组长 吴建军（城关镇副镇长）"."""
    if key is None:
        return _chain("户", "行政区划不完整")
    county, township, name = key.split("/")
    place = f"{name}（{county}{township}）"
    if not village["registered"]:
        return _chain("户", place, NOT_REGISTERED)
    secretary = _named(village["first_secretary_name"],
                       village["first_secretary_unit_name"] or village["first_secretary_unit"])
    leader = _named(village["group_leader_name"], village["group_leader_position"])
    return _chain("户", place, f"{SECRETARY_ROLE} {secretary}，{LEADER_ROLE} {leader}")


def household_chain(helpers: list[dict]) -> str:
    if not helpers:
        return _chain("户", f"{HELPER_ROLE}：无")
    names = "、".join(helper["name"] or helper["helper_id"] for helper in helpers)
    return _chain("户", f"{HELPER_ROLE} {names}")


def _chain(*links: str) -> str:
    """Links joined by arrows, without a space after a full-width bracket (Chinese typesetting)."""
    return " → ".join(links).replace("） →", "）→")


def _named(name: str | None, detail: str | None) -> str:
    if not name:
        return "未登记"
    return f"{name}（{detail}）" if detail else name


# ---- the 明白卡 against the registry --------------------------------------------------------


def compare_card(contacts: Iterable[dict], registry_contacts: dict) -> list[dict]:
    """Each card contact beside what the registry says for its role, and the roles the card lacks.

    A helper contact is compared with the registered helper of the same name, else with the
    first one (so a wrong name shows as a name mismatch). `agrees_*` is None where the registry
    has nothing to compare with.
    """
    compared = []
    for contact in contacts:
        expected = registry_contacts.get(contact["role"])
        if isinstance(expected, list):
            expected = next((item for item in expected if same_name(item["name"], contact["name"])),
                            expected[0] if expected else None)
        compared.append({
            **contact,
            "registry_name": expected["name"] if expected else None,
            "registry_phone": expected["phone"] if expected else None,
            "agrees_name": same_name(contact["name"], expected["name"]) if expected else None,
            "agrees_phone": same_phone(contact["phone"], expected["phone"]) if expected else None,
        })
    present = {contact["role"] for contact in compared}
    compared.extend({"role": role, "missing": True} for role in CARD_ROLES if role not in present)
    return compared


def card_disagrees(card: list[dict]) -> bool:
    """True when a card contact's name or phone differs from the registry."""
    return any(item.get("agrees_name") is False or item.get("agrees_phone") is False for item in card)


def _card_lines(card: list[dict], phone) -> list[str]:
    lines = []
    for item in card:
        if item.get("missing"):
            lines.append(f"{item['role']}：明白卡未填写")
            continue
        shown_phone = phone(item["phone"]) if item["phone"] else "（无）"
        text = f"{item['role']} {item['name'] or '（无姓名）'}，电话 {shown_phone}"
        if item["registry_name"] is None and item["registry_phone"] is None:
            lines.append(f"{text} —— 登记中无对应人员")
            continue
        differences = []
        if not item["agrees_name"]:
            differences.append(f"姓名（登记 {item['registry_name']}）")
        if not item["agrees_phone"]:
            registered = phone(item["registry_phone"]) if item["registry_phone"] else "无"
            differences.append(f"电话（登记 {registered}）")
        lines.append(f"{text} —— " + ("与登记不符：" + "，".join(differences) if differences else "与登记一致"))
    return lines


# ---- chain lines for `who` ------------------------------------------------------------------


def _household_title(data: dict) -> str:
    details = [f"户主 {data['head']}"] if data["head"] else []
    if data["year"] is not None:
        details.append(f"{data['year']} 年度")
    return f"户 {data['id']}" + (f"（{'，'.join(details)}）" if details else "")


def _official_line(role: str, name: str | None, detail: str | None, phone_number: str | None, phone) -> str:
    if not name:
        return f"{role}：未登记"
    text = f"{role}：{_named(name, detail)}"
    return text + (f"，电话 {phone(phone_number)}" if phone_number else "")


def _helper_line(helper: dict, load_limit: int | None, phone) -> str:
    if not helper["registered"]:
        return f"{HELPER_ROLE}：{helper['helper_id']}（{NOT_REGISTERED}）"
    unit = "，".join(part for part in (helper["unit_name"] or helper["unit"], helper["unit_level"]) if part)
    text = f"{HELPER_ROLE}：{helper['name']}" + (f"（{unit}）" if unit else "")
    if helper["position"]:
        text += f"，{helper['position']}"
    if helper["phone"]:
        text += f"，电话 {phone(helper['phone'])}"
    text += f"；帮扶 {helper['load']} 户"
    if helper["village_count"] > 1:
        text += f"，分布在 {helper['village_count']} 个村"
    if load_limit is not None and helper["load"] > load_limit:
        text += f"，超过上限 {load_limit} 户"
    return text


# ---- reading dossiers defensively (pass 1 may see dossiers the contract later rejects) --------


def _entries(registry: dict, key: str, consume: bool) -> Iterator[dict]:
    """The registry's entries under `key` in order; with `consume`, each is dropped from the list once read."""
    entries = registry.get(key)
    if not isinstance(entries, list):
        return
    if not consume:
        yield from (entry for entry in entries if isinstance(entry, dict))
        return
    entries.reverse()  # in place: popping from the end frees each entry without moving the rest
    while entries:
        entry = entries.pop()
        if isinstance(entry, dict):
            yield entry


def _registered_helper(attributes: dict) -> bool:
    """A helper node holds the registry's record, or `registered` False for an id only households name."""
    return attributes.get("registered", True)


def _kind(node: str) -> str:
    return node.partition(":")[0]


def _key(node: str) -> str:
    """"helper:H-001" → "H-001"."""
    return node.partition(":")[2]


def _shared(value: object) -> str | None:
    """An optional text that many nodes repeat (a unit id, a position, a common name), stored once."""
    text = _optional(value)
    return sys.intern(text) if text is not None else None


def _helper_ids(helpers: object) -> tuple[str, ...]:
    """The dossier's helper ids, in order, each once; a single id written without a list counts too."""
    if isinstance(helpers, (str, int)) and not isinstance(helpers, bool):
        helpers = [helpers]
    if not isinstance(helpers, list):
        return ()
    ids = (_text(helper) for helper in helpers if isinstance(helper, (str, int)) and not isinstance(helper, bool))
    return tuple(dict.fromkeys(helper_id for helper_id in ids if helper_id))


def _card_contacts(dossier: dict) -> tuple[dict, ...]:
    forms = dossier.get("forms")
    card = forms.get("card") if isinstance(forms, dict) else None
    contacts = card.get("contacts") if isinstance(card, dict) else None
    if not isinstance(contacts, list):
        return ()
    return tuple(
        {"role": _text(contact.get("role")), "name": _optional(contact.get("name")),
         "position": _optional(contact.get("position")), "phone": _optional(contact.get("phone"))}
        for contact in contacts
        if isinstance(contact, dict)
    )


def _head_name(members: object) -> str | None:
    if not isinstance(members, list):
        return None
    heads = [member for member in members if isinstance(member, dict) and member.get("relation") == "户主"]
    return _optional(heads[0].get("name")) if heads else None


def _contact(name: str | None, phone: str | None) -> dict | None:
    return {"name": name, "phone": phone} if name or phone else None


def _year(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _decode_load_key(encoded: str) -> tuple[str, int | None, str | None]:
    try:
        helper_id, year, key = json.loads(encoded)
    except (TypeError, ValueError) as error:
        raise ValueError(f"not a key made by ResponsibilityGraph.loads(): {encoded!r}") from error
    return helper_id, year, key


def _text(value: object) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value).strip()


def _optional(value: object) -> str | None:
    return _text(value) or None


def _digits(value: object) -> str:
    return re.sub(r"\D", "", _text(value))
