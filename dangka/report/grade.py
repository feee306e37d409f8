"""Grading for 评比: a score and a grade for each county and township from its findings per household."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

from dangka.errors import DangkaError, InputError, Location
from dangka.load import load_yaml_document
from dangka.report import SEVERITIES, RegionSummary, summarize

GRADING_FILE = "grading.yaml"
GRADES = ("优秀", "良好", "合格", "不合格")
_WEIGHT_KEYS = {severity: f"grading_weight_{severity}" for severity in SEVERITIES}
_THRESHOLD_KEYS = {"优秀": "grading_excellent_min", "良好": "grading_good_min", "合格": "grading_pass_min"}
_POINTS_KEY = "grading_points_per_weight"
_FULL_MARKS = 100.0


class GradingPolicyError(DangkaError):
    """grading.yaml is missing, malformed, or a value lacks its reference."""

    code = "policy.invalid"


@dataclass(frozen=True)
class GradingPolicy:
    """The weights and thresholds in force, each with the reference it came from."""

    weights: dict[str, float]
    points_per_weight: float
    thresholds: dict[str, float]  # grade → lowest score that earns it
    references: dict[str, str]  # parameter key → reference

    def grade_for(self, score: float) -> str:
        for grade_name in GRADES[:-1]:
            if score >= self.thresholds[grade_name]:
                return grade_name
        return GRADES[-1]

    def as_dict(self) -> dict:
        return {
            "weights": dict(self.weights),
            "points_per_weight": self.points_per_weight,
            "thresholds": dict(self.thresholds),
            "references": dict(self.references),
        }


def grade(report: dict, policy_dir: str | Path | None = None, year: int | None = None) -> dict:
    """Score and grade every county and township of a findings document.

    Returns {"counties": [...], "townships": [...], "policy": {...}}; each unit is
    {name, households, with_findings, findings, findings_by_severity, weighted, score, grade, rank}
    (townships also carry their county), best first. `year` picks the policy values in force
    (None: the latest).
    """
    policy = load_grading_policy(policy_dir, year)
    counties = [_graded(summary, summary.county, policy) for summary in summarize(report, "county")]
    townships = [
        {"county": summary.county, **_graded(summary, summary.township, policy)}
        for summary in summarize(report, "township")
    ]
    return {"counties": _ranked(counties), "townships": _ranked(townships), "policy": policy.as_dict()}


def _graded(summary: RegionSummary, name: str, policy: GradingPolicy) -> dict:
    weighted = sum(policy.weights.get(severity, 0) * count for severity, count in summary.by_severity.items())
    deduction = policy.points_per_weight * weighted / summary.households
    score = round(max(0.0, _FULL_MARKS - deduction), 1)
    return {
        "name": name,
        "households": summary.households,
        "with_findings": summary.with_findings,
        "findings": summary.findings,
        "findings_by_severity": {severity: summary.by_severity.get(severity, 0) for severity in SEVERITIES},
        "weighted": weighted,
        "score": score,
        "grade": policy.grade_for(score),
    }


def _ranked(units: list[dict]) -> list[dict]:
    """Best score first; equal scores share a rank (1, 2, 2, 4)."""
    ordered = sorted(units, key=lambda unit: (-unit["score"], unit.get("county", ""), unit["name"]))
    for position, unit in enumerate(ordered):
        tied_with_previous = position and unit["score"] == ordered[position - 1]["score"]
        unit["rank"] = ordered[position - 1]["rank"] if tied_with_previous else position + 1
    return ordered


def load_grading_policy(policy_dir: str | Path | None = None, year: int | None = None) -> GradingPolicy:
    """Read grading.yaml (default: the packaged knowledge/policies) and pick the values for `year`."""
    directory = Path(policy_dir) if policy_dir is not None else Path(str(files("dangka.knowledge") / "policies"))
    path = directory / GRADING_FILE
    try:
        document = load_yaml_document(str(path))
    except InputError as error:
        raise GradingPolicyError(f"评比计分文件无法读取：{error.message}", error.location) from None
    key_lines = _key_lines(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise GradingPolicyError("评比计分文件应为“参数名: 参数”的映射", Location(str(path), 1))
    values = {}
    references = {}
    for key in (*_WEIGHT_KEYS.values(), _POINTS_KEY, *_THRESHOLD_KEYS.values()):
        values[key], references[key] = _parameter_value(document, key, year, Location(str(path), key_lines.get(key)))
    thresholds = {grade_name: values[key] for grade_name, key in _THRESHOLD_KEYS.items()}
    if not thresholds["优秀"] >= thresholds["良好"] >= thresholds["合格"]:
        raise GradingPolicyError("分数线应满足 优秀 ≥ 良好 ≥ 合格", Location(str(path)))
    return GradingPolicy(
        weights={severity: values[key] for severity, key in _WEIGHT_KEYS.items()},
        points_per_weight=values[_POINTS_KEY],
        thresholds=thresholds,
        references=references,
    )


def _parameter_value(document: dict, key: str, year: int | None, where: Location) -> tuple[float, str]:
    """The value in force for `year` (latest `from` not after it) and its reference."""
    parameter = document.get(key)
    if not isinstance(parameter, dict) or not isinstance(parameter.get("values"), list) or not parameter["values"]:
        raise GradingPolicyError(f"缺少参数 {key} 或其 values 列表", where)
    entries = []
    for entry in parameter["values"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("from"), int):
            raise GradingPolicyError(f"参数 {key} 的每个值都要有起用年度 from（整数）", where)
        value = entry.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise GradingPolicyError(f"参数 {key} 的值应为非负数，实为 {value!r}", where)
        if not isinstance(entry.get("reference"), str) or not entry["reference"].strip():
            raise GradingPolicyError(f"参数 {key} 的值 {value} 缺少出处 reference", where)
        entries.append(entry)
    in_force = [entry for entry in entries if year is None or entry["from"] <= year]
    if not in_force:
        raise GradingPolicyError(f"参数 {key} 在 {year} 年没有可用的值", where)
    latest = max(in_force, key=lambda entry: entry["from"])
    return float(latest["value"]), latest["reference"].strip()


def _key_lines(text: str) -> dict[str, int]:
    """Line of each top-level key, so an error can point at the parameter it concerns."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 1 for key, _ in root.value if isinstance(key, yaml.ScalarNode)}
