"""Pictures of the responsibility graph for reviewers: one layout, drawn as SVG, PNG or HTML."""

from __future__ import annotations

import html
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dangka.engine.graph import ResponsibilityGraph, card_disagrees
from dangka.errors import UsageError
from dangka.i18n import tr
from dangka.mask import mask_phone
from dangka.output import output_target

# SVG text is drawn by the viewer: name the common CJK fonts of every platform before the fallback.
FONT_FAMILY = ("'Noto Sans SC', 'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', "
               "'Microsoft YaHei', 'WenQuanYi Micro Hei', 'SimHei', sans-serif")
FORMATS = (".svg", ".png", ".html", ".htm")

INK = "#1f2933"
MUTED = "#52606d"
ALERT = "#c62828"
ALERT_FILL = "#fdecea"
WARN = "#e08a00"
WARN_FILL = "#fff4e0"
HELPER_FILL = "#e8f1fb"
HELPER_STROKE = "#2f6eb5"
HOUSEHOLD_FILL = "#ffffff"
HOUSEHOLD_STROKE = "#7b8794"
PANEL_FILL = "#f5f7fa"
PANEL_STROKE = "#cbd2d9"
LINK = "#6b8fb8"

MARGIN = 24
PAD = 8
BOX_HEIGHT = 22
ROW = 28
COLUMN_GAP = 220
TEXT_SIZE = 13
MARK_RADIUS = 7


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    fill: str
    stroke: str
    stroke_width: float = 1.0
    dashed: bool = False
    tooltip: str = ""


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: int = TEXT_SIZE
    colour: str = INK
    bold: bool = False


@dataclass(frozen=True)
class Curve:
    """A helper → household link: a cubic curve leaving and entering horizontally."""

    start: tuple[float, float]
    end: tuple[float, float]
    colour: str = LINK
    width: float = 1.2
    dashed: bool = False

    def points(self, steps: int = 32) -> list[tuple[float, float]]:
        (x0, y0), (x3, y3) = self.start, self.end
        bend = (x3 - x0) / 2
        controls = ((x0, y0), (x0 + bend, y0), (x3 - bend, y3), (x3, y3))
        return [_bezier(controls, step / steps) for step in range(steps + 1)]


@dataclass(frozen=True)
class Mark:
    """A round "!" badge: it stands out by shape as well as by colour."""

    x: float
    y: float
    colour: str


@dataclass
class Picture:
    width: float
    height: float
    title: str
    # Drawn in this order: panels and legend, then links, then boxes and text on top.
    background: list = field(default_factory=list)
    links: list = field(default_factory=list)
    shapes: list = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)


def text_width(text: str, size: int = TEXT_SIZE) -> float:
    """Width estimate: CJK characters are one em wide, others a little over half."""
    return sum(size if unicodedata.east_asian_width(char) in "WF" else size * 0.58 for char in text)


# ---- what to show -----------------------------------------------------------------------------


def select_villages(graph: ResponsibilityGraph, village: str | None = None, township: str | None = None) -> list[str]:
    """Village keys to draw: those with households, or those the filter names (by name or full key)."""
    keys = graph.village_keys()
    if village is None and township is None:
        chosen = [key for key in keys if graph.village_households(key)]
        if not chosen:
            raise UsageError(tr("所给数据中没有可以画出的户（户需填写完整的县、乡镇、村）",
                                "no household in the data to draw (each needs county, township and village)"))
        return chosen
    if village is not None:
        chosen = [key for key in keys if village in (key, key.split("/")[2])]
        if not chosen:
            raise UsageError(tr(f"没有找到村“{village}”：数据和帮扶责任体系中都没有这个村",
                                f"no village named {village!r} in the data or the registry"))
        return chosen
    chosen = [key for key in keys if township in ("/".join(key.split("/")[:2]), key.split("/")[1])]
    if not chosen:
        raise UsageError(tr(f"没有找到乡镇“{township}”：数据和帮扶责任体系中都没有这个乡镇",
                            f"no township named {township!r} in the data or the registry"))
    return chosen


# ---- layout -----------------------------------------------------------------------------------


