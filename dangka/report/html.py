"""The HTML report: one self-contained page with summaries, a chart, a ranking, and each household's findings."""

from __future__ import annotations

import base64
import hashlib
from html import escape
from importlib.resources import files

from dangka.report import (
    ERRORS_HEAD,
    ERRORS_TITLE,
    REGION_LEVEL_NAMES,
    REGION_LEVELS,
    SEVERITIES,
    categories_present,
    category_name,
    error_rows,
    findings_of,
    format_value,
    masked_report,
    ranking_table,
    region_names,
    severity_name,
    summary_table,
)

_ASSETS = files("dangka.report") / "assets"


def render_html(report: dict, *, mask: bool = True, grades: dict | None = None) -> str:
    """The whole report as one HTML page that needs no network (inline CSS, JS and SVG)."""
    if mask:
        report = masked_report(report)
    style = _ASSETS.joinpath("report.css").read_text(encoding="utf-8")
    script = _ASSETS.joinpath("report.js").read_text(encoding="utf-8")
    body = "".join(
        [
            _overview(report, ranked=bool(grades)),
            _summary_section(report),
            _ranking_section(grades) if grades else "",
            _households_section(report),
            _errors_section(report),
        ]
    )
    # Only this page's own style and script may run: even if a name in the data slipped
    # through escaping, the browser would refuse to execute it.
    policy = f"default-src 'none'; style-src '{_digest(style)}'; script-src '{_digest(script)}'"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        "<title>档卡核查报告</title>\n"
        f"<style>{style}</style>\n</head>\n<body>\n{body}<script>{script}</script>\n</body>\n</html>\n"
    )


def _digest(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _overview(report: dict, ranked: bool) -> str:
    households = report.get("households", [])
    with_findings = sum(1 for household in households if household.get("findings"))
    findings = sum(1 for _ in findings_of(report))
    errors = len(report.get("errors", []))
    knowledge = report.get("knowledge") or {}
    knowledge_line = ""
    if knowledge:
        digest = str(knowledge.get("digest", ""))[:12]
        knowledge_line = f'<p class="meta">规则 {_text(knowledge.get("rules", ""))} 条；知识库摘要 {_text(digest)}</p>'
    return (
        "<header>\n<h1>档卡核查报告</h1>\n"
        f'<p class="lead">核查 <b>{len(households)}</b> 户，有问题 <b>{with_findings}</b> 户，'
        f"问题 <b>{findings}</b> 条；{ERRORS_TITLE} <b>{errors}</b> 份。</p>\n{knowledge_line}\n"
        '<nav><a href="#summary">汇总</a>'
        + ('<a href="#ranking">评比</a>' if ranked else "")
        + f'<a href="#households">各户问题</a><a href="#errors">{ERRORS_TITLE}</a></nav>\n</header>\n'
    )


def _summary_section(report: dict) -> str:
    categories = categories_present(report)
    parts = ['<section id="summary">\n<h2>汇总</h2>\n', _category_chart(report, categories)]
    for depth, level in enumerate(REGION_LEVELS, start=1):
        head, rows = summary_table(report, level, categories)
        parts.append(f"<h3>按{REGION_LEVEL_NAMES[level]}</h3>\n")
        parts.append(_table(head, rows, numeric_from=depth))
    parts.append("</section>\n")
    return "".join(parts)


def _table(head: list[str], rows: list[list[object]], numeric_from: int, label_class: str = "name") -> str:
    """A table in a scrolling box; cells from `numeric_from` on are counts, right-aligned."""
    header = "".join(f'<th scope="col">{_text(cell)}</th>' for cell in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_text(cell)}</td>'
            if index >= numeric_from
            else f'<td class="{label_class}">{_text(cell)}</td>'
            for index, cell in enumerate(row)
        )
        + "</tr>\n"
        for row in rows
    )
    return f'<div class="scroll"><table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{body}</tbody>\n</table></div>\n'


