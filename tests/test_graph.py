"""Tests of the responsibility graph, its pictures and the `graph`, `who` and `helper` commands."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dangka.engine.graph import ResponsibilityGraph, card_disagrees

DATA = Path(__file__).parent / "data" / "graph"

OVERLOADED = [f"HN-410727-0101-{i:03d}" for i in range(1, 6)] + ["HN-410727-0102-001", "HN-410727-0102-002"]
NO_HELPER = "HN-410727-0102-004"
UNREGISTERED_HELPER = "HN-410727-0201-002"
PHONE_DIFFERS = "HN-410727-0201-001"
VILLAGE_NOT_REGISTERED = "HN-410727-0202-001"


@pytest.fixture(scope="module")
def registry() -> dict:
    """The registry of four villages (东街村 complete, 西街村 without first secretary, 北关村 without group leader)."""
    return yaml.safe_load((DATA / "registry.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def households() -> list[dict]:
    """The thirteen households of the test run, in file order."""
    return yaml.safe_load((DATA / "households.yaml").read_text(encoding="utf-8"))["households"]


@pytest.fixture(scope="module")
def graph(registry, households) -> ResponsibilityGraph:
    """One graph over the whole run."""
    whole = ResponsibilityGraph(registry)
    for household in households:
        whole.add_household(household)
    return whole


def by_id(households: list[dict], household_id: str) -> dict:
    return next(household for household in households if household["id"] == household_id)


# ---- missing links --------------------------------------------------------------------------


def test_household_without_helper_has_no_helper_links_and_a_chain_saying_so(graph, households):
    links = graph.links(by_id(households, NO_HELPER))
    assert links["helpers"] == []
    assert links["registry_contacts"]["帮扶责任人"] == []
    assert links["chains"]["household"] == "户 → 帮扶责任人：无"
    assert {"role": "帮扶责任人", "missing": True} in links["card"]


def test_helper_id_missing_from_registry_is_unregistered_with_empty_fields(graph, households):
    (helper,) = graph.links(by_id(households, UNREGISTERED_HELPER))["helpers"]
    assert helper == {
        "helper_id": "H-099", "registered": False, "name": None, "unit": None, "unit_name": None,
        "unit_level": None, "position": None, "phone": None, "load": None, "village_count": None,
    }
    assert graph.links(by_id(households, UNREGISTERED_HELPER))["chains"]["helpers"] == {
        "H-099": "户 → 帮扶责任人 H-099 → 未在帮扶责任体系中登记"
    }


def test_village_without_first_secretary(graph, households):
    links = graph.links(by_id(households, "HN-410727-0102-001"))
    village = links["village"]
    assert village["registered"] is True
    assert village["first_secretary_name"] is None and village["first_secretary_phone"] is None
    assert village["group_leader_name"] == "郑国栋"
    assert links["registry_contacts"]["驻村第一书记"] is None
    assert links["chains"]["village"] == (
        "户 → 西街村（封丘县城关镇）→ 驻村第一书记 未登记，脱贫责任组组长 郑国栋（城关镇党委委员）"
    )


def test_village_without_group_leader(graph, households):
    links = graph.links(by_id(households, PHONE_DIFFERS))
    assert links["village"]["first_secretary_name"] == "冯建设"
    assert links["village"]["first_secretary_unit"] == "U-XX-NY"
    assert links["village"]["group_leader_name"] is None
    assert links["registry_contacts"]["脱贫责任组组长"] is None
    assert links["chains"]["village"].endswith("脱贫责任组组长 未登记")


def test_village_missing_from_registry(graph, households):
    links = graph.links(by_id(households, VILLAGE_NOT_REGISTERED))
    assert links["village"] == {
        "registered": False, "first_secretary_name": None, "first_secretary_unit": None,
        "first_secretary_unit_name": None, "first_secretary_phone": None, "group_leader_name": None,
        "group_leader_position": None, "group_leader_phone": None,
    }
    assert links["chains"]["village"] == "户 → 南岗村（封丘县黄陵镇）→ 未在帮扶责任体系中登记"
    # The card names a leader and a secretary the registry cannot confirm.
    leader = next(item for item in links["card"] if item["role"] == "脱贫责任组组长")
    assert leader["registry_name"] is None and leader["agrees_phone"] is None


def test_complete_village_household_has_every_link_agreeing(graph, households):
    links = graph.links(by_id(households, "HN-410727-0101-006"))
    assert links["village"]["first_secretary_name"] == "周振华"
    assert links["village"]["group_leader_position"] == "城关镇副镇长"
    assert [helper["name"] for helper in links["helpers"]] == ["孙丽华"]
    assert not card_disagrees(links["card"])
    assert all(item.get("agrees_name") and item.get("agrees_phone") for item in links["card"])


# ---- load, mismatch, two villages ---------------------------------------------------------


def test_overloaded_helper_is_reported_on_every_household_it_touches(graph, households):
    for household_id in OVERLOADED:
        links = graph.links(by_id(households, household_id), load_limit=5)
        (helper,) = links["helpers"]
        assert helper["load"] == 7
        assert links["chains"]["helpers"]["H-001"] == (
            "户 → 帮扶责任人 赵文博（封丘县教育局）→ 帮扶 7 户（分布在 2 个村），上限 5 户"
        )
    assert graph.helper_load("H-001") == 7


def test_chain_without_limit_stops_at_the_load(graph, households):
    links = graph.links(by_id(households, PHONE_DIFFERS))
    expected = "户 → 帮扶责任人 钱志远（新乡市农业农村局）→ 帮扶 2 户（分布在 2 个村）"
    assert links["chains"]["helpers"]["H-003"] == expected


def test_card_phone_differing_from_registry(graph, households):
    links = graph.links(by_id(households, PHONE_DIFFERS))
    helper_contact = next(item for item in links["card"] if item["role"] == "帮扶责任人")
    assert helper_contact["registry_name"] == "钱志远"
    assert helper_contact["registry_phone"] == "13803731103"
    assert helper_contact["agrees_name"] is True
    assert helper_contact["agrees_phone"] is False
    assert card_disagrees(links["card"])
    assert links["registry_contacts"]["帮扶责任人"] == [{"name": "钱志远", "phone": "13803731103"}]


def test_phone_written_with_separators_still_agrees(graph, households):
    household = copy.deepcopy(by_id(households, "HN-410727-0101-006"))
    household["forms"]["card"]["contacts"][2]["phone"] = "138-0373-1102"
    assert not card_disagrees(graph.links(household)["card"])


def test_helper_serving_two_villages(graph, households):
    (helper,) = graph.links(by_id(households, "HN-410727-0102-003"))["helpers"]
    assert (helper["name"], helper["load"], helper["village_count"]) == ("孙丽华", 2, 2)
    assert helper["unit_name"] == "封丘县卫生健康委员会" and helper["unit_level"] == "县直"


def test_load_counts_only_the_households_year(registry, households):
    graph = ResponsibilityGraph(registry)
    for household in households:
        graph.add_household(household)
    earlier = copy.deepcopy(by_id(households, "HN-410727-0101-006"))
    earlier.update(id="HN-410727-0101-099", year=2016)
    graph.add_household(earlier)
    assert graph.helper_load("H-002") == 3
    assert graph.helper_load("H-002", 2017) == 2
    assert graph.helper_years("H-002") == {2017: 2, 2016: 1}
    assert graph.links(earlier)["helpers"][0]["load"] == 1


def test_household_added_twice_is_counted_once(registry, households):
    graph = ResponsibilityGraph(registry)
    household = by_id(households, "HN-410727-0101-006")
    graph.add_household(household)
    graph.add_household(household)
    assert graph.helper_load("H-002") == 1
    moved = copy.deepcopy(household)
    moved["helpers"] = ["H-004"]
    graph.add_household(moved)
    assert (graph.helper_load("H-002"), graph.helper_load("H-004")) == (0, 1)


def test_without_registry_nothing_is_known_of_registration(households):
    """No registry given is not "nothing registered": registry facts stay unknown, loads are counted."""
    graph = ResponsibilityGraph(None)
    graph.add_household(households[0])
    links = graph.links(households[0])
    assert "registered" not in links["helpers"][0] and links["helpers"][0]["load"] == 1
    assert links["village"] is None and links["registry_contacts"] is None


def test_household_without_id_is_refused(registry):
    with pytest.raises(ValueError, match="without id"):
        ResponsibilityGraph(registry).add_household({"region": {}})


def test_merge_refuses_counts_not_made_by_loads(registry):
    graph = ResponsibilityGraph(registry)
    with pytest.raises(ValueError, match="not a key made by"):
        graph.merge_loads({"H-001": 3})
    with pytest.raises(ValueError, match="non-negative integer"):
        graph.merge_loads({'["H-001", 2017, "封丘县/城关镇/东街村"]': -1})


# ---- a run split across workers -------------------------------------------------------------


def split_links(registry, households, parts: list[int]) -> list[dict]:
    """links of every household when the run is split: part i gets the households assigned i."""
    count = max(parts) + 1
    graphs = [ResponsibilityGraph(registry) for _ in range(count)]
    for household, part in zip(households, parts, strict=True):
        graphs[part].add_household(household)
    loads = [graph.loads() for graph in graphs]
    for index, graph in enumerate(graphs):
        for other, other_loads in enumerate(loads):
            if other != index:
                graph.merge_loads(other_loads)
    return [graphs[part].links(household, load_limit=5) for household, part in zip(households, parts, strict=True)]


def test_split_run_gives_the_same_links_as_the_whole_run(registry, households, graph):
    parts = [index % 3 for index in range(len(households))]
    assert split_links(registry, households, parts) == [graph.links(h, load_limit=5) for h in households]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_split_of_the_run_gives_the_same_links(registry, households, graph, data):
    parts = data.draw(st.lists(st.integers(0, 3), min_size=len(households), max_size=len(households)))
    assert split_links(registry, households, parts) == [graph.links(h, load_limit=5) for h in households]


def test_a_worker_with_only_merged_loads_sees_the_whole_run(registry, households, graph):
    fresh = ResponsibilityGraph(registry)
    fresh.merge_loads(graph.loads())
    assert fresh.helper_load("H-001") == 7
    assert fresh.links(households[0]) == graph.links(households[0])


# ---- chains for `who` -----------------------------------------------------------------------


def test_chain_lists_every_link_with_masked_phones(graph):
    lines = graph.chain(PHONE_DIFFERS)
    assert lines[0] == "户 HN-410727-0201-001（户主 孙大一，2017 年度）"
    assert "行政区划：封丘县 → 黄陵镇 → 北关村" in lines
    assert "驻村第一书记：冯建设（新乡市农业农村局），电话 139****1204" in lines
    assert "脱贫责任组组长：未登记" in lines
    assert "帮扶责任人：钱志远（新乡市农业农村局，市直），主任科员，电话 138****1103；帮扶 2 户，分布在 2 个村" in lines
    assert "  帮扶责任人 钱志远，电话 138****1199 —— 与登记不符：电话（登记 138****1103）" in lines
    assert "  脱贫责任组组长：明白卡未填写" in lines
    assert not any("13803731103" in line for line in lines)


def test_chain_unmasked_on_request(graph):
    assert any("13803731103" in line for line in graph.chain(PHONE_DIFFERS, mask=False))


def test_chain_of_unknown_household_raises_key_error(graph):
    with pytest.raises(KeyError):
        graph.chain("HN-000")


# ---- pictures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def picture(graph):
    """The picture of the whole test run, with 赵文博 over the limit of 5."""
    from dangka.graphview import lay_out, select_villages

    return lay_out(graph, select_villages(graph), {"H-001": (7, 5)})


def test_svg_is_well_formed_with_chinese_names_marks_and_legend(picture):
    from xml.etree import ElementTree

    from dangka.graphview import render_svg

    svg = render_svg(picture)
    root = ElementTree.fromstring(svg)
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "图例" in texts
    assert "赵文博 · 科员 · 帮扶 7 户 · 超载 7/5" in texts
    assert "HN-410727-0102-004 徐大十 · 无帮扶责任人" in texts
    assert "（村未在帮扶责任体系中登记）" in texts
    assert "Noto Sans SC" in root.get("font-family")
    # Every link is drawn: nine households with one helper each (H-099 included), one without.
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) == 12 + 2  # + the legend's two samples


def test_svg_tooltips_mask_phones_unless_asked(graph):
    from dangka.graphview import lay_out, render_svg, select_villages

    masked = render_svg(lay_out(graph, select_villages(graph), {}))
    assert "138****1101" in masked and "13803731101" not in masked
    assert "13803731101" in render_svg(lay_out(graph, select_villages(graph), {}, mask=False))


def test_html_embeds_the_picture_and_lists_what_to_follow_up(picture):
    from dangka.graphview import render_html

    page = render_html(picture)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<svg" in page and "图例" in page
    assert "超过帮扶户数上限的帮扶责任人（1）" in page
    assert "赵文博（封丘县教育局 · 县直）：帮扶 7 户，上限 5 户" in page
    assert "封丘县 城关镇 西街村 HN-410727-0102-004" in page
    assert "封丘县 黄陵镇 北关村：未登记脱贫责任组组长" in page


def test_png_is_written_with_a_font_that_has_the_chinese_glyphs(picture, tmp_path):
    from PIL import Image, ImageFont
    from pylopdf_fonts_zh_cn import sans_path

    from dangka.graphview import ALERT, write_picture

    out = tmp_path / "graph.png"
    write_picture(picture, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as image:
        assert image.width >= picture.width and image.height >= picture.height
        red = tuple(int(ALERT[i : i + 2], 16) for i in (1, 3, 5))
        assert red in {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    font = ImageFont.truetype(str(sans_path()), 16)
    missing_glyph = bytes(font.getmask("\ue000"))
    assert all(bytes(font.getmask(char)) != missing_glyph for char in "赵文博帮扶责任人东街村图例")


def test_village_and_township_filters(graph):
    from dangka.graphview import select_villages

    assert select_villages(graph, village="东街村") == ["封丘县/城关镇/东街村"]
    assert select_villages(graph, village="封丘县/黄陵镇/南岗村") == ["封丘县/黄陵镇/南岗村"]
    assert select_villages(graph, township="黄陵镇") == ["封丘县/黄陵镇/北关村", "封丘县/黄陵镇/南岗村"]
    assert len(select_villages(graph)) == 4


def test_unknown_village_or_township_is_a_usage_error(graph):
    from dangka.errors import UsageError
    from dangka.graphview import select_villages

    with pytest.raises(UsageError, match="没有找到村“无此村”"):
        select_villages(graph, village="无此村")
    with pytest.raises(UsageError, match="没有找到乡镇“无此镇”"):
        select_villages(graph, township="无此镇")


def test_a_run_without_households_is_a_usage_error(registry):
    from dangka.errors import UsageError
    from dangka.graphview import select_villages

    with pytest.raises(UsageError, match="所给数据中没有可以画出的户"):
        select_villages(ResponsibilityGraph(registry))


def test_unsupported_format_and_missing_folder_are_usage_errors(picture, tmp_path):
    from dangka.errors import UsageError
    from dangka.graphview import write_picture

    with pytest.raises(UsageError, match="不支持的输出格式“.pdf”"):
        write_picture(picture, tmp_path / "graph.pdf")
    with pytest.raises(UsageError, match="输出文件夹不存在"):
        write_picture(picture, tmp_path / "missing" / "graph.svg")


def test_dashes_cover_the_line_in_on_off_steps():
    from dangka.graphview import _dashes

    dashes = _dashes([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)], on=4.0, off=2.0)
    assert [segment[0] for segment in dashes] == [(0.0, 0.0), (6.0, 0.0), (10.0, 2.0), (10.0, 8.0)]
    assert dashes[1] == [(6.0, 0.0), (10.0, 0.0)]
    assert dashes[-1] == [(10.0, 8.0), (10.0, 10.0)]


# ---- commands ---------------------------------------------------------------------------------


def dangka(*argv: str) -> int:
    from dangka.cli import main

    return main(list(argv))


def test_who_prints_the_whole_chain_masked(capsys):
    assert dangka("who", PHONE_DIFFERS, "--data", str(DATA)) == 0
    out = capsys.readouterr().out
    assert "驻村第一书记：冯建设（新乡市农业农村局），电话 139****1204" in out
    assert "帮扶责任人 钱志远，电话 138****1199 —— 与登记不符：电话（登记 138****1103）" in out
    assert "13803731103" not in out


def test_who_with_no_mask_and_an_explicit_registry(capsys):
    assert dangka("who", "HN-410727-0101-001", "--data", str(DATA / "households.yaml"),
                  "--registry", str(DATA / "registry.yaml"), "--no-mask") == 0
    out = capsys.readouterr().out
    assert ("帮扶责任人：赵文博（封丘县教育局，县直），科员，电话 13803731101；"
            "帮扶 7 户，分布在 2 个村，超过上限 5 户") in out


def test_who_unknown_household_exits_2_with_a_chinese_message(capsys):
    assert dangka("who", "HN-000", "--data", str(DATA)) == 2
    assert "没有找到户“HN-000”" in capsys.readouterr().err


def test_helper_lists_load_and_households(capsys):
    assert dangka("helper", "H-002", "--data", str(DATA)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == ["帮扶责任人 孙丽华（H-002）", "单位：封丘县卫生健康委员会（县直）", "职务：副科长",
                       "电话：138****1102", "帮扶户数（2017 年度）：2 户，分布在 2 个村，上限 5 户"]
    assert "  HN-410727-0102-003 周大九（封丘县 城关镇 西街村）" in out


def test_helper_overloaded_and_unregistered(capsys):
    assert dangka("helper", "H-001", "--data", str(DATA)) == 0
    out = capsys.readouterr().out
    assert "帮扶户数（2017 年度）：7 户，分布在 2 个村，上限 5 户，超过上限" in out
    # the helper's households with what the rulebook finds on them, the overload among it
    assert "各户的核查结论：" in out and "[RESP-LOAD-001]" in out
    assert dangka("helper", "H-099", "--data", str(DATA)) == 0
    assert "帮扶责任人 H-099（未在帮扶责任体系中登记）" in capsys.readouterr().out


def test_helper_unknown_exits_2(capsys):
    assert dangka("helper", "H-404", "--data", str(DATA)) == 2
    assert "没有找到帮扶责任人“H-404”" in capsys.readouterr().err


def test_missing_registry_exits_2(tmp_path, capsys):
    (tmp_path / "households.yaml").write_bytes((DATA / "households.yaml").read_bytes())
    assert dangka("who", "HN-410727-0101-001", "--data", str(tmp_path)) == 2
    assert "没有找到帮扶责任体系登记表" in capsys.readouterr().err


def test_broken_dossier_is_reported_and_the_rest_still_drawn(tmp_path, capsys):
    (tmp_path / "registry.yaml").write_bytes((DATA / "registry.yaml").read_bytes())
    (tmp_path / "households.yaml").write_bytes((DATA / "households.yaml").read_bytes())
    (tmp_path / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    assert dangka("who", "HN-410727-0101-006", "--data", str(tmp_path)) == 1
    captured = capsys.readouterr()
    assert "broken.yaml" in captured.err and "孙丽华" in captured.out


@pytest.mark.parametrize("suffix", [".svg", ".html", ".png"])
def test_graph_command_writes_each_format(tmp_path, capsys, suffix):
    out = tmp_path / f"东街村{suffix}"
    assert dangka("graph", str(DATA), "--village", "东街村", "--out", str(out)) == 0
    assert f"已生成 {out}" in capsys.readouterr().out
    content = out.read_bytes()
    if suffix == ".png":
        assert content[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        text = content.decode("utf-8")
        assert "帮扶责任关系图 — 封丘县 城关镇 东街村" in text and "图例" in text
        assert "赵文博 · 科员 · 帮扶 7 户 · 超载 7/5" in text  # the whole run's load, not the village's


def test_graph_command_rejects_village_and_township_together(tmp_path):
    with pytest.raises(SystemExit):
        dangka("graph", str(DATA), "--village", "东街村", "--township", "城关镇", "--out", str(tmp_path / "g.svg"))


HOSTILE_NAME = '</script><svg onload=alert(1)>"&\x1b[2J\x07\x00\ufffe'


def test_hostile_names_are_text_in_a_well_formed_svg_and_html(registry, households):
    from xml.etree import ElementTree

    from dangka.graphview import lay_out, render_html, render_svg, select_villages

    hostile = copy.deepcopy(registry)
    hostile["helpers"][0]["name"] = HOSTILE_NAME
    hostile["helpers"][0]["position"] = "<b onmouseover=alert(1)>"
    whole = ResponsibilityGraph(hostile)
    for household in households:
        whole.add_household(household)
    picture = lay_out(whole, select_villages(whole), {"H-001": (7, 5)})
    svg = render_svg(picture)
    root = ElementTree.fromstring(svg)  # raises on characters XML cannot hold
    texts = [element.text or "" for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any(text.startswith('</script><svg onload=alert(1)>"&') for text in texts)
    page = render_html(picture)
    assert "<svg onload" not in page and "</script><svg" not in page and "<b onmouseover" not in page
    assert "\x1b" not in page and "\x07" not in page


def test_a_slash_inside_a_region_name_is_one_name(registry, households):
    slashed = copy.deepcopy(registry)
    slashed["villages"][0]["village"] = "东街/西街村"
    household = copy.deepcopy(by_id(households, OVERLOADED[0]))
    household["region"]["village"] = "东街/西街村"
    graph = ResponsibilityGraph(slashed)
    graph.add_household(household)
    assert graph.village_keys() == ["封丘县/城关镇/东街／西街村", *[key for key in ResponsibilityGraph(registry).village_keys()
                                                                  if not key.endswith("东街村")]]
    assert graph.links(household)["village"]["first_secretary_name"] == "周振华"
    assert any("东街／西街村" in line for line in graph.chain(household["id"]))