@dataclass
class _Household:
    id: str
    label: str
    helpers: tuple[str, ...]
    flags: list[tuple[str, str]]  # (text, colour) of each problem


@dataclass
class _Helper:
    id: str
    name: str
    label: str
    group: str
    group_label: str
    registered: bool
    overloaded: bool
    tooltip: str
    rank: float = 0.0


def lay_out(graph: ResponsibilityGraph, village_keys: list[str], overloads: dict[str, tuple[int, int]],
            *, mask: bool = True) -> Picture:
    """Households grouped under their village (right), helpers under their unit (left), links between."""
    villages = {key: [_household_view(graph, household_id) for household_id in graph.village_households(key)]
                for key in village_keys}
    helpers = _helper_views(graph, villages, overloads, mask)
    picture = Picture(0, 0, _title(village_keys))
    picture.problems = _problems(graph, villages, helpers, overloads)
    top = _draw_heading(picture, villages, helpers)
    left_width = max([text_width(helper.label) + 2 * PAD + 2 * MARK_RADIUS + 4 for helper in helpers.values()]
                     + [text_width(helper.group_label) for helper in helpers.values()] + [160])
    right_x = MARGIN + left_width + COLUMN_GAP
    anchors: dict[str, tuple[float, float]] = {}
    left_bottom = _draw_helpers(picture, helpers, anchors, top, left_width)
    right_bottom = _draw_villages(picture, graph, villages, helpers, anchors, top, right_x)
    picture.width = max(picture.width, right_x + _villages_width(graph, villages) + MARGIN)
    picture.height = max(left_bottom, right_bottom) + MARGIN
    return picture


def _title(village_keys: list[str]) -> str:
    """The place the picture covers: the village, else the township or county all villages share."""
    if len(village_keys) == 1:
        return "帮扶责任关系图 — " + " ".join(village_keys[0].split("/"))
    shared = []
    for names in zip(*(key.split("/")[:2] for key in village_keys), strict=True):
        if len(set(names)) > 1:
            break
        shared.append(names[0])
    return "帮扶责任关系图 — " + " ".join([*shared, f"{len(village_keys)} 个村"])


def _household_view(graph: ResponsibilityGraph, household_id: str) -> _Household:
    data = graph.household(household_id)
    links = graph.household_links(household_id)
    flags = []
    if not links["helpers"]:
        flags.append(("无帮扶责任人", ALERT))
    if any(not helper["registered"] for helper in links["helpers"]):
        flags.append(("帮扶责任人未登记", WARN))
    if card_disagrees(links["card"]):
        flags.append(("明白卡与登记不符", WARN))
    label = " ".join(part for part in (household_id, data["head"]) if part)
    if flags:
        label += " · " + "，".join(text for text, _ in flags)
    return _Household(household_id, label, data["helpers"], flags)


def _helper_views(graph: ResponsibilityGraph, villages: dict[str, list[_Household]],
                  overloads: dict[str, tuple[int, int]], mask: bool) -> dict[str, _Helper]:
    """The helpers linked to the shown households, ranked so that links cross as little as possible."""
    positions: dict[str, list[int]] = {}
    for index, households in enumerate(villages.values()):
        for household in households:
            for helper_id in household.helpers:
                positions.setdefault(helper_id, []).append(index)
    helpers = {helper_id: _helper_view(graph, helper_id, overloads, mask) for helper_id in positions}
    for helper_id, helper in helpers.items():
        helper.rank = sum(positions[helper_id]) / len(positions[helper_id])
    group_rank = {}
    for helper in helpers.values():
        group_rank[helper.group] = min(group_rank.get(helper.group, math.inf), helper.rank)
    ordered = sorted(helpers.values(), key=lambda h: (not h.registered, group_rank[h.group], h.group, h.rank, h.id))
    return {helper.id: helper for helper in ordered}


