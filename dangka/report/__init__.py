"""What the HTML and workbook reports share: Chinese names, masking of a findings document, summaries by region."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

from dangka.categories import CATEGORIES, SEVERITY_NAMES
from dangka.mask import json_may_show_numbers, mask_field, mask_value, personal_kind

# high, medium, low: the order reports list severities in.
SEVERITIES = tuple(SEVERITY_NAMES)

UNNAMED_REGION = "（未注明）"


def category_name(category: str) -> str:
    """The Chinese name of a category; an unknown one is shown as it is rather than hidden."""
    return CATEGORIES.get(category, category)


# The errors list holds dossiers that could not be read and households the engine failed on:
# neither was checked, so the reports list them together and name each one's category.
ERRORS_TITLE = "未能核查的档案"
ERRORS_HEAD = ["文件", "行", "类别", "说明"]


def error_rows(report: dict) -> list[list[object]]:
    """The report's errors as rows under ERRORS_HEAD."""
    return [[error.get("source", ""), error.get("line"), category_name(error.get("category", "")), error.get("message", "")]
            for error in report.get("errors", [])]


def severity_name(severity: str) -> str:
    return SEVERITY_NAMES.get(severity, severity)


def masked_report(report: dict) -> dict:
    """A copy of a findings document with every identity and phone number masked.

    Evidence is masked by the field it comes from, so that an ill-formed identity number (which
    the free-text patterns would not recognise) is hidden too.
    """
    # The knowledge block (rule counts, policy files, the digest) holds no personal data, and a
    # digest's hex digits can look like a phone number.
    return {key: [masked_household(household) for household in value] if key == "households"
            else value if key == "knowledge" else mask_value(value)
            for key, value in report.items()}


def masked_household(household: dict) -> dict:
    """The household with every identity and phone number masked, its findings last (masked_layout).

    Most households hold no personal number at all; they are only laid out, not walked value by value.
    """
    try:
        # Anything but plain JSON values (a date, a str or int subclass) is refused, and walked.
        json_utf8 = orjson.dumps(household, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
                                 | orjson.OPT_PASSTHROUGH_DATACLASS)
    except orjson.JSONEncodeError:
        return walked_household(household)
    return walked_household(household) if needs_masking(household, json_utf8) else masked_layout(household)


def needs_masking(household: dict, json_utf8: bytes) -> bool:
    """False only when masking would leave every value of the household as it is.

    `json_utf8` is the household's JSON in UTF-8 (any layout or indent, ensure_ascii=False).
    """
    return json_may_show_numbers(json_utf8) or any(
        personal_kind(str(item.get("path", "")), item.get("value")) is not None
        for finding in household.get("findings", [])
        for item in finding.get("evidence", [])
    )


def masked_layout(household: dict) -> dict:
    """The household laid out as masked_household gives it, nothing masked: findings last, evidence last in each.

    Shallow: values are shared with `household`.
    """
    copy = {key: value for key, value in household.items() if key != "findings"}
    copy["findings"] = [_finding_layout(finding) for finding in household.get("findings", [])]
    return copy


def _finding_layout(finding: dict) -> dict:
    copy = {key: value for key, value in finding.items() if key != "evidence"}
    copy["evidence"] = [item if "value" in item else {**item, "value": None} for item in finding.get("evidence", [])]
    return copy


def walked_household(household: dict) -> dict:
    """The household masked value by value (what masked_household gives when masking is needed)."""
    copy = mask_value({key: value for key, value in household.items() if key != "findings"})
    copy["findings"] = [_masked_finding(finding) for finding in household.get("findings", [])]
    return copy


def _masked_finding(finding: dict) -> dict:
    copy = mask_value({key: value for key, value in finding.items() if key != "evidence"})
    copy["evidence"] = [
        {**mask_value(item), "value": mask_field(str(item.get("path", "")), item.get("value"))}
        for item in finding.get("evidence", [])
    ]
    return copy


def region_names(household: dict) -> tuple[str, str, str]:
    """(county, township, village) of a household, with a placeholder for a missing name."""
    region = household.get("region") or {}
    return tuple(str(region.get(level) or UNNAMED_REGION) for level in ("county", "township", "village"))


