"""`dangka fmt`: parse → format → parse is the identity, comments stay, formatting is stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from dangka.cli import main
from dangka.dsl.format import format_text
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
    assert formatted == ('# 文件说明\n# 行尾注释\nrule A-1 "t"\n  basis "b"\n  when household.year > 2016\n  conclude x\n\n'
                         '# 下一条\n规则 B-1 "u"\n  依据 "b"\n  如果 户.x\n  结论 y\n')


def test_fmt_command_rewrites_and_checks(tmp_path, capsys):
    path = tmp_path / "r.rules"
    path.write_text('规则 A-1 "t"\n 依据 "b"\n 如果 户.年度>2016 并且(户.家庭人数<2)\n 结论 x\n', encoding="utf-8")
    assert main(["fmt", "--check", str(path)]) == 1
    assert main(["fmt", str(path)]) == 0
    assert "如果 户.年度 > 2016 并且 户.家庭人数 < 2" in path.read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(path)]) == 0
    capsys.readouterr()