def _helper_view(graph: ResponsibilityGraph, helper_id: str, overloads: dict[str, tuple[int, int]],
                 mask: bool) -> _Helper:
    helper = graph.helper(helper_id)
    if not helper["registered"]:
        return _Helper(helper_id, helper_id, f"{helper_id} · 未登记", "", "未登记的帮扶责任人", False, False,
                       f"{helper_id}：未在帮扶责任体系中登记")
    load = graph.helper_load(helper_id)
    label = " · ".join(part for part in (helper["name"] or helper_id, helper["position"], f"帮扶 {load} 户") if part)
    overloaded = helper_id in overloads
    if overloaded:
        year_load, limit = overloads[helper_id]
        label += f" · 超载 {year_load}/{limit}"
    unit = helper["unit_name"] or helper["unit"] or "（未填单位）"
    group_label = " · ".join(part for part in (unit, helper["unit_level"]) if part)
    phone = (mask_phone(helper["phone"]) if mask else helper["phone"]) if helper["phone"] else "无"
    tooltip = "，".join(part for part in (f"{helper['name']}（{helper_id}）", unit, helper["position"],
                                         f"电话 {phone}", f"本次数据帮扶 {load} 户") if part)
    return _Helper(helper_id, helper["name"] or helper_id, label, helper["unit"] or "", group_label, True,
                   overloaded, tooltip)


def _problems(graph, villages, helpers, overloads) -> dict[str, list[str]]:
    """The lists under the HTML picture: what a reviewer must follow up."""
    problems: dict[str, list[str]] = {"超过帮扶户数上限的帮扶责任人": [], "无帮扶责任人的户": [],
                                      "未登记的帮扶责任人": [], "明白卡与登记不符的户": [], "村级责任人缺失": []}
    for helper_id, (load, limit) in overloads.items():
        if helper_id in helpers:
            helper = helpers[helper_id]
            problems["超过帮扶户数上限的帮扶责任人"].append(
                f"{helper.name}（{helper.group_label}）：帮扶 {load} 户，上限 {limit} 户")
    for helper in helpers.values():
        if not helper.registered:
            problems["未登记的帮扶责任人"].append(helper.id)
    for key, households in villages.items():
        place = " ".join(key.split("/"))
        for household in households:
            flags = {text for text, _ in household.flags}
            if "无帮扶责任人" in flags:
                problems["无帮扶责任人的户"].append(f"{place} {household.id}")
            if "明白卡与登记不符" in flags:
                problems["明白卡与登记不符的户"].append(f"{place} {household.id}")
        problems["村级责任人缺失"].extend(f"{place}：{text}" for text in _village_gaps(graph.village(key)))
    return {title: items for title, items in problems.items() if items}


def _village_gaps(village: dict) -> list[str]:
    if not village["registered"]:
        return ["村未在帮扶责任体系中登记"]
    gaps = []
    if not village["first_secretary_name"]:
        gaps.append("未登记驻村第一书记")
    if not village["group_leader_name"]:
        gaps.append("未登记脱贫责任组组长")
    return gaps


# ---- drawing the layout -------------------------------------------------------------------------


def _draw_heading(picture: Picture, villages: dict[str, list[_Household]], helpers: dict[str, _Helper]) -> float:
    """Title, counts and legend; returns where the graph itself starts."""
    households = sum(len(items) for items in villages.values())
    summary = (f"{len(villages)} 个村 · {households} 户 · {len(helpers)} 名帮扶责任人 · "
               f"无帮扶责任人 {len(picture.problems.get('无帮扶责任人的户', []))} 户 · "
               f"超载 {len(picture.problems.get('超过帮扶户数上限的帮扶责任人', []))} 人")
    picture.shapes.append(Text(MARGIN, MARGIN + 20, picture.title, size=20, bold=True))
    picture.shapes.append(Text(MARGIN, MARGIN + 44, summary, size=TEXT_SIZE, colour=MUTED))
    bottom = _draw_legend(picture, MARGIN, MARGIN + 60)
    picture.width = max(picture.width, MARGIN + text_width(picture.title, 20) + MARGIN,
                        MARGIN + text_width(summary) + MARGIN)
    return bottom + 20


