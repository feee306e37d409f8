"""Suitable and ruled-out measures for one household, reasoned from the cause and measure tables."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from dangka import contract
from dangka.engine.evaluate import Household, field_path
from dangka.errors import DangkaError
from dangka.i18n import tr
from dangka.policy import Table

# The measure table's scope word for measures that go to one member (the other is 家庭).
INDIVIDUAL_SCOPE = "个人"
# Relations named before a member's name in reasons ("户主张德福"); other relations read badly
# that way ("之子李明") and the name alone is clear.
_NAMED_RELATIONS = ("户主", "配偶")
# Requirement lists longer than this are left out of reasons: the member's own value says enough.
_REQUIREMENT_WORDS_SHOWN = 4
_GRADE = re.compile(r"^(.+?)[一二三四五六七八九]年级$")

OK, FAIL, MISSING = "ok", "fail", "missing"
# Why a measure the plan already has is recommended when none of the causes calls for it: it
# fits its members, and the plan is the helper's judgement of what the household needs.
PLANNED = "已列入帮扶计划"
_PRIMARY, _OTHER, _PROFILE = "primary", "other", "profile"


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Recommendation:
    """A catalogue measure that suits the household: why, and for which members."""

    measure: str
    because: str
    members: tuple[str, ...]   # names of the members it fits; empty for a whole-household measure
    family: str
    reference: str
    # The household's causes that call for it, written or shown by its members; empty for a
    # plan measure that fits though no cause calls for it.
    causes: tuple[str, ...] = ()

    def text(self) -> str:
        """One line for text reports: 健康扶贫：主要致贫原因为因病；户主李国强（长期慢性病）."""
        return f"{self.measure}：{self.because}"


@dataclass(frozen=True)
class RuledOut:
    """A measure the household's causes (or its plan) call for that its members or conditions do
    not allow, or that the dossier lacks the facts to decide."""

    measure: str
    because: str
    reference: str
    # Dossier paths whose absence kept the measure from being decided; empty when the facts
    # themselves rule it out.
    missing: tuple[str, ...] = ()

    def text(self) -> str:
        """One line for text reports: 扶贫小额信贷：户主张德福 80 岁，超出 18–65 岁."""
        return f"{self.measure}：{self.because}"


def recommend(household: Household) -> tuple[list[Recommendation], list[RuledOut]]:
    """The measures that suit the household and those ruled out, most relevant first."""
    context = _Context.of(household)
    if context is None:
        return [], []
    recommendations: list[Recommendation] = []
    ruled_out: list[RuledOut] = []
    for candidate in _candidates(context):
        outcome = _assess(context, candidate)
        if isinstance(outcome, Recommendation):
            recommendations.append(outcome)
        else:
            ruled_out.append(outcome)
    return recommendations, ruled_out


def to_json(recommendations: Iterable[Recommendation], ruled_out: Iterable[RuledOut]) -> tuple[list[dict], list[dict]]:
    """The `recommendations` and `ruled_out` lists of the findings document."""
    return (
        [
            {"measure": item.measure, "because": item.because, "members": list(item.members),
             "family": item.family, "causes": list(item.causes), "reference": item.reference}
            for item in recommendations
        ],
        [
            {"measure": item.measure, "because": item.because, "reference": item.reference,
             "missing": list(item.missing)}
            for item in ruled_out
        ],
    )


# ---------------------------------------------------------------------------------------------
# The household as the recommender sees it


# The recommender's own small values are named tuples: a household makes dozens of them, and
# a frozen dataclass takes twice as long to build.


class _Member(NamedTuple):
    record: contract.Record
    name: str
    who: str   # how reasons name the member: 户主张德福, 刘桂英
    values: dict[str, object]   # the record's values

    def path(self, key: str) -> str:
        return field_path(self.record, key)


class _Cause(NamedTuple):
    key: str
    how: str                 # _PRIMARY, _OTHER (written in the dossier) or _PROFILE (shown by the members)
    evidence: str | None     # the members' facts that support the cause, when the table names any
    shortage: bool           # the evidence is a lack of labour (the cause row's labor_absent held)


class _Candidate(NamedTuple):
    measure: str
    causes: tuple[_Cause, ...]   # the household's causes that call for it, most relevant first


@dataclass
class _Context:
    household: contract.Record
    conditions: contract.Record | None
    members: list[_Member]
    plan: list[str]          # the measure kinds written in the dossier's plan
    catalogue: _Catalogue
    causes: list[_Cause] = field(default_factory=list)

    @classmethod
    def of(cls, household: Household) -> _Context | None:
        record = household.first("household")
        if record is None:
            return None
        context = cls(
            household=record,
            conditions=household.first("conditions"),
            members=[_member(index, member) for index, member in enumerate(household.of("member"))],
            plan=[str(measure.values["kind"]) for measure in household.of("measure") if "kind" in measure.values],
            catalogue=_catalogue(_table(household, "causes", "致贫原因"), _table(household, "measures", "帮扶措施"),
                                 record.values.get("year"), record.values.get("province")),
        )
        context.causes = _household_causes(context, household)
        return context


# ---------------------------------------------------------------------------------------------
# The cause and measure tables in force for a year and province, indexed once


@dataclass(frozen=True)
class _MeasureSpec:
    """A catalogue measure as in force, with its conditions ready to check against a household."""

    reference: str
    family: str
    individual: bool                          # it goes to one member (scope 个人), not the household
    criteria: tuple                           # what each member it goes to must meet (_AgeRange, _Words)
    everyone_labour: tuple[str, ...] | None   # labour words every member must have (a household measure)
    housing: tuple[str, ...] | None           # dangerous-house levels it is for
    attribute: tuple[str, ...] | None         # household attributes it is for


@dataclass(frozen=True)
class _Catalogue:
    """The cause and measure tables as in force for one year and province, indexed for the recommender."""

    cause_table: Table                      # for the rows the household's words name
    measure_table: Table
    cause_rows: Mapping[str, Mapping]       # cause → column → value: the table's own cells in force
    profile_causes: tuple[str, ...]         # the causes whose rows name facts the members may show
    measures_for: dict[str, list[str]]      # cause → the measures it calls for, most relevant first
    measures: dict[str, _MeasureSpec]


# Households of one run share a handful of years and provinces, and indexing the tables again for
# each household would cost more than the rest of the recommender: catalogues are kept by the ids
# of the tables' cells in force (the tables a catalogue holds keep those, so an id cannot pass to others).
_CATALOGUES: dict[tuple[int, int], _Catalogue] = {}
_CATALOGUES_KEPT = 1024


def _catalogue(causes: Table, measures: Table, year: int | None, province: str | None) -> _Catalogue:
    cause_rows, measure_rows = causes.in_force(year, province), measures.in_force(year, province)
    key = (id(cause_rows), id(measure_rows))
    found = _CATALOGUES.get(key)
    if found is None:
        if len(_CATALOGUES) >= _CATALOGUES_KEPT:
            _CATALOGUES.clear()
        found = _CATALOGUES[key] = _Catalogue(
            cause_table=causes,
            measure_table=measures,
            cause_rows=cause_rows,
            profile_causes=tuple(cause for cause, row in cause_rows.items()
                                 if any(row.get(column) for column in ("health", "in_school", "labor_absent"))),
            measures_for={cause: _measures_for(cause, row, measure_rows) for cause, row in cause_rows.items()},
            measures={measure: _measure_spec(measures, measure, year, province) for measure in measure_rows},
        )
    return found


def _measures_for(cause: str, row: Mapping, measure_rows: Mapping[str, Mapping]) -> list[str]:
    """A cause's measures: its row's list in order, then the catalogue's measures that name the
    cause in their own `causes` column (either table may link them)."""
    listed = [measure for measure in row.get("measures") or () if measure in measure_rows]
    naming = [measure for measure, measure_row in measure_rows.items()
              if measure not in listed and cause in (measure_row.get("causes") or ())]
    return listed + naming


def _measure_spec(measures: Table, measure: str, year: int | None, province: str | None) -> _MeasureSpec:
    row = measures.in_force(year, province)[measure]
    reference = measures.reference(measure, province)
    individual = row.get("scope") == INDIVIDUAL_SCOPE
    # A household measure's labour words are someone's when it needs labour, everyone's when not.
    someone_labour = bool(row.get("labor")) and (individual or bool(row.get("needs_labor")))
    # Age bounds may follow a parameter, whose reference is then the reason's source.
    ages = (measures.lookup(measure, "min_age", year, province), measures.lookup(measure, "max_age", year, province))
    return _MeasureSpec(
        reference=reference,
        family=str(row.get("family") or ""),
        individual=individual,
        criteria=_member_criteria(row, ages, someone_labour, reference),
        everyone_labour=row["labor"] if row.get("labor") and not someone_labour else None,
        housing=row.get("housing") or None,
        attribute=row.get("attribute") or None,
    )


def _table(household: Household, key: str, label: str) -> Table:
    table = household.policies.table(key)
    if table is None:
        raise DangkaError(
            tr(f"政策目录缺少{label}表（{key}），无法推荐帮扶措施",
               f"the policy folder has no '{key}' table; cannot recommend measures"),
            code="policy.invalid",
        )
    return table


def _member(index: int, record: contract.Record) -> _Member:
    name = record.values.get("name")
    if not isinstance(name, str):
        name = f"第{index + 1}位成员"
    relation = record.values.get("relation")
    return _Member(record, name, f"{relation}{name}" if relation in _NAMED_RELATIONS else name, record.values)


# ---------------------------------------------------------------------------------------------
# Causes: written in the dossier, or shown by the members' profile


def _household_causes(context: _Context, household: Household) -> list[_Cause]:
    """The primary cause, the other causes, then the causes the members' profile shows."""
    written: list[tuple[object, str]] = [(context.household.values.get("primary_cause"), _PRIMARY)]
    written.extend((record.values.get("cause"), _OTHER) for record in household.of("other_cause"))
    causes: list[_Cause] = []
    for word, how in written:
        key = context.catalogue.cause_table.row_key(word) if isinstance(word, str) else None
        if key is not None and all(cause.key != key for cause in causes):
            causes.append(_cause(context, key, how))
    # Rows naming no health, schooling or labour words cannot be shown by the members.
    for key in context.catalogue.profile_causes:
        if all(cause.key != key for cause in causes):
            shown = _cause(context, key, _PROFILE)
            if shown.evidence is not None:
                causes.append(shown)
    return causes