def _category_chart(report: dict, categories: list[str]) -> str:
    """Horizontal bars, one per category, split by severity: an inline SVG that scales with the page."""
    if not categories:
        return '<p class="empty">没有发现问题。</p>\n'
    counts = {category: dict.fromkeys(SEVERITIES, 0) for category in categories}
    for _, finding in findings_of(report):
        severity = finding.get("severity")
        if severity in SEVERITIES:
            counts[finding.get("category", "")][severity] += 1
    largest = max(sum(by_severity.values()) for by_severity in counts.values()) or 1
    label_width, bar_width, row_height = 190, 360, 26
    height = row_height * len(categories) + 34
    bars = []
    for row, category in enumerate(categories):
        y = 30 + row * row_height
        bars.append(f'<text class="label" x="{label_width - 8}" y="{y + 14}">{_text(category_name(category))}</text>')
        x = float(label_width)
        for severity in SEVERITIES:
            count = counts[category][severity]
            if count:
                width = bar_width * count / largest
                bars.append(
                    f'<rect class="sev-{severity}" x="{x:.1f}" y="{y}" width="{width:.1f}" height="18">'
                    f"<title>{_text(category_name(category))}：{severity_name(severity)} {count} 条</title></rect>"
                )
                x += width
        bars.append(f'<text class="count" x="{x + 6:.1f}" y="{y + 14}">{sum(counts[category].values())}</text>')
    legend = "".join(
        f'<rect class="sev-{severity}" x="{label_width + index * 70}" y="4" width="14" height="14"></rect>'
        f'<text class="legend" x="{label_width + index * 70 + 18}" y="16">{severity_name(severity)}</text>'
        for index, severity in enumerate(SEVERITIES)
    )
    return (
        f'<figure class="chart"><svg viewBox="0 0 {label_width + bar_width + 50} {height}" role="img" '
        f'aria-label="各类问题数（按严重程度）">{legend}{"".join(bars)}</svg>'
        "<figcaption>各类问题数，按严重程度分段</figcaption></figure>\n"
    )


def _ranking_section(grades: dict) -> str:
    parts = ['<section id="ranking">\n<h2>评比排名</h2>\n']
    for level, title in (("counties", "县"), ("townships", "乡镇")):
        head, rows = ranking_table(grades, level)
        score_column = head.index("得分")
        rows = [[*row[:score_column], _number(row[score_column]), *row[score_column + 1 :]] for row in rows]
        parts.append(f"<h3>{title}</h3>\n")
        parts.append(_table(head, rows, numeric_from=head.index("户数")))
    parts.append(_grading_method(grades.get("policy")))
    parts.append("</section>\n")
    return "".join(parts)


def _grading_method(policy: dict | None) -> str:
    if not policy:
        return ""
    weights = policy.get("weights", {})
    thresholds = policy.get("thresholds", {})
    weight_text = "、".join(
        f"{severity_name(severity)} {_text(_number(weights.get(severity, 0)))}" for severity in SEVERITIES
    )
    threshold_text = "，".join(f"{_text(name)} ≥ {_text(_number(value))}" for name, value in thresholds.items())
    references = "".join(
        f"<li>{_text(key)}：{_text(reference)}</li>" for key, reference in policy.get("references", {}).items()
    )
    points = _text(_number(policy.get("points_per_weight", 0)))
    return (
        f'<p class="note">计分办法：得分 = 100 − {points} × 加权问题数 ÷ 户数'
        f"（最低 0 分）；权重 {weight_text}；{threshold_text}，其余为不合格。</p>\n"
        f'<details class="note"><summary>计分依据</summary><ul>{references}</ul></details>\n'
    )