def _legend_items() -> list[tuple[list, str]]:
    """(sample shapes at the origin, label) for each sign the picture uses."""
    def box(fill, stroke, width=1.0, dashed=False):
        return Box(0, 0, 30, 16, fill, stroke, width, dashed)
    return [
        ([box(HELPER_FILL, HELPER_STROKE)], "帮扶责任人（按派出单位分组）"),
        ([box(ALERT_FILL, ALERT, 2.0), Mark(22, 8, ALERT)], "超过帮扶户数上限"),
        ([box(WARN_FILL, WARN, 1.0, True)], "帮扶责任人未登记"),
        ([box(HOUSEHOLD_FILL, HOUSEHOLD_STROKE)], "贫困户（按村分组）"),
        ([box(ALERT_FILL, ALERT, 1.5), Mark(22, 8, ALERT)], "无帮扶责任人的户"),
        ([box(HOUSEHOLD_FILL, HOUSEHOLD_STROKE), Mark(22, 8, WARN)], "明白卡与登记不符"),
        ([Curve((0, 8), (30, 8))], "帮扶关系"),
        ([Curve((0, 8), (30, 8), ALERT, 2.0)], "超载的帮扶关系"),
        ([Text(0, 13, "未登记", size=12, colour=ALERT)], "村级责任人缺失"),
    ]


