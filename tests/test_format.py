"""`dangka fmt`: parse → format → parse is the identity, comments stay, formatting is stable."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangka.cli import main
from dangka.dsl.format import format_text
from dangka.dsl.parse import RuleErrors
from dangka.dsl.transform import parse_rules
from dangka.engine.knowledge import default_rules_dir

RULE_FILES = sorted(default_rules_dir().glob("*.rules")) + sorted(
    (Path(__file__).parent / "data" / "rules").glob("*.rules"))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_format_round_trip_keeps_every_rule(path):
    text = path.read_text(encoding="utf-8")
    formatted = format_text(text, path.name)
    assert parse_rules(formatted, path.name)[0].rules == parse_rules(text, path.name)[0].rules
    assert format_text(formatted, path.name) == formatted
    assert text.count("#") <= formatted.count("#")


def test_comments_and_english_keywords_are_kept():
    text = ('# 文件说明\n\nrule A-1 "t"   # 行尾注释\n    basis "b"\n  when household.year>2016\n  conclude x\n'
            '# 下一条\n规则 B-1 "u"\n 依据 "b"\n 如果 户.x\n 结论 y\n')
    formatted = format_text(text, "c.rules")
    assert formatted == ('# 文件说明\n\n# 行尾注释\nrule A-1 "t"\n  basis "b"\n  when household.year > 2016\n  conclude x\n\n'
                         '# 下一条\n规则 B-1 "u"\n  依据 "b"\n  如果 户.x\n  结论 y\n')


def test_fmt_command_rewrites_and_checks(tmp_path, capsys):
    path = tmp_path / "r.rules"
    path.write_text('规则 A-1 "t"\n 依据 "b"\n 如果 户.年度>2016 并且(户.家庭人数<2)\n 结论 x\n', encoding="utf-8")
    assert main(["fmt", "--check", str(path)]) == 1
    assert main(["fmt", str(path)]) == 0
    assert "  如果 户.年度 > 2016\n    并且 户.家庭人数 < 2\n" in path.read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(path)]) == 0
    capsys.readouterr()


def test_shipped_rule_files_are_in_canonical_layout(capsys):
    assert main(["fmt", "--check", str(default_rules_dir())]) == 0, capsys.readouterr().out


def test_long_conditions_break_inside_brackets_aligned():
    text = ('规则 A-1 "t"\n 依据 "b"\n 如果 户.年度 > 1 并且 存在 成员 满足 (成员.健康状况 属于 {长期慢性病, 患有大病} '
            '并且 成员.年龄 >= 政策.劳动年龄下限 并且 成员.年龄 <= 政策.劳动年龄上限 并且 成员.劳动技能 属于 {普通劳动力})\n 结论 x\n')
    formatted = format_text(text, "b.rules")
    lines = formatted.split("\n")
    assert lines[2] == "  如果 户.年度 > 1"
    assert lines[3] == "    并且 存在 成员 满足 (成员.健康状况 属于 {长期慢性病, 患有大病}"
    opening = lines[3].index("(") + 1
    from dangka.i18n import display_width
    assert [display_width(line) - display_width(line.lstrip()) for line in lines[4:7]] == \
        [display_width(lines[3][:opening])] * 3
    assert parse_rules(formatted, "b")[0].rules == parse_rules(text, "b")[0].rules


def _one_rule(condition: str, basis: str = '"b"') -> str:
    return f'规则 FORM-A-001 "t"\n  类别 form.missing\n  严重程度 高\n  依据 {basis}\n  如果 {condition}\n'


@pytest.mark.parametrize("number", ["0.00001", "100000000000000000000.0", "0." + "0" * 98 + "1", "2.5", "-0.000001"])
def test_decimals_are_written_back_as_decimals_not_exponents(number):
    text = _one_rule(f"户.年度 > {number}")
    formatted = format_text(text, "d.rules")
    rules, errors = parse_rules(formatted, "d.rules")
    assert errors == []
    assert rules.rules == parse_rules(text, "d.rules")[0].rules
    assert "e" not in formatted.split("如果")[1]


@pytest.mark.parametrize("written", ['「"「“」', '“"「」”', '"「」“"', '「a”b"」'])
def test_text_holding_other_quotes_keeps_every_character(written):
    text = _one_rule("户.年度 > 1", basis=written)
    formatted = format_text(text, "q.rules")
    assert parse_rules(formatted, "q.rules")[0].rules[0].basis == written[1:-1]


@pytest.mark.parametrize("word", ["并且", "大于等", "或者乡", "满足", "是", "rule", "如果", "起", "and", "1号"])
def test_regions_and_measures_that_are_not_plain_names_are_quoted(word):
    text = _one_rule("户.年度 > 1").replace("  如果", f'  适用地区 "{word}"、河南省\n  如果') + f'  推荐措施 "{word}"\n'
    formatted = format_text(text, "w.rules")
    (rule,) = parse_rules(formatted, "w.rules")[0].rules
    assert (rule.regions, rule.recommend) == ((word, "河南省"), (word,))
    assert "河南省" in formatted and '"河南省"' not in formatted


def test_fmt_refuses_to_write_a_layout_that_reads_back_differently(tmp_path, monkeypatch, capsys):
    from dangka.dsl import format as fmt

    path = tmp_path / "u.rules"
    original = _one_rule("户.年度>1").replace("依据", "\n# 注释\n  依据")
    path.write_text(original, encoding="utf-8")
    monkeypatch.setattr(fmt._Printer, "literal", lambda self, value: "2")
    with pytest.raises(RuleErrors, match=r"u\.rules:1: fmt\.unstable: 整理后的规则读回来与原文不同"):
        format_text(original, str(path))
    assert main(["fmt", str(path)]) == 2
    assert "fmt.unstable" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == original


_PIECES = ["户.年度", "成员.年龄", "1", "0.00001", "-2", "2017-05-16", '"文字"', "「\"」", "因病", "是", "政策.贫困线",
           "计数 成员", "天数(申请书.申请日期, 公告.公告日期)", "{因病, 因残}", "政策.致贫原因[户.主要致贫原因].适用措施"]
_OPS = [" > ", " = ", " + ", " - ", " * ", " / ", " 并且 ", " 或者 ", " 属于 ", " 不属于 "]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_OPS), st.booleans(), st.booleans()),
                min_size=1, max_size=8), st.sampled_from(_PIECES))
def test_every_condition_that_parses_is_formatted_to_the_same_rules(parts, last):
    condition = "".join(("并非 " if negate else "") + ("(" if bracket else "") + piece + op
                        for piece, op, negate, bracket in parts) + last
    condition += ")" * condition.count("(") if condition.count("(") > condition.count(")") else ""
    text = _one_rule(condition)
    rule_file, errors = parse_rules(text, "p.rules")
    if errors:
        return
    formatted = format_text(text, "p.rules")  # raises fmt.unstable when it would not read back
    assert format_text(formatted, "p.rules") == formatted


def test_fmt_formats_the_readable_files_and_names_the_unreadable_one(tmp_path, capsys):
    (tmp_path / "a.rules").write_bytes(b"\xff\xfe not utf-8")
    good = tmp_path / "b.rules"
    good.write_text('规则 A-1 "t"\n 依据 "b"\n 如果 户.年度>2016\n 结论 x\n', encoding="utf-8")
    assert main(["fmt", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert f"{tmp_path / 'a.rules'}:1: file.encoding: 规则文件必须是 UTF-8 编码" in out and f"已整理：{good}" in out
    assert "  如果 户.年度 > 2016\n" in good.read_text(encoding="utf-8")
