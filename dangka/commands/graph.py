"""The `graph`, `who` and `helper` commands: the responsibility chain as a picture and as text."""

from __future__ import annotations

import argparse
import sys

from dangka.engine.graph import NOT_REGISTERED, ResponsibilityGraph, card_disagrees
from dangka.errors import DangkaError, Location, UsageError
from dangka.i18n import tr
from dangka.mask import mask_phone, mask_text

HELP = {
    "graph": "绘制帮扶责任关系图（SVG、PNG 或 HTML）：谁帮扶哪些户，缺失和超载一目了然",
    "who": "显示一户的完整帮扶责任链：村、第一书记、组长、帮扶责任人及明白卡核对",
    "helper": "显示一名帮扶责任人的单位、帮扶户数和帮扶的户",
}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "graph":
        parser.add_argument("data", nargs="+", metavar="路径", help="户档案文件或文件夹")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--village", metavar="名称", help="只画这个村（村名，或 县/乡镇/村）")
        scope.add_argument("--township", metavar="名称", help="只画这个乡镇的村（乡镇名，或 县/乡镇）")
        parser.add_argument("--out", required=True, metavar="文件", help="输出文件：.svg、.png 或 .html")
    else:
        key = "household_id" if name == "who" else "helper_id"
        parser.add_argument(key, metavar="户编号" if name == "who" else "帮扶责任人编号",
                            help="户编号" if name == "who" else "帮扶责任人编号")
        parser.add_argument("--data", nargs="+", required=True, metavar="路径", help="户档案文件或文件夹")
    parser.add_argument("--registry", metavar="文件", help="帮扶责任体系登记表（默认：数据文件夹中的 registry.yaml）")
    parser.add_argument("--no-mask", action="store_true", help="显示完整电话号码（默认隐去中间四位）")


def run(args: argparse.Namespace) -> int:
    return {"graph": _draw, "who": _who, "helper": _helper}[args.command](args)


# ---- the run's graph ------------------------------------------------------------------------


def _build(data: list[str], registry_path: str | None, mask: bool) -> tuple[ResponsibilityGraph, int]:
    """The graph of every readable dossier; unreadable ones are reported and counted, not fatal."""
    from dangka.load import find_registry, iter_dossiers, load_registry

    path = registry_path or find_registry(data)
    if path is None:
        raise UsageError(tr("没有找到帮扶责任体系登记表：请用 --registry 指定，或在数据文件夹中放置 registry.yaml",
                            "no responsibility registry: pass --registry FILE or put registry.yaml in the data folder"))
    graph = ResponsibilityGraph(load_registry(path))
    invalid = 0
    for loaded in iter_dossiers(data):
        if loaded.error is not None:
            message = str(loaded.error)
            print(tr("已跳过：", "skipped: ") + (mask_text(message) if mask else message), file=sys.stderr)
            invalid += 1
        else:
            graph.add_household(loaded.dossier)
    return graph, invalid


class _LoadLimits:
    """The policy's helper load limit (帮扶户数上限) for a year and province."""

    def __init__(self) -> None:
        from dangka.policy import Policies

        self.parameter = Policies.load().parameter("helper_load_limit")

    def __call__(self, year: int | None, province: str | None) -> int:
        return self.parameter.value(year, province)[0]

    def overloads(self, graph: ResponsibilityGraph) -> dict[str, tuple[int, int]]:
        """Helper id → (load, limit) for each helper over the limit in some year (the worst year)."""
        found = {}
        for helper_id in graph.helper_ids():
            over = [(load - limit, load, limit) for load, limit in self.by_year(graph, helper_id) if load > limit]
            if over:
                _, load, limit = max(over)
                found[helper_id] = (load, limit)
        return found

    def by_year(self, graph: ResponsibilityGraph, helper_id: str) -> list[tuple[int, int]]:
        """(load, limit) for each year of the helper's households, oldest first.

        A helper with households in several provinces is held to the strictest of their limits.
        """
        provinces = _provinces_by_year(graph, helper_id)
        years = sorted(graph.helper_years(helper_id).items(), key=lambda item: (item[0] is None, item[0]))
        return [(load, min(self(year, province) for province in provinces.get(year, {None}))) for year, load in years]


def _provinces_by_year(graph: ResponsibilityGraph, helper_id: str) -> dict[int | None, set[str | None]]:
    provinces: dict[int | None, set[str | None]] = {}
    for household_id in graph.helper_households(helper_id):
        household = graph.household(household_id)
        provinces.setdefault(household["year"], set()).add(household["province"])
    return provinces


# ---- graph ----------------------------------------------------------------------------------


def _draw(args: argparse.Namespace) -> int:
    from dangka.graphview import lay_out, select_villages, write_picture

    mask = not args.no_mask
    graph, invalid = _build(args.data, args.registry, mask)
    village_keys = select_villages(graph, args.village, args.township)
    picture = lay_out(graph, village_keys, _LoadLimits().overloads(graph), mask=mask)
    try:
        write_picture(picture, args.out)
    except OSError as error:
        raise DangkaError(tr(f"无法写入输出文件：{error.strerror}", f"cannot write the output: {error.strerror}"),
                          Location(args.out), code="output") from None
    print(tr(f"已生成 {args.out}", f"wrote {args.out}"))
    return 1 if invalid else 0