def _cause(context: _Context, key: str, how: str) -> _Cause:
    row = context.catalogue.cause_rows[key]
    evidence = _cause_evidence(context.members, row)
    return _Cause(key, how, evidence, bool(row.get("labor_absent")) and evidence is not None)


def _cause_evidence(members: list[_Member], row: Mapping) -> str | None:
    """The members' facts that support a cause row, or None when they do not (or cannot) show it.

    Health and schooling words and a lack of labour are evidence for a cause. A cause's
    `labor_present` words are only a precondition (缺技术 needs someone able to work, but being
    able to work does not show a lack of skills), so a row with nothing else is never inferred.
    """
    texts = []
    for key in ("health", "in_school"):
        if row.get(key):
            having = [member for member in members if member.values.get(key) in row[key]]
            if not having:
                return None
            texts.append(_grouped(having, lambda member, key=key: str(member.values.get(key))))
    if row.get("labor_absent"):
        shortage = _labour_shortage(members, row["labor_absent"])
        if shortage is None:
            return None
        texts.append(shortage)
    return "；".join(texts) if texts else None


def _labour_shortage(members: list[_Member], able_words: Sequence[str]) -> str | None:
    """家中没有普通劳动力、技能劳动力（…）, when every member's labour is known and none is able."""
    if not members or any(member.values.get("labor") is None or member.values.get("labor") in able_words for member in members):
        return None
    return f"家中没有{'、'.join(able_words)}（{_stated(members, members, 'labor')}）"