def _draw_legend(picture: Picture, x: float, y: float) -> float:
    items = _legend_items()
    widths = [38 + text_width(label, 12) + 18 for _, label in items]
    per_row = 3
    column_width = max(widths)
    rows = math.ceil(len(items) / per_row)
    width = per_row * column_width + 2 * PAD
    height = 28 + rows * 24
    picture.background.append(Box(x, y, width, height, "#ffffff", PANEL_STROKE))
    picture.shapes.append(Text(x + PAD, y + 18, "图例", size=13, bold=True))
    for index, (samples, label) in enumerate(items):
        left = x + PAD + (index % per_row) * column_width
        top = y + 26 + (index // per_row) * 24
        picture.shapes.extend(_moved(sample, left, top) for sample in samples)
        picture.shapes.append(Text(left + 38, top + 13, label, size=12))
    picture.width = max(picture.width, x + width + MARGIN)
    return y + height


def _moved(shape, dx: float, dy: float):
    if isinstance(shape, Curve):
        return Curve((shape.start[0] + dx, shape.start[1] + dy), (shape.end[0] + dx, shape.end[1] + dy),
                     shape.colour, shape.width, shape.dashed)
    return type(shape)(**{**shape.__dict__, "x": shape.x + dx, "y": shape.y + dy})


def _draw_helpers(picture: Picture, helpers: dict[str, _Helper], anchors: dict, top: float, width: float) -> float:
    y = top
    group = None
    for helper in helpers.values():
        if (helper.registered, helper.group) != group:
            group = (helper.registered, helper.group)
            y += 8
            colour = WARN if not helper.registered else MUTED
            picture.shapes.append(Text(MARGIN, y + 14, helper.group_label, colour=colour, bold=True))
            y += 22
        if helper.overloaded:
            fill, stroke, stroke_width = ALERT_FILL, ALERT, 2.0
        elif not helper.registered:
            fill, stroke, stroke_width = WARN_FILL, WARN, 1.0
        else:
            fill, stroke, stroke_width = HELPER_FILL, HELPER_STROKE, 1.0
        picture.shapes.append(Box(MARGIN, y, width, BOX_HEIGHT, fill, stroke, stroke_width,
                                  not helper.registered, helper.tooltip))
        picture.shapes.append(Text(MARGIN + PAD, y + 15, helper.label))
        if helper.overloaded:
            picture.shapes.append(Mark(MARGIN + width - MARK_RADIUS - 4, y + BOX_HEIGHT / 2, ALERT))
        anchors[helper.id] = (MARGIN + width, y + BOX_HEIGHT / 2)
        y += ROW
    return y


def _village_lines(graph: ResponsibilityGraph, key: str, many_counties: bool) -> list[list[tuple[str, str]]]:
    """The panel header: place, then the first secretary and group leader (missing ones in red)."""
    county, township, name = key.split("/")
    village = graph.village(key)
    place = " ".join((county, township, name) if many_counties else (township, name))
    if not village["registered"]:
        return [[(place, INK), ("（村未在帮扶责任体系中登记）", ALERT)]]
    secretary_unit = village["first_secretary_unit_name"] or village["first_secretary_unit"]
    secretary = (f"{village['first_secretary_name']}（{secretary_unit}）" if secretary_unit
                 else village["first_secretary_name"])
    leader = (f"{village['group_leader_name']}（{village['group_leader_position']}）"
              if village["group_leader_position"] else village["group_leader_name"])
    return [[(place, INK)],
            [("驻村第一书记 ", MUTED), (secretary or "未登记", INK if secretary else ALERT),
             ("  脱贫责任组组长 ", MUTED), (leader or "未登记", INK if leader else ALERT)]]


def _villages_width(graph: ResponsibilityGraph, villages: dict[str, list[_Household]]) -> float:
    many_counties = len({key.split("/")[0] for key in villages}) > 1
    widths = [text_width(household.label) + 2 * PAD + 2 * MARK_RADIUS + 8
              for households in villages.values() for household in households]
    for key in villages:
        widths.extend(sum(text_width(part) for part, _ in line) for line in _village_lines(graph, key, many_counties))
    return max(widths + [200]) + 2 * PAD


def _draw_villages(picture: Picture, graph: ResponsibilityGraph, villages: dict[str, list[_Household]],
                   helpers: dict[str, _Helper], anchors: dict, top: float, x: float) -> float:
    width = _villages_width(graph, villages)
    many_counties = len({key.split("/")[0] for key in villages}) > 1
    order = {helper_id: index for index, helper_id in enumerate(helpers)}
    y = top + 8
    for key, households in villages.items():
        lines = _village_lines(graph, key, many_counties)
        rows = max(len(households), 1)
        panel_height = 10 + 22 * len(lines) + rows * ROW + 4
        picture.background.append(Box(x, y, width, panel_height, PANEL_FILL, PANEL_STROKE))
        line_y = y + 20
        for number, line in enumerate(lines):
            _draw_spans(picture, x + PAD, line_y, line, bold=number == 0)
            line_y += 22
        row_y = line_y - 8
        if not households:
            picture.shapes.append(Text(x + PAD, row_y + 15, "本次数据中没有这个村的户", colour=MUTED))
        ranked = sorted(households, key=lambda h: (min((order[i] for i in h.helpers), default=-1), h.id))
        for household in ranked:
            _draw_household(picture, household, helpers, anchors, x + PAD, row_y, width - 2 * PAD)
            row_y += ROW
        y += panel_height + 14
    return y


def _draw_spans(picture: Picture, x: float, y: float, spans: Iterable[tuple[str, str]], bold: bool) -> None:
    for text, colour in spans:
        picture.shapes.append(Text(x, y, text, colour=colour, bold=bold))
        x += text_width(text)


def _draw_household(picture: Picture, household: _Household, helpers: dict[str, _Helper], anchors: dict,
                    x: float, y: float, width: float) -> None:
    no_helper = not household.helpers
    fill, stroke, stroke_width = (ALERT_FILL, ALERT, 1.5) if no_helper else (HOUSEHOLD_FILL, HOUSEHOLD_STROKE, 1.0)
    for helper_id in household.helpers:
        helper = helpers[helper_id]
        colour = ALERT if helper.overloaded else (WARN if not helper.registered else LINK)
        picture.links.append(Curve(anchors[helper_id], (x, y + BOX_HEIGHT / 2), colour,
                                       2.0 if helper.overloaded else 1.2, not helper.registered))
    picture.shapes.append(Box(x, y, width, BOX_HEIGHT, fill, stroke, stroke_width))
    picture.shapes.append(Text(x + PAD, y + 15, household.label))
    if household.flags:
        picture.shapes.append(Mark(x + width - MARK_RADIUS - 4, y + BOX_HEIGHT / 2, household.flags[0][1]))


def _bezier(controls, t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = controls
    u = 1 - t
    return (u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
            u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3)


def _layers(picture: Picture) -> list:
    return [*picture.background, *picture.links, *picture.shapes]


# ---- SVG ----------------------------------------------------------------------------------------


# Characters XML 1.0 cannot hold (control characters, U+FFFE, U+FFFF, lone surrogates): a name holding
# one would make the whole SVG file unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _markup(text: str) -> str:
    """Text for SVG and HTML: markup escaped, characters XML cannot hold shown as U+FFFD."""
    return html.escape(_NOT_XML.sub("\ufffd", text))


def render_svg(picture: Picture) -> str:
    width, height = math.ceil(picture.width), math.ceil(picture.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{_markup(FONT_FAMILY)}" font-size="{TEXT_SIZE}">',
        f"<title>{_markup(picture.title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    parts.extend(_svg_shape(shape) for shape in _layers(picture))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _svg_shape(shape) -> str:
    if isinstance(shape, Box):
        dash = ' stroke-dasharray="5 3"' if shape.dashed else ""
        rect = (f'<rect x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.width:.1f}" height="{shape.height:.1f}" '
                f'rx="4" fill="{shape.fill}" stroke="{shape.stroke}" stroke-width="{shape.stroke_width}"{dash}')
        return rect + (f"><title>{_markup(shape.tooltip)}</title></rect>" if shape.tooltip else "/>")
    if isinstance(shape, Text):
        weight = ' font-weight="bold"' if shape.bold else ""
        return (f'<text x="{shape.x:.1f}" y="{shape.y:.1f}" font-size="{shape.size}" fill="{shape.colour}"{weight}>'
                f"{_markup(shape.text)}</text>")
    if isinstance(shape, Curve):
        (x0, y0), (x3, y3) = shape.start, shape.end
        bend = (x3 - x0) / 2
        dash = ' stroke-dasharray="5 3"' if shape.dashed else ""
        return (f'<path d="M {x0:.1f} {y0:.1f} C {x0 + bend:.1f} {y0:.1f}, {x3 - bend:.1f} {y3:.1f}, '
                f'{x3:.1f} {y3:.1f}" fill="none" stroke="{shape.colour}" stroke-width="{shape.width}"{dash}/>')
    return (f'<circle cx="{shape.x:.1f}" cy="{shape.y:.1f}" r="{MARK_RADIUS}" fill="{shape.colour}"/>'
            f'<text x="{shape.x:.1f}" y="{shape.y + 4:.1f}" font-size="11" font-weight="bold" fill="#ffffff" '
            f'text-anchor="middle">!</text>')


# ---- HTML ---------------------------------------------------------------------------------------


def render_html(picture: Picture) -> str:
    """A page: the title, what to follow up, and the picture (with its legend) inline."""
    sections = []
    for title, items in picture.problems.items():
        entries = "".join(f"<li>{_markup(item)}</li>" for item in items)
        sections.append(f"<section><h2>{_markup(title)}（{len(items)}）</h2><ul>{entries}</ul></section>")
    problems = "".join(sections) or "<p>责任链完整：没有需要跟进的问题。</p>"
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_markup(picture.title)}</title>\n"
        f"<style>body{{font-family:{FONT_FAMILY};color:{INK};margin:24px}}"
        f"h1{{font-size:22px}}h2{{font-size:16px;color:{ALERT}}}section{{display:inline-block;vertical-align:top;"
        "margin:0 32px 12px 0}}ul{padding-left:20px}.picture{overflow:auto;border:1px solid #cbd2d9}</style>\n"
        f"</head>\n<body>\n<h1>{_markup(picture.title)}</h1>\n{problems}\n"
        "<p>将鼠标停在帮扶责任人上可查看其单位、职务和电话。</p>\n"
        f"<div class=\"picture\">\n{render_svg(picture)}</div>\n</body>\n</html>\n"
    )


# ---- PNG ----------------------------------------------------------------------------------------


def render_png(picture: Picture, path: str | Path, scale: float = 2.0) -> None:
    """Draw the picture with Pillow and the Noto Sans SC font shipped on PyPI (no system font needed)."""
    from PIL import Image, ImageDraw
    from pylopdf_fonts_zh_cn import sans_path

    # Very large runs: keep the image within what viewers open comfortably.
    scale = min(scale, math.sqrt(60_000_000 / max(picture.width * picture.height, 1)))
    image = Image.new("RGB", (math.ceil(picture.width * scale), math.ceil(picture.height * scale)), "#ffffff")
    painter = _Painter(ImageDraw.Draw(image), scale, str(sans_path()))
    for shape in _layers(picture):
        painter.draw(shape)
    image.save(path, format="PNG")


class _Painter:
    def __init__(self, draw, scale: float, font_path: str):
        self.draw_on = draw
        self.scale = scale
        self.font_path = font_path
        self.fonts: dict[int, object] = {}

    def font(self, size: float):
        from PIL import ImageFont

        pixels = max(1, round(size * self.scale))
        if pixels not in self.fonts:
            self.fonts[pixels] = ImageFont.truetype(self.font_path, pixels)
        return self.fonts[pixels]

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.scale, y * self.scale)

    def line_width(self, width: float) -> int:
        return max(1, round(width * self.scale))

    def draw(self, shape) -> None:
        if isinstance(shape, Box):
            self.box(shape)
        elif isinstance(shape, Text):
            self.draw_on.text(self.xy(shape.x, shape.y), shape.text, fill=shape.colour, font=self.font(shape.size),
                              anchor="ls", stroke_width=1 if shape.bold else 0, stroke_fill=shape.colour)
        elif isinstance(shape, Curve):
            points = [self.xy(*point) for point in shape.points()]
            self.polyline(points, shape.colour, self.line_width(shape.width), shape.dashed)
        else:
            x, y = self.xy(shape.x, shape.y)
            radius = MARK_RADIUS * self.scale
            self.draw_on.ellipse((x - radius, y - radius, x + radius, y + radius), fill=shape.colour)
            self.draw_on.text((x, y), "!", fill="#ffffff", font=self.font(11), anchor="mm", stroke_width=1,
                              stroke_fill="#ffffff")

    def box(self, shape: Box) -> None:
        left, top = self.xy(shape.x, shape.y)
        right, bottom = self.xy(shape.x + shape.width, shape.y + shape.height)
        width = self.line_width(shape.stroke_width)
        if not shape.dashed:
            self.draw_on.rounded_rectangle((left, top, right, bottom), radius=4 * self.scale, fill=shape.fill,
                                           outline=shape.stroke, width=width)
            return
        self.draw_on.rectangle((left, top, right, bottom), fill=shape.fill)
        corners = [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)]
        self.polyline(corners, shape.stroke, width, dashed=True)

    def polyline(self, points: list[tuple[float, float]], colour: str, width: int, dashed: bool) -> None:
        if not dashed:
            self.draw_on.line(points, fill=colour, width=width, joint="curve")
            return
        for segment in _dashes(points, 5 * self.scale, 3 * self.scale):
            self.draw_on.line(segment, fill=colour, width=width)


