"""Renders the traces `Tracer` recorded, as JSON or text; computes nothing new."""

from __future__ import annotations

from dangka.categories import CATEGORIES
from dangka.engine.trace import FIRED, NOT_EVALUATED, ConditionTrace, RuleTrace
from dangka.i18n import tr
from dangka.report.text import evidence_value

_OUTCOME_ZH = {FIRED: "触发", "not_fired": "未触发", NOT_EVALUATED: "无法判断"}
_RESULT_ZH = {"true": "成立", "false": "不成立", "unknown": "无法判断"}


def condition_json(condition: ConditionTrace) -> dict:
    data = {"text": condition.text, "values": condition.values, "result": condition.result}
    if condition.missing:
        data["missing"] = condition.missing
    return data


def rule_json(trace: RuleTrace) -> dict:
    rule = trace.rule
    data = {
        "rule": rule.id,
        "title": rule.title,
        "category": rule.category,
        "outcome": trace.outcome,
        "source": f"{rule.span.file}:{rule.span.line}",
        "conditions": [condition_json(condition) for condition in trace.conditions],
    }
    if rule.conclude:
        data["concludes"] = rule.conclude
    if rule.scope_entity:
        data["bindings"] = [{"record": binding.record, "outcome": binding.outcome,
                             "conditions": [condition_json(condition) for condition in binding.conditions]}
                            for binding in trace.bindings]
    return data


def explanation_json(household_id: str, traces: list[RuleTrace], recommendations: list[dict],
                     ruled_out: list[dict]) -> dict:
    return {"household": household_id, "rules": [rule_json(trace) for trace in traces],
            "recommendations": recommendations, "ruled_out": ruled_out}


def render_text(explanation: dict, verbose: bool = False) -> str:
    """Fired and undecided rules in full; the others in one line each (all in full with verbose)."""
    lines = [tr(f"户 {explanation['household']} 的规则核查过程", f"How each rule judged household {explanation['household']}"), ""]
    for rule in explanation["rules"]:
        outcome = _OUTCOME_ZH[rule["outcome"]] if tr("zh", "en") == "zh" else rule["outcome"]
        category = CATEGORIES.get(rule["category"] or "", rule.get("concludes") and f"结论：{rule['concludes']}" or "")
        lines.append(f"[{outcome}] {rule['rule']} {rule['title']}  ({category})  {rule['source']}")
        if rule["outcome"] == "not_fired" and not verbose:
            failed = [condition for condition in rule["conditions"] if condition["result"] == "false"]
            if failed:
                lines.append("    " + tr("不成立：", "false: ") + failed[0]["text"] + _values(failed[0]))
            continue
        for condition in rule["conditions"]:
            result = _RESULT_ZH[condition["result"]] if tr("zh", "en") == "zh" else condition["result"]
            lines.append(f"    {result}：{condition['text']}{_values(condition)}")
            if condition.get("missing"):
                lines.append("        " + tr("缺少：", "missing: ") + "、".join(condition["missing"]))
        for binding in rule.get("bindings", []):
            if binding["outcome"] != "not_fired" or verbose:
                lines.append(f"    · {binding['record']}：{_OUTCOME_ZH.get(binding['outcome'], binding['outcome'])}")
    if explanation.get("recommendations"):
        lines.append("")
        lines.append(tr("适合本户的措施：", "Measures that fit:"))
        lines.extend(f"    {item['measure']}：{item['because']}" for item in explanation["recommendations"])
    decided = [item for item in explanation.get("ruled_out", []) if not item.get("missing")]
    undecided = [item for item in explanation.get("ruled_out", []) if item.get("missing")]
    if decided:
        lines.append(tr("不适合的措施：", "Measures ruled out:"))
        lines.extend(f"    {item['measure']}：{item['because']}" for item in decided)
    if undecided:
        lines.append(tr("无法判断是否适合的措施（档案缺少数据）：", "Measures that cannot be judged (data missing):"))
        lines.extend(f"    {item['measure']}：{item['because']}（{tr('缺少', 'missing')} {'、'.join(item['missing'])}）"
                     for item in undecided)
    return "\n".join(lines) + "\n"


def _values(condition: dict) -> str:
    if not condition["values"]:
        return ""
    shown = "，".join(f"{path}={evidence_value(value)}" for path, value in list(condition["values"].items())[:8])
    return f"    〔{shown}〕"