# ---------------------------------------------------------------------------------------------
# Candidates: the measures the causes call for, then the plan's own measures


def _candidates(context: _Context) -> list[_Candidate]:
    """Every measure linked to one of the household's causes, most relevant first, then the
    plan's measures that no cause calls for (checked too: a planned measure may not fit)."""
    # A measure ranks where it is first met: causes in order, each cause's measures in order.
    ranked: dict[str, list[_Cause]] = {}
    for cause in context.causes:
        for measure in context.catalogue.measures_for[cause.key]:
            ranked.setdefault(measure, []).append(cause)
    candidates = [_Candidate(measure, tuple(causes)) for measure, causes in ranked.items()]
    for word in context.plan:
        measure = context.catalogue.measure_table.row_key(word)
        if measure is not None and measure not in ranked:
            ranked[measure] = []
            candidates.append(_Candidate(measure, ()))
    return candidates


# ---------------------------------------------------------------------------------------------
# Assessing one measure


class _Check(NamedTuple):
    status: str                          # OK, FAIL or MISSING (cannot be decided)
    text: str
    reference: str = ""
    members: tuple[_Member, ...] = ()    # the members it fits (member checks only)
    missing: tuple[str, ...] = ()


def _assess(context: _Context, candidate: _Candidate) -> Recommendation | RuledOut:
    """The measure recommended with its reasons, or ruled out with the facts (or gaps) that stop it."""
    measure = candidate.measure
    spec = context.catalogue.measures[measure]
    reference = spec.reference
    checks = _checks(context, candidate, spec)
    failed = [check for check in checks if check.status == FAIL]
    if failed:
        return RuledOut(measure, _joined([check.text for check in failed]), failed[0].reference or reference)
    undecided = [check for check in checks if check.status == MISSING]
    if undecided:
        missing = tuple([path for check in undecided for path in check.missing])
        because = _joined([check.text for check in undecided])
        return RuledOut(measure, because, undecided[0].reference or reference, missing)
    members = tuple([member.name for check in checks for member in check.members])
    because = _joined(_cause_texts(candidate) + [check.text for check in checks])
    causes = tuple([cause.key for cause in candidate.causes])
    return Recommendation(measure, because, members, spec.family, reference, causes)


