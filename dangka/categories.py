"""The finding categories and severities of the output contract (shared/spec/findings.md)."""

from __future__ import annotations

# The two categories of the errors list: a dossier that cannot be read, a household the engine failed on.
UNREADABLE = "input.invalid"
ENGINE_FAILED = "engine.failed"

# category → Chinese name; the list changes only by agreement (reviewers count by it).
CATEGORIES: dict[str, str] = {
    UNREADABLE: "档案无法读取",
    ENGINE_FAILED: "核查出错",
    "form.missing": "表卡漏填漏签",
    "form.invalid": "表卡填写不规范",
    "form.inconsistent": "表卡前后矛盾",
    "procedure.order": "识别程序顺序错误",
    "procedure.record_mismatch": "会议记录与公示不符",
    "procedure.publicity_mismatch": "公示公告前后不一",
    "eligibility.excluded": "不应识别为贫困户",
    "plan.cause_mismatch": "致贫原因与实际不符",
    "plan.measure_mismatch": "帮扶措施未针对致贫原因",
    "plan.capacity_mismatch": "帮扶措施与劳动能力不符",
    "plan.insufficient": "帮扶不能稳定脱贫",
    "responsibility.missing": "帮扶责任缺失",
    "responsibility.overload": "帮扶责任人超负荷",
    "responsibility.mismatch": "明白卡与责任体系不符",
}

# Rules may not use input.invalid or engine.failed: they are reserved for dossiers that cannot be read
# and for households the engine failed on.
RULE_CATEGORIES = tuple(name for name in CATEGORIES if name not in (UNREADABLE, ENGINE_FAILED))

# severity as written in a rule (Chinese or English) → the contract's word.
SEVERITIES: dict[str, str] = {"高": "high", "中": "medium", "低": "low",
                              "high": "high", "medium": "medium", "low": "low"}
SEVERITY_NAMES: dict[str, str] = {"high": "高", "medium": "中", "low": "低"}
