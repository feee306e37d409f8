"""The findings document as text for people: by village and household, with colour on a terminal."""

from __future__ import annotations

import os
from itertools import groupby

from dangka.categories import CATEGORIES, ENGINE_FAILED, SEVERITY_NAMES
from dangka.i18n import tr
from dangka.output import terminal_safe
from dangka.report import ERRORS_TITLE, error_rows

_COLOURS = {"high": "\033[31m", "medium": "\033[33m", "low": "\033[36m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"


def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


class Paint:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, style: str, text: str) -> str:
        return f"{_COLOURS[style]}{text}{_RESET}" if self.enabled else text


def village_key(entry: dict) -> tuple[str, str, str]:
    region = entry.get("region") or {}
    return tuple(str(region.get(level) or "（未注明）") for level in ("county", "township", "village"))


def render_text(document: dict, colour: bool = False) -> str:
    paint = Paint(colour)
    lines: list[str] = []
    entries = sorted(document["households"], key=village_key)
    for village, members in groupby(entries, key=village_key):
        lines.append(paint("bold", "■ " + " ".join(village)))
        for entry in members:
            lines.extend(household_lines(entry, paint))
        lines.append("")
    if document["errors"]:
        lines.append(paint("bold", tr(f"■ {ERRORS_TITLE}", "■ Dossiers not checked")))
        for source, line, category, message in error_rows(document):
            where = source + (f":{line}" if line else "")
            lines.append(f"  {paint('high', '✗')} {where}：[{category}] {message}")
        lines.append("")
    lines.append(_summary(document, paint))
    return terminal_safe("\n".join(lines) + "\n")


def household_lines(entry: dict, paint: Paint) -> list[str]:
    head = f"（户主 {entry['head']}）" if entry.get("head") else ""
    findings = entry["findings"]
    if not findings:
        return [f"  ✓ {entry['id']}{head} " + paint("dim", tr("未发现问题", "no findings"))]
    lines = [f"  {paint('bold', entry['id'])}{head} " + tr(f"{len(findings)} 个问题", f"{len(findings)} findings")]
    for finding in findings:
        severity = finding["severity"]
        mark = paint(severity, f"[{SEVERITY_NAMES.get(severity, severity)}]")
        lines.append(f"    {mark} {finding['title']}  ({CATEGORIES.get(finding['category'], finding['category'])})")
        lines.append(f"        {finding['message']}")
        evidence = "；".join(f"{item['path']} = {evidence_value(item['value'])}" for item in finding["evidence"][:8])
        if len(finding["evidence"]) > 8:
            evidence += tr(f"；等 {len(finding['evidence'])} 项", f"; {len(finding['evidence'])} in all")
        lines.append(paint("dim", f"        {tr('依据事实', 'evidence')}：{evidence}"))
        lines.append(paint("dim", f"        {tr('政策依据', 'basis')}：{finding['basis']}    {tr('规则', 'rule')}：{finding['rule']} @ {finding['source']}"))
        if finding.get("recommend"):
            lines.append(f"        {tr('建议措施', 'suggested measures')}：{'、'.join(finding['recommend'])}")
    if entry.get("recommendations"):
        names = "、".join(item["measure"] for item in entry["recommendations"])
        lines.append(f"    {tr('适合本户的措施', 'measures that fit')}：{names}")
    return lines


def evidence_value(value: object) -> str:
    """A value of the evidence (JSON) as a reviewer reads it: 是/否, （空）, a list joined with 、."""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if value is None:
        return "（空）"
    if isinstance(value, list):
        return "、".join(evidence_value(item) for item in value)
    return str(value)


def _summary(document: dict, paint: Paint) -> str:
    summary = document["summary"]
    parts = [tr(f"共核查 {summary['households']} 户，{summary['with_findings']} 户有问题",
                f"{summary['households']} households checked, {summary['with_findings']} with findings")]
    failed = summary["by_category"].get(ENGINE_FAILED, 0)
    unreadable = summary.get("errors", 0) - failed
    if unreadable:
        parts.append(tr(f"{unreadable} 份档案无法读取", f"{unreadable} unreadable"))
    if failed:
        parts.append(tr(f"{failed} 户核查出错", f"{failed} failed in the engine"))
    line = paint("bold", "；".join(parts))
    counts = [f"{CATEGORIES.get(category, category)} {count}" for category, count in summary["by_category"].items()]
    if counts:
        line += "\n" + tr("按类别：", "by category: ") + "，".join(counts)
    return line
