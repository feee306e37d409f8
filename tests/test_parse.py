"""The rule language's parser: the error catalogue, garbage lines, hostile text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangka.dsl import ast
from dangka.dsl.parse import MAX_NESTING, SYNTAX_EXAMPLES, RuleError, RuleErrors, parse_text
from dangka.dsl.transform import parse_file, parse_rules
from dangka.engine.knowledge import default_rules_dir
from dangka.i18n import display_width

GOOD = '''# 注释
规则 FORM-A-001 "标题"
  类别 form.missing
  严重程度 高
  依据 "依据"
  适用年度 2016 至 2020
  对每个 成员
  如果 成员.年龄大于65 并且 成员.姓名 为空 或者 存在 措施 满足（措施.措施类别 属于 {技能培训，转移就业}）
  提示 "{成员.姓名}"
  推荐措施 健康扶贫、低保兜底
'''


@pytest.mark.parametrize("row", SYNTAX_EXAMPLES, ids=lambda row: row.code)
def test_catalogue_snippets_give_their_own_message(row):
    for snippet in row.snippets:
        results = parse_text(snippet, "x.rules")
        codes = [error.code for _tree, error, _line, _chunk in results if error]
        assert codes == [row.code], snippet


def test_good_rule_builds_ast_with_spans():
    rule_file, errors = parse_rules(GOOD, "good.rules")
    assert errors == []
    (rule,) = rule_file.rules
    assert (rule.id, rule.title, rule.severity, rule.years, rule.scope) == ("FORM-A-001", "标题", "高", (2016, 2020), "成员")
    assert rule.recommend == ("健康扶贫", "低保兜底")
    assert rule.span.line == 2
    assert isinstance(rule.condition, ast.Or)
    first = rule.condition.items[0].items[0]
    assert isinstance(first, ast.Compare) and first.op == ">"  # 年龄大于65 without spaces
    assert first.span.line == 8


def test_english_and_chinese_keywords_build_the_same_rule():
    english = ('rule FORM-A-001 "t"\n category form.missing\n severity high\n basis "b"\n for each members\n'
               ' when members.age > 3 and not members.name is empty\n')
    chinese = ('规则 FORM-A-001 "t"\n 类别 form.missing\n 严重程度 high\n 依据 "b"\n 对每个 members\n'
               ' 如果 members.age > 3 并且 并非 members.name 为空\n')
    assert parse_rules(english, "a")[0].rules == parse_rules(chinese, "a")[0].rules


def test_keyword_inside_a_longer_name_stays_a_name():
    text = '规则 A-1 "t"\n 依据 "b"\n 如果 户.存在问题 = 是 并且 户.no_labor_count > 0 并且 户.所有人 = 1\n 结论 x\n'
    rule_file, errors = parse_rules(text, "k.rules")
    assert errors == []
    paths = [node.text for node in ast.walk(rule_file.rules[0].condition) if isinstance(node, ast.Path)]
    assert paths == ["户.存在问题", "户.no_labor_count", "户.所有人"]


def test_errors_of_several_rules_are_all_reported_in_order():
    text = GOOD + '\n规则 FORM-B-001 "x"\n  类别\n\n规则 FORM-C-001 "y"\n  如果 (户.年度 > 1\n'
    _rules, errors = parse_rules(text, "two.rules")
    assert [(error.code, error.location.line) for error in errors] == [
        ("syntax.clause_value", 13), ("syntax.unclosed", 16)]
    assert "^" in errors[0].render()


def test_invalid_date_literal_is_a_rule_error():
    _rules, errors = parse_rules('规则 A-1 "t"\n 依据 "b"\n 如果 申请书.申请日期 > 2017-02-30\n 结论 x\n', "d.rules")
    assert [error.code for error in errors] == ["syntax.date"]


def test_deep_nesting_is_refused_clearly():
    text = '规则 A-1 "t"\n 如果 ' + "(" * (MAX_NESTING + 5) + "户.年度" + ")" * (MAX_NESTING + 5) + "\n"
    _rules, errors = parse_rules(text, "deep.rules")
    assert [error.code for error in errors] == ["syntax.too_deep"]


def test_very_long_condition_parses_or_fails_cleanly():
    text = '规则 A-1 "t"\n 依据 "b"\n 如果 ' + " + ".join(["户.年度"] * 3000) + " > 1\n 结论 x\n"
    _rules, errors = parse_rules(text, "long.rules")
    assert all(isinstance(error, RuleError) for error in errors)


def test_binary_and_non_utf8_files_are_rule_errors(tmp_path):
    binary = tmp_path / "bin.rules"
    binary.write_bytes(b"\x00\x01\x02rule")
    with pytest.raises(RuleError, match="不是文本文件"):
        parse_file(str(binary))
    latin = tmp_path / "latin.rules"
    latin.write_bytes("规则".encode("gbk"))
    with pytest.raises(RuleError, match="UTF-8"):
        parse_file(str(latin))


def _shipped_rule_files() -> list[Path]:
    return sorted(default_rules_dir().glob("*.rules"))


@pytest.mark.parametrize("path", _shipped_rule_files(), ids=lambda path: path.name)
def test_a_garbage_line_anywhere_in_a_shipped_file_is_reported_at_that_line(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    step = max(len(lines) // 25, 1)
    for position in range(0, len(lines), step):
        broken = lines[:position] + ["@@ 乱码 !! ^^"] + lines[position:]
        with pytest.raises(RuleErrors) as caught:
            parse_file_text("\n".join(broken), path.name)
        assert any(error.location.line == position + 1 for error in caught.value.errors), position


def parse_file_text(text: str, name: str):
    rule_file, errors = parse_rules(text, name)
    if errors:
        raise RuleErrors(errors)
    return rule_file


_RULE_ALPHABET = st.sampled_from(list("规则如果并且或者属于满足存在计数户成员年龄.(){}[]<>=\"“”、，0123456789 \nabcxyz-_#") + [
    "规则 A-1 ", "如果 ", "提示 ", "类别 ", " 并且 ", " 为空", "政策.", "成员.年龄", "{", "}"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RULE_ALPHABET, max_size=60).map("".join))
def test_random_text_never_raises_anything_but_rule_errors(text):
    _rules, errors = parse_rules(text, "random.rules")
    assert all(isinstance(error, RuleError) for error in errors)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.integers(min_value=0, max_value=8),
       st.text(max_size=5))
def test_mutated_rules_never_raise_anything_but_rule_errors(position, cut, insert):
    text = GOOD[:position] + insert + GOOD[position + cut:]
    _rules, errors = parse_rules(text, "mutated.rules")
    assert all(isinstance(error, RuleError) for error in errors)


def _one_rule(*clauses: str) -> str:
    return '规则 FORM-A-001 "t"\n 类别 form.missing\n 严重程度 高\n 依据 "b"\n' + "".join(f" {c}\n" for c in clauses)


@pytest.mark.parametrize("clause", [
    "如果 户.年度 > " + "9" * 5000,
    "如果 户.年度 > " + "9" * 4301,
    "适用年度 " + "9" * 5000 + " 起",
    "适用年度 2016 至 " + "9" * 5000,
], ids=["condition", "just-over-python-limit", "years-from", "years-to"])
def test_a_number_too_long_is_a_rule_error_at_its_line(clause):
    _rules, errors = parse_rules(_one_rule(clause, "如果 户.年度 > 1") if clause.startswith("适用") else _one_rule(clause),
                                 "n.rules")
    assert [(error.code, error.location.line) for error in errors] == [("syntax.number", 5)]
    with pytest.raises(RuleErrors, match=r"n\.rules:5:\d+: syntax\.number: 数字“9{20}…”太长：最多 100 位"):
        raise RuleErrors(errors)


def test_lint_reports_a_too_long_number_without_a_traceback(tmp_path, capsys):
    from dangka.cli import main

    path = tmp_path / "n.rules"
    path.write_text(_one_rule("如果 户.年度 > " + "9" * 5000), encoding="utf-8")
    assert main(["lint", str(path)]) == 2
    assert "n.rules:5:" in capsys.readouterr().out


@pytest.mark.parametrize("number", ["1" * 400 + ".5", "0." + "0" * 400 + "1"], ids=["overflows", "underflows"])
def test_a_decimal_too_long_for_a_float_is_a_rule_error(number):
    _rules, errors = parse_rules(_one_rule("如果 户.年度 > " + number), "d.rules")
    assert [(error.code, error.location.line) for error in errors] == [("syntax.number", 5)]
    assert "最多 100 位" in errors[0].message


def test_check_with_an_infinite_decimal_stops_at_the_rule_not_in_the_engine(tmp_path, capsys):
    from dangka.cli import main

    path = tmp_path / "d.rules"
    path.write_text(_one_rule("如果 户.年度 > " + "1" * 400 + ".5"), encoding="utf-8")
    dossier = Path(__file__).parent / "data" / "good" / "households.yaml"
    assert main(["check", "--jobs", "1", "--rules", str(path), str(dossier)]) == 2
    captured = capsys.readouterr()
    assert "d.rules:5:" in captured.out + captured.err


def test_a_pipe_or_folder_given_as_a_rule_file_is_refused_without_reading_it(tmp_path, capsys):
    import os

    from dangka.cli import main

    pipe = tmp_path / "pipe.rules"
    os.mkfifo(pipe)  # opening it for reading would wait for a writer forever
    folder = tmp_path / "folder"
    (folder / "sub.rules").mkdir(parents=True)
    with pytest.raises(RuleError, match="pipe.rules: file.not_regular: 不是普通文件"):
        parse_file(str(pipe))
    with pytest.raises(RuleError, match="sub.rules: file.not_regular: 这是文件夹，不是规则文件"):
        parse_file(str(folder / "sub.rules"))
    assert main(["lint", str(pipe), str(folder)]) == 2
    out = capsys.readouterr().out
    assert "pipe.rules: file.not_regular" in out and "sub.rules: file.not_regular" in out


def test_brackets_inside_text_and_comments_do_not_count_as_nesting():
    opened = "(" * (MAX_NESTING + 5)
    text = (f'规则 FORM-A-001 "{opened}"  # {opened}\n 类别 form.missing\n 严重程度 高\n 依据 「{opened}」\n'
            f' 如果 户.年度 > 1 # {"（" * (MAX_NESTING + 5)}\n 提示 "{{户.年度}}{opened}"\n')
    _rules, errors = parse_rules(text, "b.rules")
    assert errors == []
    deep = text.replace("如果 户.年度 > 1", "如果 " + opened + "户.年度 > 1" + ")" * (MAX_NESTING + 5))
    assert [(error.code, error.location.line) for error in parse_rules(deep, "b.rules")[1]] == [("syntax.too_deep", 5)]


@pytest.mark.parametrize("hidden", ["\u200b", "\u202e", "\x1b", "\x07", "\x85", "\u2028", "\ufeff"])
def test_an_invisible_character_is_named_by_its_code_point_and_not_echoed(hidden):
    _rules, errors = parse_rules(_one_rule(f"如果 户.年度{hidden} > 1"), "h.rules")
    (error,) = errors
    assert (error.code, error.location.line, error.location.col) == ("syntax.unexpected", 5, 9)
    assert f"看不见的字符 U+{ord(hidden):04X}" in error.message
    rendered = error.render()
    assert hidden not in rendered
    source, caret = rendered.split("\n")[1:]
    assert caret.index("^") == display_width(source[: source.index("\ufffd")])


def test_a_full_width_character_is_named_with_its_half_width_form():
    _rules, errors = parse_rules(_one_rule("如果 户．年度 ＞ 1"), "f.rules")
    assert [(error.code, error.location.col) for error in errors] == [("syntax.unexpected", 6)]
    assert "全角字符“．”，请改用半角“.”" in errors[0].message



def test_full_width_spaces_and_no_break_spaces_separate_words():
    text = _one_rule("如果 户.年度\u3000>\u00a01\u3000并且　户.年度 < 3").replace("\n 如果", "\n\u3000如果")
    rule_file, errors = parse_rules(text, "s.rules")
    assert errors == []
    assert rule_file.rules == parse_rules(_one_rule("如果 户.年度 > 1 并且 户.年度 < 3"), "s.rules")[0].rules


def test_an_error_on_a_very_long_line_quotes_only_the_part_around_it():
    long_name = "字" * 300_000
    text = _one_rule("如果 户.年度 > 1" + " " * 500_000 + f" {long_name} 户.年度")
    (error,) = parse_rules(text, "l.rules")[1]
    assert error.code == "syntax.missing_operator"
    rendered = error.render()
    assert len(rendered) < 1_000
    head, source, caret = rendered.split("\n")
    assert "“字字" in head and "…”" in head
    assert source.strip().startswith("…") and caret.index("^") == display_width(source[: source.index("字")])


def test_a_conclusion_named_like_a_household_field_gives_one_error_not_three():
    from dangka.dsl.check import check_rules
    from dangka.policy import Policies

    text = '规则 D-1 "t"\n 依据 "b"\n 如果 户.年度 > 2016\n 结论 年度\n'
    rule_file, errors = parse_rules(text, "c.rules")
    assert errors == []
    checked = check_rules([rule_file], Policies.load(None))
    assert [(error.code, error.location.line) for error in checked.errors] == [("derived.clash", 4)]


def test_english_syntax_messages_use_english_punctuation():
    from dangka.i18n import set_lang

    set_lang("en")
    try:
        (error,) = parse_rules(_one_rule("如果 户.年度 > 1 < 2"), "e.rules")[1]
    finally:
        set_lang("zh")
    assert "found '<'; expected: " in error.message and "；" not in error.message


@pytest.mark.parametrize("control", ["\x1b", "\x07", "\x7f", "\u202e"], ids=["escape", "bell", "delete", "right-to-left override"])
def test_a_control_character_in_text_is_a_rule_error_at_its_column(control):
    _rules, errors = parse_rules(_one_rule("如果 户.年度 > 1", f'提示 "清屏{control}[2J"'), "c.rules")
    assert [(error.code, error.location.line, error.location.col) for error in errors] == [("syntax.control", 6, 8)]
    assert f"文字中含有控制字符 U+{ord(control):04X}" in errors[0].message


def test_a_tab_in_text_is_text():
    _rules, errors = parse_rules(_one_rule("如果 户.年度 > 1", '提示 "户主\t姓名"'), "t.rules")
    assert errors == []


def test_a_rule_file_the_system_cannot_open_is_told_why_in_chinese(tmp_path):
    from dangka.dsl.parse import read_rule_file
    loop = tmp_path / "loop.rules"
    loop.symlink_to(loop.name)
    with pytest.raises(RuleError, match="无法读取规则文件：符号链接形成循环"):
        read_rule_file(str(loop))