def format_value(value: object) -> str:
    """An evidence value as a reviewer reads it: 是/否 for booleans, 空 for nothing, JSON for structures."""
    if value is None:
        return "空"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def evidence_text(finding: dict) -> str:
    """All evidence of a finding on one line: path = value; path = value."""
    return "；".join(
        f"{item.get('path', '')} = {format_value(item.get('value'))}" for item in finding.get("evidence", [])
    )


def findings_of(report: dict) -> Iterator[tuple[dict, dict]]:
    """Every (household, finding) pair in report order."""
    for household in report.get("households", []):
        for finding in household.get("findings", []):
            yield household, finding


@dataclass
class RegionSummary:
    """Counts for one county, township or village."""

    county: str
    township: str = ""
    village: str = ""
    households: int = 0
    with_findings: int = 0
    findings: int = 0
    by_severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    by_category: dict[str, int] = field(default_factory=dict)

    def add(self, household: dict) -> None:
        findings = household.get("findings", [])
        self.households += 1
        self.with_findings += bool(findings)
        self.findings += len(findings)
        for finding in findings:
            severity = finding.get("severity", "")
            self.by_severity[severity] = self.by_severity.get(severity, 0) + 1
            category = finding.get("category", "")
            self.by_category[category] = self.by_category.get(category, 0) + 1


def summarize(report: dict, level: str) -> list[RegionSummary]:
    """Counts by "county", "township" or "village", in the order the regions first appear."""
    depth = {"county": 1, "township": 2, "village": 3}[level]
    summaries: dict[tuple[str, ...], RegionSummary] = {}
    for household in report.get("households", []):
        key = region_names(household)[:depth]
        if key not in summaries:
            summaries[key] = RegionSummary(*key)
        summaries[key].add(household)
    return list(summaries.values())


REGION_LEVELS = ("county", "township", "village")
REGION_LEVEL_NAMES = {"county": "县", "township": "乡镇", "village": "村"}


def summary_table(report: dict, level: str, categories: list[str]) -> tuple[list[str], list[list[object]]]:
    """(header, rows) of the summary by county, township or village: region names first, then counts."""
    region_levels = REGION_LEVELS[: REGION_LEVELS.index(level) + 1]
    head = [REGION_LEVEL_NAMES[name] for name in region_levels] + ["户数", "有问题户数", "问题数"]
    head += [f"{severity_name(severity)}严重度" for severity in SEVERITIES]
    head += [category_name(category) for category in categories]
    rows = []
    for summary in summarize(report, level):
        cells: list[object] = [getattr(summary, name) for name in region_levels]
        cells += [summary.households, summary.with_findings, summary.findings]
        cells += [summary.by_severity.get(severity, 0) for severity in SEVERITIES]
        cells += [summary.by_category.get(category, 0) for category in categories]
        rows.append(cells)
    return head, rows


def ranking_table(grades: dict, level: str) -> tuple[list[str], list[list[object]]]:
    """(header, rows) of the 评比 ranking of "counties" or "townships" from dangka.report.grade.grade."""
    with_county = level == "townships"
    head = ["名次", *(["县", "乡镇"] if with_county else ["县"]), "户数", "有问题户数"]
    head += [severity_name(severity) for severity in SEVERITIES] + ["得分", "等次"]
    rows = []
    for unit in grades.get(level) or []:
        cells: list[object] = [
            unit.get("rank", ""),
            *([unit.get("county", "")] if with_county else []),
            unit.get("name", ""),
        ]
        cells += [unit.get("households", 0), unit.get("with_findings", "")]
        cells += [unit.get("findings_by_severity", {}).get(severity, 0) for severity in SEVERITIES]
        cells += [unit.get("score", ""), unit.get("grade", "")]
        rows.append(cells)
    return head, rows


def categories_present(report: dict) -> list[str]:
    """The categories that occur in the report, in the fixed order of CATEGORIES, unknown ones last."""
    present = {finding.get("category", "") for _, finding in findings_of(report)}
    known = [category for category in CATEGORIES if category in present]
    return known + sorted(present - set(CATEGORIES))