# ---- who ------------------------------------------------------------------------------------


def _who(args: argparse.Namespace) -> int:
    mask = not args.no_mask
    graph, invalid = _build(args.data, args.registry, mask)
    if not graph.has_household(args.household_id):
        raise UsageError(tr(f"没有找到户“{args.household_id}”：所给数据中没有这个户编号",
                            f"no household {args.household_id!r} in the data given"))
    household = graph.household(args.household_id)
    limit = _LoadLimits()(household["year"], household["province"])
    print("\n".join(graph.chain(args.household_id, mask=mask, load_limit=limit)))
    return 1 if invalid else 0


# ---- helper ---------------------------------------------------------------------------------


def _helper(args: argparse.Namespace) -> int:
    mask = not args.no_mask
    graph, invalid = _build(args.data, args.registry, mask)
    if not graph.has_helper(args.helper_id):
        raise UsageError(tr(f"没有找到帮扶责任人“{args.helper_id}”：登记表和数据中都没有这个编号",
                            f"no helper {args.helper_id!r} in the registry or the data"))
    print("\n".join(_helper_lines(graph, args.helper_id, _LoadLimits(), mask)))
    print("\n".join(_findings_lines(args, set(graph.helper_households(args.helper_id)), mask)))
    return 1 if invalid else 0


def _findings_lines(args: argparse.Namespace, households: set[str], mask: bool) -> list[str]:
    """What the rulebook finds on the helper's households, household by household."""
    from dangka.engine.batch import check_paths
    from dangka.engine.knowledge import Knowledge
    from dangka.load import find_registry, load_registry

    if not households:
        return []
    registry = load_registry(args.registry or find_registry(args.data))
    lines = [tr("各户的核查结论：", "findings of these households:")]
    for outcome in check_paths(args.data, registry, Knowledge.load(), jobs=1, consume_registry=True):
        entry = outcome.entry
        if entry is None or entry["id"] not in households:
            continue
        if not entry["findings"]:
            lines.append(f"  {entry['id']}：" + tr("未发现问题", "no findings"))
            continue
        lines.append(f"  {entry['id']}：" + tr(f"{len(entry['findings'])} 个问题", f"{len(entry['findings'])} findings"))
        for finding in entry["findings"]:
            message = mask_text(finding["message"]) if mask else finding["message"]
            lines.append(f"    [{finding['rule']}] {finding['title']}：{message}")
    return lines


def _helper_lines(graph: ResponsibilityGraph, helper_id: str, limits: _LoadLimits, mask: bool) -> list[str]:
    helper = graph.helper(helper_id)
    if helper["registered"]:
        lines = [f"帮扶责任人 {helper['name']}（{helper_id}）"]
        unit = helper["unit_name"] or helper["unit"]
        if unit:
            lines.append(f"单位：{unit}" + (f"（{helper['unit_level']}）" if helper["unit_level"] else ""))
        if helper["position"]:
            lines.append(f"职务：{helper['position']}")
        if helper["phone"]:
            lines.append(f"电话：{mask_phone(helper['phone']) if mask else helper['phone']}")
    else:
        lines = [f"帮扶责任人 {helper_id}（{NOT_REGISTERED}）"]
    lines.extend(_load_lines(graph, helper_id, limits))
    households = graph.helper_households(helper_id)
    lines.append(f"帮扶的户（{len(households)} 户）：" if households else "帮扶的户：本次数据中没有")
    lines.extend("  " + _household_line(graph, household_id) for household_id in households)
    return lines


def _load_lines(graph: ResponsibilityGraph, helper_id: str, limits: _LoadLimits) -> list[str]:
    years = sorted(graph.helper_years(helper_id), key=lambda year: (year is None, year))
    lines = []
    for year, (load, limit) in zip(years, limits.by_year(graph, helper_id), strict=True):
        villages = graph.helper_village_count(helper_id, year)
        when = f"{year} 年度" if year is not None else "年度不详"
        text = f"帮扶户数（{when}）：{load} 户，分布在 {villages} 个村，上限 {limit} 户"
        lines.append(text + ("，超过上限" if load > limit else ""))
    return lines


def _household_line(graph: ResponsibilityGraph, household_id: str) -> str:
    household = graph.household(household_id)
    place = " ".join(household["village"].split("/")) if household["village"] else "行政区划不完整"
    text = " ".join(part for part in (household_id, household["head"]) if part) + f"（{place}）"
    links = graph.household_links(household_id)
    notes = []
    if card_disagrees(links["card"]):
        notes.append("明白卡与登记不符")
    if links["village"] is not None and not links["village"]["registered"]:
        notes.append("村未在帮扶责任体系中登记")
    return text + (" —— " + "，".join(notes) if notes else "")