def _checks(context: _Context, candidate: _Candidate, spec: _MeasureSpec) -> list[_Check]:
    """The measure's conditions as checks: its members' (age, labour, schooling, health), then
    the household's (every member's labour, housing, attribute)."""
    checks = []
    if spec.individual or spec.criteria:
        check = _judge_members(context.members, spec.criteria)
        # A household measure only needs someone in the household to fit; it is not theirs alone.
        checks.append(check if spec.individual else _Check(check.status, check.text, check.reference, (), check.missing))
    if spec.everyone_labour:
        checks.append(_every_member_labour(context.members, spec.everyone_labour, spec.reference))
    if spec.housing:
        checks.append(_housing_check(context, spec.housing, spec.reference))
    if spec.attribute:
        checks.append(_attribute_check(context, candidate, spec.attribute, spec.reference))
    return checks


def _cause_texts(candidate: _Candidate) -> list[str]:
    """主要致贫原因为因病 / 其他致贫原因为因学, the profile's evidence when no written cause calls
    for the measure, or 已列入帮扶计划 for a plan measure that fits though no cause calls for it."""
    if not candidate.causes:
        return [PLANNED]
    primary = [cause.key for cause in candidate.causes if cause.how == _PRIMARY]
    others = [cause.key for cause in candidate.causes if cause.how == _OTHER]
    texts = [f"主要致贫原因为{word}" for word in primary]
    if others:
        texts.append(f"其他致贫原因为{'、'.join(others)}")
    return texts or [cause.evidence for cause in candidate.causes if cause.evidence]


# --- member conditions -----------------------------------------------------------------------


@dataclass(frozen=True)
class _AgeRange:
    """Age bounds (both inclusive) from the measure table, possibly following a year's parameter."""

    low: int | None
    high: int | None
    low_reference: str
    high_reference: str
    key: str = "age"

    def status(self, member: _Member) -> str:
        age = member.values.get("age")
        if not isinstance(age, int):
            return MISSING
        return FAIL if (self.low is not None and age < self.low) or (self.high is not None and age > self.high) else OK

    def shown(self, member: _Member) -> str:
        return f"{member.values.get('age')} 岁"

    def failed(self, failing: list[_Member], members: list[_Member]) -> str:
        ages = "、".join(f"{member.who} {member.values.get('age')} 岁" for member in failing)
        return f"{ages}，{self.bounds()}"

    def bounds(self) -> str:
        if self.low is not None and self.high is not None:
            return f"超出 {self.low}–{self.high} 岁"
        return f"未满 {self.low} 岁" if self.low is not None else f"超过 {self.high} 岁"

    def source(self, failing: list[_Member]) -> str:
        too_old = self.high is not None and failing[0].values.get("age") > self.high
        return self.high_reference if too_old else self.low_reference