def _number(value: object) -> str:
    """70.0 → 70, 53.3 → 53.3: scores and weights without a needless decimal point."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _households_section(report: dict) -> str:
    households = report.get("households", [])
    villages = sorted({region_names(household) for household in households})
    village_ids = {village: f"v{index}" for index, village in enumerate(villages)}
    parts = ['<section id="households">\n<h2>各户问题</h2>\n', _filters(report, villages)]
    for index, household in enumerate(households):
        parts.append(_household(household, index, village_ids[region_names(household)]))
    parts.append('<p id="nothing-shown" class="empty" hidden>没有符合条件的户。</p>\n</section>\n')
    return "".join(parts)


def _filters(report: dict, villages: list[tuple[str, str, str]]) -> str:
    categories = "".join(
        f'<option value="{_text(category)}">{_text(category_name(category))}</option>'
        for category in categories_present(report)
    )
    severities = "".join(f'<option value="{severity}">{severity_name(severity)}</option>' for severity in SEVERITIES)
    village_options = "".join(
        f'<option value="v{index}">{_text(" ".join(names))}</option>' for index, names in enumerate(villages)
    )
    return (
        '<div class="filters" role="search">\n'
        '<input type="search" id="search" placeholder="搜索户编号、户主、问题、措施…" aria-label="搜索">\n'
        f'<select id="filter-category" aria-label="问题类别"><option value="">全部类别</option>{categories}</select>\n'
        f'<select id="filter-severity" aria-label="严重程度">'
        f'<option value="">全部严重程度</option>{severities}</select>\n'
        f'<select id="filter-village" aria-label="村"><option value="">全部村</option>{village_options}</select>\n'
        '<label class="check"><input type="checkbox" id="filter-with-findings"> 只看有问题的户</label>\n'
        '<output id="shown-count" aria-live="polite"></output>\n'
        "</div>\n"
    )


def _household(household: dict, index: int, village_id: str) -> str:
    findings = household.get("findings", [])
    county, township, village = region_names(household)
    head = household.get("head")
    title = _text(household.get("id", "")) + (f" · 户主 {_text(head)}" if head else "")
    status = f"{len(findings)} 条问题" if findings else "未发现问题"
    finding_items = "".join(_finding(finding) for finding in findings)
    return (
        f'<article class="household{" clean" if not findings else ""}" id="household-{index}" '
        f'data-village="{village_id}" data-findings="{len(findings)}">\n'
        f"<h3>{title}</h3>\n"
        f'<p class="meta">{_text(county)} {_text(township)} {_text(village)} · {status} · '
        f'档案 <span class="source">{_text(household.get("source", ""))}</span></p>\n'
        + (f'<ol class="findings">\n{finding_items}</ol>\n' if findings else "")
        + _recommendations(household.get("recommendations", []))
        + "</article>\n"
    )


def _finding(finding: dict) -> str:
    severity = str(finding.get("severity", ""))
    category = str(finding.get("category", ""))
    evidence = "".join(
        f"<tr><th>{_text(item.get('path', ''))}</th><td>{_text(format_value(item.get('value')))}</td></tr>"
        for item in finding.get("evidence", [])
    )
    recommend = "、".join(_text(measure) for measure in finding.get("recommend", []))
    return (
        f'<li class="finding" data-category="{_text(category)}" data-severity="{_text(severity)}">\n'
        f'<p class="finding-title"><span class="badge sev-{_text(severity)}">{_text(severity_name(severity))}</span> '
        f'<span class="category">{_text(category_name(category))}</span> <b>{_text(finding.get("title", ""))}</b></p>\n'
        f"<p>{_text(finding.get('message', ''))}</p>\n"
        + (f'<table class="evidence"><caption>证据</caption>{evidence}</table>\n' if evidence else "")
        + f'<p class="basis">依据：{_text(finding.get("basis", ""))}</p>\n'
        f'<p class="rule">规则：{_text(finding.get("rule", ""))}（{_text(finding.get("source", ""))}）</p>\n'
        + (f'<p class="recommend">建议措施：{recommend}</p>\n' if recommend else "")
        + "</li>\n"
    )


def _recommendations(recommendations: list[dict]) -> str:
    if not recommendations:
        return ""
    items = "".join(
        f"<li><b>{_text(item.get('measure', ''))}</b>：{_text(item.get('because', ''))}</li>"
        for item in recommendations
    )
    return f'<div class="recommendations"><h4>建议帮扶措施</h4><ul>{items}</ul></div>\n'


def _errors_section(report: dict) -> str:
    rows = [[source, line or "", category, message] for source, line, category, message in error_rows(report)]
    if not rows:
        return f'<section id="errors">\n<h2>{ERRORS_TITLE}</h2>\n<p class="empty">无。</p>\n</section>\n'
    return (
        f'<section id="errors">\n<h2>{ERRORS_TITLE}</h2>\n'
        + _table(ERRORS_HEAD, rows, numeric_from=len(ERRORS_HEAD), label_class="text")
        + "</section>\n"
    )
