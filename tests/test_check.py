"""The checker's semantic passes: one bad snippet per error code, with the message users see."""

from __future__ import annotations

import pytest

from dangka.dsl.check import check_rules
from dangka.dsl.parse import RuleErrors
from dangka.dsl.transform import parse_rules
from dangka.engine.knowledge import Knowledge
from dangka.i18n import set_lang
from dangka.policy import Policies

HEAD = '规则 FORM-T-001 "测试"\n  类别 form.missing\n  严重程度 高\n  依据 "测试依据"\n'

# (code, rule text after the head, message pattern): the semantic error catalogue.
SEMANTIC_EXAMPLES = [
    ("name.unknown_field", "  如果 成员.健康装况 = 健康\n  对每个 成员\n", "你是不是想写 成员.健康状况"),
    ("name.unknown_entity", "  如果 成圆.年龄 > 1\n", "不认识的记录类别“成圆”"),
    ("name.needs_field", "  如果 收入 > 1\n", "还要写出它的字段"),
    ("scope.collection", "  如果 成员.年龄 > 60\n", "请用“对每个 成员”"),
    ("scope.single", "  如果 存在 收入 满足 (收入.工资性收入 > 1)\n", "每户只有一条"),
    ("scope.nested", "  对每个 成员\n  如果 存在 成员 满足 (成员.年龄 > 1)\n", "已经在外层取过一次"),
    ("type.mismatch", "  如果 申请书.申请日期 > 3\n", "不能比较日期和整数"),
    ("type.order", "  如果 户.主要致贫原因 > 因病\n", "只能比较相等或不等"),
    ("type.arithmetic", "  如果 户.主要致贫原因 + 1 > 2\n", "不能对文字和整数做“\\+”运算"),
    ("type.not_condition", "  如果 户.家庭人数 + 1\n", "这里要写一个条件"),
    ("type.not_a_set", "  如果 户.主要致贫原因 属于 户.年度\n", "右边要写一组值"),
    ("type.sum", "  如果 合计 成员.姓名 > 1\n", "只能用于数字字段"),
    ("type.arguments", "  如果 天数(申请书.申请日期) > 1\n", "要 2 个参数"),
    ("value.unknown_word", "  如果 户.主要致贫原因 = 因并\n", "“因并”不是“致贫原因”的取值，你是不是想写 因病"),
    ("policy.unknown", "  如果 户.家庭人数 > 政策.贫困线上限\n", "没有名为“贫困线上限”的政策参数"),
    ("policy.unknown_table", "  如果 户.主要致贫原因 属于 政策.原因表[户.主要致贫原因].适用措施\n", "没有名为“政策.原因表”的政策表"),
    ("policy.unknown_column", "  如果 户.主要致贫原因 属于 政策.致贫原因[户.主要致贫原因].措施\n", "没有列“措施”"),
    ("policy.unknown_row", "  如果 政策.帮扶措施[小额信贷].最高年龄 > 1\n", "没有“小额信贷”这一行，你是不是想写 扶贫小额信贷"),
    ("name.unknown_function", "  如果 天数差(申请书.申请日期, 申请书.申请日期) > 1\n", "没有名为“天数差”的函数"),
    ("rule.no_condition", "", "缺少“如果”条件"),
    ("rule.recommend", "  如果 户.家庭人数 > 1\n  推荐措施 健康扶贫、吃饭补贴\n", "不在帮扶措施目录中"),
]


def _errors(text: str):
    rule_file, syntax = parse_rules(text, "t.rules")
    assert syntax == []
    return check_rules([rule_file], Policies.load()).errors


@pytest.mark.parametrize("code,body,message", SEMANTIC_EXAMPLES, ids=[row[0] for row in SEMANTIC_EXAMPLES])
def test_each_semantic_error_has_its_code_and_message(code, body, message):
    errors = _errors(HEAD + body)
    assert [error.code for error in errors] == [code], [error.render() for error in errors]
    assert errors[0].location.file == "t.rules" and errors[0].location.line >= 1
    with pytest.raises(RuleErrors, match=message):
        raise RuleErrors(errors)