def _dashes(points, on: float, off: float) -> list[list[tuple[float, float]]]:
    """Cut a polyline into dashes of length `on` separated by gaps of length `off`."""
    dashes: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = [points[0]]
    drawing, left = True, on
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        length = math.hypot(x1 - x0, y1 - y0)
        position = 0.0
        while length - position >= left:
            position += left
            point = (x0 + (x1 - x0) * position / length, y0 + (y1 - y0) * position / length)
            if drawing:
                dashes.append([*current, point])
            current = [point]
            drawing, left = not drawing, (on if not drawing else off)
        left -= length - position
        if drawing and current[-1] != (x1, y1):
            current.append((x1, y1))
    if drawing and len(current) > 1:
        dashes.append(current)
    return dashes


# ---- writing a file -----------------------------------------------------------------------------


def write_picture(picture: Picture, out: str | Path) -> None:
    """Write the picture as SVG, PNG or HTML by the file's suffix, replacing the file only when complete."""
    out = Path(out)
    if not out.parent.is_dir():
        raise UsageError(tr(f"输出文件夹不存在：{out.parent}", f"output folder does not exist: {out.parent}"))
    out = Path(output_target(str(out), "图"))   # a folder is refused; a link has its target written
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(tr(f"不支持的输出格式“{out.suffix or out.name}”：请使用 .svg、.png 或 .html",
                            f"unsupported output format {out.suffix or out.name!r}: use .svg, .png or .html"))
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent if str(out.parent) else ".")
    os.close(handle)
    try:
        if suffix == ".png":
            render_png(picture, temporary)
        else:
            text = render_svg(picture) if suffix == ".svg" else render_html(picture)
            Path(temporary).write_text(text, encoding="utf-8")
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