@dataclass(frozen=True)
class _Words:
    """A member field whose word must be one of the measure table's list (labour, schooling, health)."""

    key: str
    allowed: tuple[str, ...]
    reference: str

    def status(self, member: _Member) -> str:
        value = member.values.get(self.key)
        return MISSING if value is None else OK if value in self.allowed else FAIL

    def shown(self, member: _Member) -> str:
        return str(member.values.get(self.key))

    def failed(self, failing: list[_Member], members: list[_Member]) -> str:
        return f"{_stated(failing, members, self.key)}{_requirement(self.allowed)}"

    def source(self, failing: list[_Member]) -> str:
        return self.reference


def _member_criteria(row: Mapping, ages: tuple[tuple[object, str], tuple[object, str]], someone_labour: bool,
                     reference: str) -> tuple[_AgeRange | _Words, ...]:
    criteria: list[_AgeRange | _Words] = []
    (low, low_reference), (high, high_reference) = ages
    if low is not None or high is not None:
        criteria.append(_AgeRange(low, high, low_reference, high_reference))
    if someone_labour:
        criteria.append(_Words("labor", row["labor"], reference))
    criteria.extend(_Words(key, row[key], reference) for key in ("in_school", "health") if row.get(key))
    return tuple(criteria)


def _judge_members(members: list[_Member], criteria: tuple) -> _Check:
    """OK with the members who meet every criterion; otherwise why nobody does, or who is undecided."""
    if not members:
        return _Check(MISSING, "家庭成员未填写", missing=("members",))
    if not criteria:
        return _Check(OK, "", members=tuple(members))
    # Each criterion's status for every member; a member's own statuses are a row across them.
    columns = [list(map(criterion.status, members)) for criterion in criteria]
    statuses = list(zip(*columns))
    fitting = [member for member, status in zip(members, statuses) if status.count(OK) == len(criteria)]
    if fitting:
        shown = _grouped(fitting, lambda member: "，".join([criterion.shown(member) for criterion in criteria]))
        return _Check(OK, shown, members=tuple(fitting))
    texts, source = [], ""
    for criterion, column in zip(criteria, columns):
        failing = [member for member, status in zip(members, column) if status == FAIL]
        if failing:
            texts.append(criterion.failed(failing, members))
            source = source or criterion.source(failing)
    undecided = [(member, status) for member, status in zip(members, statuses) if FAIL not in status]
    missing = []
    for position, criterion in enumerate(criteria):
        lacking = [member for member, status in undecided if status[position] == MISSING]
        if lacking:
            texts.append(_unfilled(lacking, criterion.key))
            missing.extend(member.path(criterion.key) for member in lacking)
    return _Check(MISSING if undecided else FAIL, "；".join(texts), source, missing=tuple(missing))


def _every_member_labour(members: list[_Member], words: Sequence[str], reference: str) -> _Check:
    """A household measure for households whose members all have one of these labour words."""
    if not members:
        return _Check(MISSING, "家庭成员未填写", reference, missing=("members",))
    failing = [member for member in members if member.values.get("labor") not in (None, *words)]
    if failing:
        return _Check(FAIL, f"{_stated(failing, members, 'labor')}{_requirement(words)}", reference)
    lacking = [member for member in members if member.values.get("labor") is None]
    if lacking:
        return _Check(MISSING, _unfilled(lacking, "labor"), reference, missing=tuple(m.path("labor") for m in lacking))
    return _Check(OK, _stated(members, members, "labor"), reference)


# --- household conditions --------------------------------------------------------------------