def test_metadata_errors():
    errors = _errors('规则 FORM-T-001 "x"\n  类别 form.missingg\n  严重程度 很高\n  如果 户.家庭人数 > 1\n'
                     '规则 FORM-T-001 "y"\n  严重程度 低\n  依据 "b"\n  如果 户.家庭人数 > 1\n  适用年度 2020 至 2016\n')
    codes = sorted(error.code for error in errors)
    assert codes == ["rule.category", "rule.duplicate_id", "rule.no_basis", "rule.no_category", "rule.severity", "rule.years"]
    category = next(error for error in errors if error.code == "rule.category")
    assert "form.missing" in category.message


def test_derived_facts_unused_and_cycles():
    text = ('规则 D-A-1 "a"\n 依据 "b"\n 如果 户.乙事实\n 结论 甲事实\n'
            '规则 D-B-1 "b"\n 依据 "b"\n 如果 户.甲事实\n 结论 乙事实\n'
            '规则 D-C-1 "c"\n 依据 "b"\n 如果 户.家庭人数 > 9\n 结论 丙事实\n')
    codes = sorted(error.code for error in _errors(text))
    assert codes == ["derived.cycle", "derived.unused"]


def test_messages_in_english_on_request():
    set_lang("en")
    try:
        errors = _errors(HEAD + "  如果 成员.健康装况 = 健康\n  对每个 成员\n")
    finally:
        set_lang("zh")
    assert "did you mean" in errors[0].message


def test_enum_aliases_become_the_canonical_word(sample_knowledge):
    errors = _errors(HEAD + "  如果 户.主要致贫原因 = 缺劳动力\n")
    assert errors == []


def test_lint_reports_every_error_sorted(tmp_path):
    (tmp_path / "b.rules").write_text(HEAD + "  如果 成员.年龄 > 1\n", encoding="utf-8")
    (tmp_path / "a.rules").write_text(HEAD.replace("T-001", "T-002") + "  如果 户.年度 > 2017-01-01\n", encoding="utf-8")
    with pytest.raises(RuleErrors) as caught:
        Knowledge.load([tmp_path])
    places = [(error.location.file.split("/")[-1], error.code) for error in caught.value.errors]
    assert places == [("a.rules", "type.mismatch"), ("b.rules", "scope.collection")]


def test_a_value_word_that_also_names_a_record_is_a_value():
    errors = _errors(HEAD + "  如果 计数 会议 满足 (会议.会议类别 = 党支部提议) > 1 "
                            "并且 计数 成员 满足 (户主 = 成员.与户主关系) > 1 "
                            "并且 计数 会议 满足 (会议.会议类别 属于 {党支部提议, 两委商议}) > 9\n")
    assert errors == []


def test_every_record_and_field_label_can_be_written_in_a_rule():
    """Rule writers type the contract's Chinese labels: each must read as one name."""
    from dangka import contract
    from dangka.dsl.parse import parser

    for entity in contract.ENTITIES.values():
        parser().parse(f'规则 A-1 "t"\n 依据 "b"\n 如果 {entity.label}.x > 1\n 结论 y\n')
        for field in entity.fields:
            parser().parse(f'规则 A-1 "t"\n 依据 "b"\n 如果 户.{field.label} > 1 并且 户.{field.key} > 1\n 结论 y\n')


def test_a_rules_folder_without_rule_files_is_an_error_not_a_clean_check(tmp_path, capsys, examples_dir):
    from dangka.cli import main
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "notes.txt").write_text("规则写在 .rules 文件里", encoding="utf-8")
    for command in (["lint", str(tmp_path / "rules")], ["check", str(examples_dir), "--rules", str(tmp_path / "rules")]):
        assert main(command) == 2
        assert f"{tmp_path / 'rules'}: file.none: 文件夹 {tmp_path / 'rules'} 中没有规则文件（.rules）" in capsys.readouterr().err
