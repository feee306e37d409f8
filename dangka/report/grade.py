"""Grading for 评比: a score and a grade for each county and township from its findings per household."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dangka.errors import Location
from dangka.i18n import tr
from dangka.policy import GRADING_FILE, Parameter, PolicyError, default_directory, read_parameter_mapping
from dangka.report import SEVERITIES, RegionSummary, summarize

GRADES = ("优秀", "良好", "合格", "不合格")
_WEIGHT_KEYS = {severity: f"grading_weight_{severity}" for severity in SEVERITIES}
_THRESHOLD_KEYS = {"优秀": "grading_excellent_min", "良好": "grading_good_min", "合格": "grading_pass_min"}
_POINTS_KEY = "grading_points_per_weight"
_FULL_MARKS = 100.0


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


def grade(report: dict, policy: GradingPolicy | None = None) -> dict:
    """Score and grade every county and township of a findings document.

    Returns {"counties": [...], "townships": [...], "policy": {...}}; each unit is
    {name, households, with_findings, findings, findings_by_severity, weighted, score, grade, rank}
    (townships also carry their county), best first. `policy` defaults to the packaged
    grading.yaml's latest values (load_grading_policy).
    """
    policy = policy if policy is not None else load_grading_policy()
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
    """Read grading.yaml (default: the packaged knowledge/policies) and pick the values for `year`.

    It has the shape of a parameters file, read by dangka.policy with the same checks (types,
    finite numbers, years, references, repeated keys); PolicyError names the file and line of
    every problem.
    """
    path = Path(policy_dir if policy_dir is not None else default_directory()) / GRADING_FILE
    parameters = read_parameter_mapping(path)
    problems: list[tuple[Location, str]] = []
    values, references = {}, {}
    for key in (*_WEIGHT_KEYS.values(), _POINTS_KEY, *_THRESHOLD_KEYS.values()):
        try:
            values[key], references[key] = _value_in_force(parameters.get(key), key, year, path)
        except PolicyError as error:
            problems.extend(error.problems)
    thresholds = {grade_name: values.get(key) for grade_name, key in _THRESHOLD_KEYS.items()}
    if None not in thresholds.values() and not thresholds["优秀"] >= thresholds["良好"] >= thresholds["合格"]:
        problems.append((parameters[_THRESHOLD_KEYS["优秀"]].source,
                         tr("分数线应满足 优秀 ≥ 良好 ≥ 合格", "thresholds must satisfy 优秀 ≥ 良好 ≥ 合格")))
    if problems:
        raise PolicyError(problems)
    return GradingPolicy(
        weights={severity: values[key] for severity, key in _WEIGHT_KEYS.items()},
        points_per_weight=values[_POINTS_KEY],
        thresholds=thresholds,
        references=references,
    )


def _value_in_force(parameter: Parameter | None, key: str, year: int | None, path: Path) -> tuple[float, str]:
    """(value, reference) in force for `year` (latest `from` not after it); PolicyError if there is none."""
    if parameter is None:
        raise PolicyError([(Location(str(path)), tr(f"缺少参数 {key}", f"parameter {key} is missing"))])
    if parameter.type not in ("num", "int"):
        raise PolicyError([(parameter.source, tr(f"参数 {key} 的 type 应为 num", f"parameter {key} must be of type num"))])
    negative = next((entry.value for entry in parameter.values if entry.value < 0), None)
    if negative is not None:
        raise PolicyError([(parameter.source, tr(f"参数 {key} 的值应为非负数，实为 {negative}",
                                                 f"parameter {key}: a value must not be negative ({negative})"))])
    in_force = [entry for entry in parameter.values if year is None or entry.from_year <= year]
    if not in_force:
        raise PolicyError([(parameter.source, tr(f"参数 {key} 在 {year} 年没有可用的值",
                                                 f"parameter {key} has no value in {year}"))])
    return float(in_force[-1].value), in_force[-1].reference