def _housing_check(context: _Context, levels: Sequence[str], reference: str) -> _Check:
    conditions = context.conditions.values if context.conditions is not None else {}
    level = conditions.get("dangerous_house_level")
    if level in levels:
        return _Check(OK, f"危房等级为{level}", reference)
    if level is not None:
        return _Check(FAIL, f"危房等级为{level}{_requirement(levels)}", reference)
    if conditions.get("housing_safe") is True:
        return _Check(FAIL, f"住房安全，不是危房{_requirement(levels)}", reference)
    where = context.conditions
    path = field_path(where, "dangerous_house_level") if where else "conditions.dangerous_house_level"
    return _Check(MISSING, "危房等级未填写", reference, missing=(path,))


def _attribute_check(context: _Context, candidate: _Candidate, allowed: Sequence[str], reference: str) -> _Check:
    attribute = context.household.values.get("attribute")
    if attribute is None:
        return _Check(MISSING, "贫困户属性未填写", reference, missing=("attribute",))
    if attribute in allowed:
        return _Check(OK, f"贫困户属性为{attribute}", reference)
    admission = _admission(context, candidate, attribute, allowed)
    if admission is not None:
        return _Check(OK, admission, reference)
    return _Check(FAIL, f"贫困户属性为{attribute}{_requirement(allowed)}", reference)


def _admission(context: _Context, candidate: _Candidate, attribute: str, allowed: Sequence[str]) -> str | None:
    """Admission to the next safety net for a household that cannot work its way out.

    The attribute words run from the general household to the strongest safety net. A household
    whose members show a lack of labour (a cause the measure addresses, through the cause row's
    labor_absent) may be admitted one step up: the dossier shows what that step needs (中发〔2015〕
    34号: 社会保障兜底 for those who have lost the ability to work), not what a further one needs
    (特困供养 also requires no one legally bound to support them, which no dossier field records).
    """
    words = contract.enumeration("attribute").names
    position = words.index(attribute) if attribute in words else len(words)
    following = words[position + 1] if position + 1 < len(words) else None
    shortage = next((cause for cause in candidate.causes if cause.shortage), None)
    if following not in allowed or shortage is None:
        return None
    return f"{shortage.evidence}，可申请纳入{following}"


# ---------------------------------------------------------------------------------------------
# Wording


def _grouped(members: list[_Member], value_of: Callable[[_Member], str]) -> str:
    """户主张德福、配偶刘桂英（长期慢性病），李明（高中二年级）: members with the same value together."""
    groups: dict[str, list[str]] = {}
    for member in members:
        groups.setdefault(value_of(member), []).append(member.who)
    return "，".join(f"{'、'.join(whos)}（{value}）" for value, whos in groups.items())


def _stated(members: list[_Member], everyone: list[_Member], key: str) -> str:
    """户主张德福、配偶刘桂英为无劳动力 — or 成员均为无劳动力 when that is the whole household."""
    groups: dict[str, list[str]] = {}
    for member in members:
        groups.setdefault(str(member.values.get(key)), []).append(member.who)
    if len(groups) == 1 and len(members) == len(everyone) > 1:
        return f"成员均为{next(iter(groups))}"
    return "，".join(f"{'、'.join(whos)}为{value}" for value, whos in groups.items())


def _unfilled(members: list[_Member], key: str) -> str:
    """刘桂英年龄未填写."""
    label = contract.ENTITIES["member"].field(key).label
    return f"{'、'.join(member.who for member in members)}{label}未填写"


def _requirement(words: Iterable[str]) -> str:
    """（适用：中职、高职）: the allowed words, school grades folded into their level; left out when long."""
    return _requirement_of(tuple(words))


@cache
def _requirement_of(words: tuple[str, ...]) -> str:
    # A handful of word lists (the measure table's) come back for every household.
    folded: list[str] = []
    for word in words:
        grade = _GRADE.match(word)
        level = grade.group(1) if grade else word
        if level not in folded:
            folded.append(level)
    return f"（适用：{'、'.join(folded)}）" if len(folded) <= _REQUIREMENT_WORDS_SHOWN else ""


def _joined(fragments: Iterable[str]) -> str:
    """Fragments joined by “；”, leaving out empty ones and those another fragment already says."""
    kept = list(dict.fromkeys(filter(None, fragments)))
    if len(kept) < 2:
        return "".join(kept)
    said_elsewhere = [fragment for fragment in kept for other in kept if fragment != other and fragment in other]
    return "；".join([fragment for fragment in kept if fragment not in said_elsewhere])
