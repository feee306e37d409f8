"""Training mode for new helpers: judge a case's cause and measures, graded by the rulebook."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from dangka.engine.batch import recommendations_for
from dangka.engine.graph import ResponsibilityGraph
from dangka.engine.run import Engine
from dangka.mask import mask_value

# What a trainee answers is judged by these categories of the rulebook.
PLAN_CATEGORIES = ("plan.cause_mismatch", "plan.measure_mismatch", "plan.capacity_mismatch", "plan.insufficient")
CAUSE_PENALTY = 40
MEASURE_PENALTY = 20
MISSED_PENALTY = 10


@dataclass
class Mistake:
    what: str
    why: str
    rule: str | None = None
    basis: str | None = None

    def to_json(self) -> dict:
        return {"what": self.what, "why": self.why, "rule": self.rule, "basis": self.basis}


@dataclass
class Grade:
    score: int
    mistakes: list[Mistake]
    recommended: list[dict]
    ruled_out: list[dict]
    answer: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"score": self.score, "answer": self.answer, "mistakes": [mistake.to_json() for mistake in self.mistakes],
                "recommended": self.recommended, "ruled_out": self.ruled_out}


def without_plan(dossier: dict) -> dict:
    """What the trainee sees: the household without its cause and measures."""
    shown = copy.deepcopy(dossier)
    for key in ("primary_cause", "other_causes", "measures"):
        shown.pop(key, None)
    return shown


def answered(dossier: dict, cause: str, measures: list[str], individual: set[str]) -> dict:
    """The dossier with the trainee's cause and measures written on its 明白卡.

    A measure for one person goes to the head of the household, as plans usually name the head.
    """
    filled = copy.deepcopy(dossier)
    filled["primary_cause"] = cause
    filled["other_causes"] = []
    head = next((member.get("name") for member in filled.get("members") or []
                 if isinstance(member, dict) and member.get("relation") == "户主"), None)
    filled["measures"] = [
        {"kind": measure, "content": f"{measure}（学员答案）", "year": filled.get("year"),
         **({"beneficiary": head} if measure in individual and head else {})}
        for measure in measures
    ]
    return filled


def grade(engine: Engine, dossier: dict, registry: dict | None, cause: str, measures: list[str]) -> Grade:
    """Grade one answer: rulebook findings on the answered plan, and the measures that fit or not."""
    policies = engine.knowledge.policies
    table = policies.table("measures")
    individual = {name for name, row in table.rows.items() if row.get("scope") == "个人"}
    filled = answered(dossier, cause, measures, individual)
    graph = ResponsibilityGraph(registry)
    graph.add_household(filled)
    result = engine.check(filled, graph.links(filled))
    mistakes = []
    seen = set()
    for finding in result.findings:
        rule = finding.rule.rule
        if rule.category not in PLAN_CATEGORIES or (rule.id, finding.message) in seen:
            continue
        seen.add((rule.id, finding.message))
        what = "致贫原因" if rule.category == "plan.cause_mismatch" else "帮扶措施"
        mistakes.append(Mistake(f"{what}：{rule.title}", finding.message, rule.id, rule.basis))
    recommended, ruled_out = recommendations_for(result.household)
    ruled_out_by_name = {item["measure"]: item for item in ruled_out}
    flagged = {mistake.why for mistake in mistakes}
    for measure in measures:
        if measure in ruled_out_by_name and not any(measure in why for why in flagged):
            mistakes.append(Mistake(f"帮扶措施：{measure} 不适合本户", ruled_out_by_name[measure]["because"],
                                    None, "政策表“帮扶措施”适用条件"))
    addressing = set((policies.table("causes").get(cause, "measures") or []))
    missed = [item for item in recommended if item["measure"] in addressing and item["measure"] not in measures]
    if missed and not any(measure in addressing for measure in measures):
        mistakes.append(Mistake("帮扶措施：遗漏针对主要致贫原因的措施",
                                "适合的有：" + "、".join(item["measure"] for item in missed[:3]), None,
                                "政策表“致贫原因”适用措施"))
    score = 100
    for mistake in mistakes:
        if mistake.what.startswith("致贫原因"):
            score -= CAUSE_PENALTY
        elif mistake.what.startswith("帮扶措施：遗漏"):
            score -= MISSED_PENALTY
        else:
            score -= MEASURE_PENALTY
    return Grade(max(score, 0), mistakes, recommended, ruled_out, {"cause": cause, "measures": measures})


def household_lines(dossier: dict, mask: bool = True) -> list[str]:
    """The household as a trainee reads it: members, income and living conditions."""
    shown = mask_value(without_plan(dossier)) if mask else without_plan(dossier)
    region = shown.get("region") or {}
    lines = [f"户编号 {shown.get('id')}  {region.get('county', '')}{region.get('township', '')}{region.get('village', '')}"
             f"  {shown.get('year', '')} 年  {shown.get('attribute', '')}", "家庭成员："]
    for member in shown.get("members") or []:
        if not isinstance(member, dict):
            continue
        parts = [str(member.get(key) or "") for key in ("name", "relation", "sex")]
        details = [str(member.get(key)) for key in ("education", "in_school", "health", "illness", "labor", "work_status")
                   if member.get(key)]
        birth = member.get("birth_date") or (str(member.get("id_number", ""))[6:10] if member.get("id_number") else "")
        lines.append(f"  {' '.join(parts)} 出生 {birth}  " + "，".join(details))
    income = shown.get("income") or {}
    if income:
        lines.append(f"收入：工资性 {income.get('wage', '—')}，生产经营 {income.get('business', '—')}，"
                     f"转移性 {income.get('transfer_total', '—')}，人均纯收入 {income.get('per_capita_net', '—')} 元")
    conditions = shown.get("conditions") or {}
    if conditions:
        lines.append("条件：住房" + ("安全" if conditions.get("housing_safe") else "不安全") +
                     (f"（{conditions['dangerous_house_level']}）" if conditions.get("dangerous_house_level") else "") +
                     "，饮水" + ("安全" if conditions.get("drinking_water_safe") else "不安全") +
                     f"，耕地 {conditions.get('farmland_mu', '—')} 亩")
    return lines


def grade_lines(result: Grade) -> list[str]:
    lines = [f"得分：{result.score}"]
    if not result.mistakes:
        lines.append("判断正确，没有发现问题。")
    for mistake in result.mistakes:
        rule = f"（规则 {mistake.rule}）" if mistake.rule else ""
        lines.append(f"✗ {mistake.what}{rule}")
        lines.append(f"    {mistake.why}")
        if mistake.basis:
            lines.append(f"    依据：{mistake.basis}")
    if result.recommended:
        lines.append("适合本户的措施：" + "；".join(f"{item['measure']}（{item['because']}）" for item in result.recommended[:5]))
    return lines
