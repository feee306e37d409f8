"""docs/rule-language.md as a user reads it: every construct of its tables, written in a rule file and checked."""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections import Counter

import pytest
import yaml

from dangka.cli import main
from test_contract_dossier_spec import check_json

CLEAN, COOKING, LATER = "HN-410727-0101-001", "HN-410727-0101-002", "HN-410727-0101-019"

# (rule id, clauses after the rule's head, how many findings each household gets: clean C, cooking K,
# the clean household recorded in 2019 L). The examples: C has 3 members (52, 50 and 16 years old in
# 2017), cause 因病, standard 国家标准, 3 measures; K has 2 members (73 and 71), cause 缺技术, no standard.
CONSTRUCTS = [
    # 条件: comparison operators and their words
    ("OP-EQ", "如果 户.家庭人数 = 3", {"C": 1, "L": 1}),
    ("OP-EQ-WORD", "如果 户.家庭人数 等于 3", {"C": 1, "L": 1}),
    ("OP-NE", "如果 户.家庭人数 ≠ 3", {"K": 1}),
    ("OP-NE-WORD", "如果 户.家庭人数 不等于 3", {"K": 1}),
    ("OP-LT", "如果 户.家庭人数 < 3", {"K": 1}),
    ("OP-LT-WORD", "如果 户.家庭人数 小于 3", {"K": 1}),
    ("OP-LE", "如果 户.家庭人数 <= 2", {"K": 1}),
    ("OP-LE-WORD", "如果 户.家庭人数 至多 2", {"K": 1}),
    ("OP-GT", "如果 户.家庭人数 > 2", {"C": 1, "L": 1}),
    ("OP-GT-WORD", "如果 户.家庭人数 大于 2", {"C": 1, "L": 1}),
    ("OP-GE", "如果 户.家庭人数 >= 3", {"C": 1, "L": 1}),
    ("OP-GE-WORD", "如果 户.家庭人数 至少 3", {"C": 1, "L": 1}),
    ("OP-EARLIER", "如果 申请书.date 早于 2017-05-12", {"C": 1, "K": 1, "L": 1}),
    ("OP-LATER", "如果 申请书.date 晚于 2017-05-11", {}),
    ("OP-NOT-EARLIER", "如果 申请书.date 不早于 2017-05-11", {"C": 1, "K": 1, "L": 1}),
    ("OP-NOT-LATER", "如果 申请书.date 不晚于 2017-05-10", {}),
    # 在一组值中
    ("SET-IN", "如果 户.主要致贫原因 属于 {因病, 因残}", {"C": 1, "L": 1}),
    ("SET-NOT-IN", "如果 户.主要致贫原因 不属于 {因病, 因残}", {"K": 1}),
    ("SET-POLICY", "对每个 措施\n  如果 措施.措施类别 属于 政策.致贫原因[户.主要致贫原因].适用措施", {"C": 1, "K": 2, "L": 1}),
    # 是否填写
    ("EMPTY", "如果 户.识别标准 为空", {"K": 1}),
    ("NOT-EMPTY", "如果 户.识别标准 不为空", {"C": 1, "L": 1}),
    # 组合, with half-width and full-width brackets
    ("LOGIC", "如果 (户.家庭人数 = 3 或者 户.家庭人数 = 2) 并且 并非 户.主要致贫原因 = 缺技术", {"C": 1, "L": 1}),
    ("LOGIC-FULL-WIDTH", "如果 （户.家庭人数 = 3 或者 户.家庭人数 = 2） 并且 并非 户.主要致贫原因 = 缺技术", {"C": 1, "L": 1}),
    # 量词
    ("Q-EXISTS", "如果 存在 成员 满足 (成员.年龄 > 70)", {"K": 1}),
    ("Q-ALL", "如果 所有 成员 满足 (成员.年龄 > 70)", {"K": 1}),
    ("Q-NONE", "如果 没有 成员 满足 (成员.年龄 > 70)", {"C": 1, "L": 1}),
    ("Q-ALL-OF-NOTHING", '如果 所有 格式问题 满足 (格式问题.原因 = "不会有这个原因")', {"C": 1, "K": 1, "L": 1}),
    # 条数, 求和
    ("COUNT-WHERE", "如果 计数 成员 满足 (成员.年龄 >= 60) = 2", {"K": 1}),
    ("COUNT", "如果 计数 措施 = 3", {"C": 1, "L": 1}),
    ("SUM", "如果 合计 成员.务工时间 满足 (成员.年龄 < 60) = 6", {"C": 1, "L": 1}),
    # 算术; 日期减日期得天数，日期加减整数得日期
    ("ARITH", "如果 户.家庭人数 * 2 + 1 = 7", {"C": 1, "L": 1}),
    ("ARITH-DIVIDE", "如果 收入.工资性收入 / 4 = 1500", {"C": 1, "L": 1}),
    ("ARITH-MINUS", "如果 收入.工资性收入 - 收入.生产经营性支出 = 5400", {"C": 1, "L": 1}),
    ("DATE-MINUS-DATE", "如果 公告.date - 申请书.date = 21", {"C": 1, "K": 1, "L": 1}),
    ("DATE-PLUS-DAYS", "如果 申请书.date + 1 = 2017-05-12", {"C": 1, "K": 1, "L": 1}),
    ("DATE-MINUS-DAYS", "如果 公告.date - 21 = 申请书.date", {"C": 1, "K": 1, "L": 1}),
    # 函数
    ("FN-DAYS", "如果 天数(申请书.date, 公告.date) >= 21", {"C": 1, "K": 1, "L": 1}),
    ("FN-MOBILE", "如果 是手机号(户.联系电话)", {"C": 1, "K": 1, "L": 1}),
    ("FN-ID-VALID", "如果 身份证号有效(户主.身份证号)", {"C": 1, "K": 1, "L": 1}),
    ("FN-ID-INVALID", '如果 身份证号有效("410727196504180117")', {}),
    ("FN-CONTAINS", '如果 包含(普查表.核查人意见, "属实")', {"C": 1, "K": 1, "L": 1}),
    ("FN-LENGTH", "如果 文字长度(户主.姓名) = 3", {"C": 1, "K": 1, "L": 1}),
    # 常量
    ("CONST-BOOL", "如果 生产生活条件.住房安全 = 是 并且 家庭资产.小轿车 = 否", {"C": 1, "K": 1, "L": 1}),
    ("CONST-DECIMAL", "如果 生产生活条件.与村主干路距离 = 0.5", {"C": 1, "L": 1}),
    ("CONST-TEXT", '如果 户主.姓名 = "李国强"', {"C": 1, "L": 1}),
    ("CONST-WORD", "如果 户.主要致贫原因 = 因病", {"C": 1, "L": 1}),
    # 缺失的值: 无法判断, not fired, whatever wraps it
    ("MISSING-NE", "如果 户.识别标准 ≠ 国家标准", {}),
    ("MISSING-NOT", "如果 并非 (户.识别标准 = 国家标准)", {}),
    ("MISSING-IN", "如果 户.识别标准 属于 {省定标准, 市定标准}", {}),
    # 派生值
    ("DERIVED-LABOUR", "如果 户.劳动力人数 = 0", {"K": 1}),
    ("DERIVED-PER-CAPITA-C", "如果 收入.计算人均纯收入 = 2600", {"C": 1, "L": 1}),
    ("DERIVED-PER-CAPITA-K", "如果 收入.计算人均纯收入 = 1460", {"K": 1}),
    ("DERIVED-NOTICE-DAYS", "对每个 公示\n  如果 公示.公示天数 = 7", {"C": 2, "K": 2, "L": 2}),
    ("DERIVED-AGE-73", "对每个 成员\n  如果 成员.年龄 = 73", {"K": 1}),
    ("DERIVED-AGE-16", "对每个 成员\n  如果 成员.年龄 = 16", {"C": 1}),
    ("DERIVED-AGE-18", "对每个 成员\n  如果 成员.年龄 = 18", {"L": 1}),
    ("DERIVED-ID-CHECK", "如果 所有 成员 满足 (成员.身份证号校验通过 = 是)", {"C": 1, "K": 1, "L": 1}),
    # 每户一条的记录 and 按类别取出的一条
    ("SINGLE-RECORDS", "如果 收入.工资性收入 = 6000 并且 生产生活条件.住房安全 = 是 并且 家庭资产.小轿车 = 否"
                       " 并且 普查表.核查人意见 不为空 并且 采集表.filled_date = 2017-06-05 并且 申请书.signed = 是",
     {"C": 1, "L": 1}),
    ("NAMED-MEETINGS", "如果 党支部提议.会议日期 = 2017-05-12 并且 两委商议.date = 2017-05-13 并且 党员大会.应到人数 = 30"
                       " 并且 村民代表会议.实到人数 = 33 并且 村级公示.start = 2017-05-16 并且 乡级公示.end = 2017-05-30",
     {"C": 1, "K": 1, "L": 1}),
    ("NAMED-CONTACTS", "如果 明白卡组长.name = 吴建军 并且 明白卡第一书记.name = 周振华 并且 明白卡帮扶人.name = 孙丽华",
     {"C": 1, "L": 1}),
    ("REGISTRY-VALUE", '对每个 明白卡联系人\n  如果 明白卡联系人.登记电话 ≠ "没有这个电话"', {"C": 3, "K": 3, "L": 3}),
    # 政策参数 and 政策表, by the dossier's year (扶贫小额信贷 最高年龄 60, 65 from 2019)
    ("POLICY-PARAMETERS", "如果 政策.公示最少天数 = 7 并且 政策.帮扶户数上限 = 5 并且 政策.贫困线 > 0", {"C": 1, "K": 1, "L": 1}),
    ("POLICY-TABLE-2017", "如果 政策.帮扶措施[扶贫小额信贷].最高年龄 = 60", {"C": 1, "K": 1}),
    ("POLICY-TABLE-2019", "如果 政策.帮扶措施[扶贫小额信贷].最高年龄 = 65", {"L": 1}),
    # policies.md: a parameter's aliases and a row's aliases are other names for it (缺劳力 = 缺劳动力)
    ("POLICY-ALIASES", "如果 政策.扶贫标准 = 政策.贫困线 并且 低保兜底 属于 政策.致贫原因[缺劳动力].适用措施",
     {"C": 1, "K": 1, "L": 1}),
    # 字段: 中文名和英文名等价
    ("ENGLISH-NAMES", "对每个 members\n  如果 members.age > 70", {"K": 2}),
    ("MIXED-NAMES", "对每个 成员\n  如果 members.age > 70 并且 成员.health = 长期慢性病", {"K": 2}),
    # 对每个: one finding per record that fails
    ("FOR-EACH", "对每个 成员\n  如果 成员.年龄 > 0", {"C": 3, "K": 2, "L": 3}),
    # 适用年度 and 适用地区
    ("YEARS-RANGE", "适用年度 2016 至 2020\n  如果 户.年度 > 0", {"C": 1, "K": 1, "L": 1}),
    ("YEARS-FROM", "适用年度 2018 起\n  如果 户.年度 > 0", {"L": 1}),
    ("YEARS-UNTIL", "适用年度 至 2017\n  如果 户.年度 > 0", {"C": 1, "K": 1}),
    ("YEARS-ONE", "适用年度 2017 至 2017\n  如果 户.年度 > 0", {"C": 1, "K": 1}),
    ("REGION-PROVINCE", "适用地区 河南省\n  如果 户.年度 > 0", {"C": 1, "K": 1, "L": 1}),
    ("REGION-OTHER-PROVINCE", "适用地区 湖北省\n  如果 户.年度 > 0", {}),
    ("REGION-LIST", "适用地区 湖北省、河南省\n  如果 户.年度 > 0", {"C": 1, "K": 1, "L": 1}),
    ("REGION-COUNTY", "适用地区 封丘县\n  如果 户.年度 > 0", {"C": 1, "K": 1, "L": 1}),
    ("REGION-OTHER-COUNTY", "适用地区 兰考县\n  如果 户.年度 > 0", {}),
    # 推出事实: read like a field; 未推出即为否
    ("DERIVED-FACT", "如果 户.三口之家", {"C": 1, "L": 1}),
    ("DERIVED-FACT-NOT", "如果 并非 户.三口之家", {"K": 1}),
    # `#` comments, anywhere
    ("COMMENTS", "# 规则内的注释\n  如果 户.年度 = 2017  # 行尾注释", {"C": 1, "K": 1}),
]

HEAD = '规则 {id} "{id} 的标题"\n  类别 form.missing\n  严重程度 低\n  依据 "测试依据"\n'
EXTRA_RULES = '''
规则 DERIVE-T-001 "家中恰有三口人"
  依据 "测试依据"
  如果 户.家庭人数 = 3
  结论 三口之家

rule EN-ALL-001 "全部英文关键字"
  category plan.capacity_mismatch
  severity high
  basis "测试依据"
  for each 成员
  when 成员.年龄 > 70
  message "{成员.姓名}：{成员.年龄} 岁"
  recommend 健康扶贫、低保兜底

规则 MIXED-KEYWORDS-001 "中英文关键字混用"
  category form.invalid
  严重程度 medium
  依据 "测试依据"
  when 户.家庭人数 = 2

规则 SEVERITY-MID-001 "严重程度 中"
  类别 form.inconsistent
  严重程度 中
  依据 "测试依据"
  如果 户.家庭人数 = 2

规则 MESSAGE-001 "标题不是提示"
  类别 form.missing
  严重程度 高
  依据 "测试依据"
  如果 户.家庭人数 = 3
  提示 "{户.主要致贫原因}/{户主.姓名}/{收入.工资性收入}"

规则 NO-MESSAGE-001 "没有提示时用标题"
  类别 form.missing
  严重程度 低
  依据 "测试依据"
  如果 户.家庭人数 = 2

规则 ONE-LINE-001 "写在一行里" 类别 form.missing 严重程度 低 依据 "测试依据" 如果 户.家庭人数 = 2 并且 户.年度 = 2017
'''


def rule_text(rule_id: str, clauses: str) -> str:
    """A rule with the head every construct shares; its id is T-<rule_id>."""
    return HEAD.format(id=f"T-{rule_id}") + "  " + clauses + "\n"


@pytest.fixture(scope="module")
def checked(tmp_path_factory, examples_dir):
    """The examples and the clean household recorded in 2019, checked once with every rule of CONSTRUCTS."""
    folder = tmp_path_factory.mktemp("households")
    for name in ("clean.yaml", "cooking.yaml", "registry.yaml"):
        shutil.copy(examples_dir / name, folder / name)
    later = yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))
    later = copy.deepcopy(later)
    later["id"], later["year"] = LATER, 2019
    (folder / "later.json").write_text(json.dumps(later, ensure_ascii=False, default=str), encoding="utf-8")
    rules = tmp_path_factory.mktemp("rules") / "constructs.rules"
    rules.write_text("\n".join(rule_text(rule_id, clauses) for rule_id, clauses, _ in CONSTRUCTS) + EXTRA_RULES,
                     encoding="utf-8")
    out = folder.parent / "constructs.json"
    code = main(["check", str(folder), "--rules", str(rules), "--format", "json", "--out", str(out), "--jobs", "1",
                 "--no-mask"])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert code == 0 and not report["errors"], report["errors"]
    return {household["id"]: household for household in report["households"]}


def fired(checked, household_id: str) -> Counter:
    return Counter(finding["rule"] for finding in checked[household_id]["findings"])


@pytest.mark.parametrize("rule_id, clauses, expected", CONSTRUCTS, ids=[row[0] for row in CONSTRUCTS])
def test_each_construct_fires_where_the_document_says(checked, rule_id, clauses, expected):
    got = {key: fired(checked, household_id)[f"T-{rule_id}"]
           for key, household_id in (("C", CLEAN), ("K", COOKING), ("L", LATER))}
    assert got == {key: expected.get(key, 0) for key in "CKL"}


def finding_of(checked, household_id: str, rule_id: str) -> dict:
    return next(finding for finding in checked[household_id]["findings"] if finding["rule"] == rule_id)


def test_english_keywords_give_category_severity_message_and_measures(checked):
    findings = [finding for finding in checked[COOKING]["findings"] if finding["rule"] == "EN-ALL-001"]
    assert sorted(finding["message"] for finding in findings) == ["刘桂英：71 岁", "张德福：73 岁"]
    assert {(finding["category"], finding["severity"], tuple(finding["recommend"])) for finding in findings} == {
        ("plan.capacity_mismatch", "high", ("健康扶贫", "低保兜底"))}
    assert fired(checked, CLEAN)["EN-ALL-001"] == 0


def test_chinese_and_english_keywords_mix_in_one_rule(checked):
    finding = finding_of(checked, COOKING, "MIXED-KEYWORDS-001")
    assert (finding["category"], finding["severity"]) == ("form.invalid", "medium")


@pytest.mark.parametrize("rule_id, household_id, severity", [
    ("MESSAGE-001", CLEAN, "high"), ("SEVERITY-MID-001", COOKING, "medium"), ("NO-MESSAGE-001", COOKING, "low")])
def test_severity_words_are_written_high_medium_low(checked, rule_id, household_id, severity):
    assert finding_of(checked, household_id, rule_id)["severity"] == severity


def test_message_braces_show_the_values_read(checked):
    assert finding_of(checked, CLEAN, "MESSAGE-001")["message"] == "因病/李国强/6000"


def test_without_a_message_the_title_is_the_message(checked):
    finding = finding_of(checked, COOKING, "NO-MESSAGE-001")
    assert finding["message"] == finding["title"] == "没有提示时用标题"


def test_line_breaks_only_help_reading_a_rule_on_one_line_means_the_same(checked):
    assert fired(checked, COOKING)["ONE-LINE-001"] == 1 and fired(checked, CLEAN)["ONE-LINE-001"] == 0


def test_a_conclusion_is_no_finding_of_its_own(checked):
    assert all(fired(checked, household_id)["DERIVE-T-001"] == 0 for household_id in (CLEAN, COOKING, LATER))


def test_registry_values_are_missing_without_a_registry_and_their_rules_stay_silent(tmp_path, examples_dir):
    shutil.copy(examples_dir / "cooking.yaml", tmp_path / "cooking.yaml")
    rules = tmp_path / "registry.rules"
    rule_id, clauses, _ = next(row for row in CONSTRUCTS if row[0] == "REGISTRY-VALUE")
    rules.write_text(rule_text(rule_id, clauses), encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["check", str(tmp_path / "cooking.yaml"), "--rules", str(rules), "--format", "json", "--out", str(out),
                 "--jobs", "1"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["households"][0]["findings"] == []


# ---- records named in the document are known to the checker -------------------------------------

SINGLE_RECORDS = ["户", "收入", "生产生活条件", "家庭资产", "普查表", "采集表", "申请书", "公告", "驻村"]
# each with a field the document itself writes for it (其他致贫原因 has none there)
MANY_RECORDS = {"成员": "姓名", "措施": "措施类别", "其他致贫原因": None, "会议": "实到人数", "公示": "公示天数",
                "明白卡联系人": "登记电话", "帮扶责任人": "帮扶户数", "格式问题": "原因"}
NAMED_RECORDS = ["户主", "党支部提议", "两委商议", "党员大会", "村民代表会议", "村级公示", "乡级公示", "明白卡组长",
                 "明白卡第一书记", "明白卡帮扶人"]


def lint(capsys, path) -> tuple[int, str]:
    code = main(["lint", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("record", SINGLE_RECORDS + NAMED_RECORDS + list(MANY_RECORDS))
def test_each_record_of_the_document_is_known(capsys, tmp_path, record):
    """A made-up field of a known record is an unknown field, never an unknown record."""
    path = tmp_path / "r.rules"
    path.write_text(rule_text("REC-001", f"如果 {record}.不存在的字段 = 1"), encoding="utf-8")
    code, out = lint(capsys, path)
    assert code == 2 and "name.unknown_field" in out and "name.unknown_entity" not in out


@pytest.mark.parametrize("record", MANY_RECORDS)
def test_records_many_to_a_household_need_for_each_or_a_quantifier(capsys, tmp_path, record):
    path = tmp_path / "r.rules"
    field = MANY_RECORDS[record]
    if field:
        path.write_text(rule_text("REC-001", f"如果 {record}.{field} 为空"), encoding="utf-8")
        code, out = lint(capsys, path)
        assert code == 2 and "scope.collection" in out
        path.write_text(rule_text("REC-001", f"对每个 {record}\n  如果 {record}.{field} 为空"), encoding="utf-8")
        assert lint(capsys, path)[0] == 0
    path.write_text(rule_text("REC-001", f"如果 计数 {record} >= 0"), encoding="utf-8")
    assert lint(capsys, path)[0] == 0


# ---- 常见错误: the codes no other test provokes through a rule file ------------------------------


def test_lint_of_a_correct_file_exits_0_and_an_error_is_file_line_col_code_message(capsys, tmp_path):
    path = tmp_path / "r.rules"
    path.write_text(rule_text("LINT-001", "如果 户.家庭人数 > 1"), encoding="utf-8")
    assert lint(capsys, path)[0] == 0
    path.write_text(rule_text("LINT-001", "如果 户.家庭人口 > 1"), encoding="utf-8")
    code, out = lint(capsys, path)
    assert code == 2 and f"{path}:5:6: name.unknown_field: " in out
    assert "户.家庭人数" in out  # the closest right spelling
    assert "^" in out


def test_category_input_invalid_is_not_a_rule_category(capsys, tmp_path):
    path = tmp_path / "r.rules"
    path.write_text(HEAD.format(id="CAT-001").replace("form.missing", "input.invalid") + "  如果 户.家庭人数 > 1\n",
                    encoding="utf-8")
    code, out = lint(capsys, path)
    assert code == 2 and "rule.category" in out


def test_a_rule_file_that_is_not_text_is_file_binary(capsys, tmp_path):
    path = tmp_path / "r.rules"
    path.write_bytes(b"\x00\x01\x02PK\x03\x04" * 64)
    code, out = lint(capsys, path)
    assert code == 2 and "file.binary" in out


def test_a_huge_rule_file_is_file_too_large(capsys, tmp_path):
    path = tmp_path / "r.rules"
    line = "# " + "很长的注释" * 40 + "\n"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(rule_text("BIG-001", "如果 户.家庭人数 > 1"))
        stream.write(line * (8 * 1024 * 1024 // len(line.encode("utf-8")) + 1))
    code, out = lint(capsys, path)
    assert code == 2 and "file.too_large" in out


def test_a_rule_too_complex_for_the_engine_is_compile_unsupported_at_lint(capsys, tmp_path):
    """Six bracketed either-or parts joined by 并且 expand to 64 cases."""
    condition = " 并且 ".join(f"(户.年度 = {2000 + part} 或者 户.家庭人数 = {part})" for part in range(6))
    path = tmp_path / "r.rules"
    path.write_text(rule_text("BIG-002", f"如果 {condition}"), encoding="utf-8")
    code, out = lint(capsys, path)
    assert code == 2 and f"{path}:5:6: compile.unsupported: " in out


@pytest.mark.parametrize("rule_id, accepted", [("FORM-EXIT-001", True), ("A1-B", True), ("FORMEXIT001", False),
                                               ("1FORM-001", False), ("form-exit-001", False)])
def test_a_rule_id_is_as_the_manual_says(capsys, tmp_path, rule_id, accepted):
    """rule-language.md: 编号以大写字母开头，由大写字母、数字和连字符组成，至少有一个连字符."""
    path = tmp_path / "r.rules"
    path.write_text(HEAD.format(id=rule_id) + "  如果 户.家庭人数 > 1\n", encoding="utf-8")
    code, out = lint(capsys, path)
    if accepted:
        assert code == 0, out
    else:
        assert code == 2 and "syntax.rule_id" in out and "至少有一个连字符" in out, out


# ---- docs/policies.md: the policy files drive the check ---------------------------------------------


@pytest.fixture
def policies_copy(tmp_path, repo_root):
    """A copy of the shipped policy folder, to change as a policy officer would."""
    folder = tmp_path / "policies"
    shutil.copytree(repo_root / "knowledge" / "policies", folder)
    return folder


def _with_five_day_notice(examples_dir, folder) -> None:
    """The clean household, its village notice running five days (16 to 20 May), alone in a folder."""
    household = yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))
    household["procedure"]["publicity"][0]["end"] = "2017-05-20"
    folder.mkdir()
    (folder / "household.json").write_text(json.dumps(household, ensure_ascii=False, default=str), encoding="utf-8")
    shutil.copy(examples_dir / "registry.yaml", folder / "registry.yaml")


def test_a_province_rewrite_of_notice_days_changes_the_check(tmp_path, examples_dir, policies_copy):
    parameters = policies_copy / "parameters.yaml"
    lines = parameters.read_text(encoding="utf-8").splitlines(keepends=True)
    block = next(number for number, line in enumerate(lines) if line.strip() == "notice_min_days:")
    values = next(number for number in range(block, len(lines)) if lines[number].strip() == "values:")
    indent = lines[values][: len(lines[values]) - len(lines[values].lstrip())]
    last_value = next(number for number in range(values + 1, len(lines)) if not lines[number].strip().startswith("- "))
    lines[last_value:last_value] = [f"{indent}regional:\n", f"{indent}  河南省:\n",
                                    f'{indent}    - {{from: 2016, value: 5, reference: "测试用的省级细则"}}\n']
    parameters.write_text("".join(lines), encoding="utf-8")
    _with_five_day_notice(examples_dir, tmp_path / "data")
    _, national = check_json(tmp_path / "national.json", str(tmp_path / "data"))
    _, henan = check_json(tmp_path / "henan.json", str(tmp_path / "data"), "--policies", str(policies_copy))
    assert "procedure.order" in {finding["category"] for finding in national["households"][0]["findings"]}
    assert henan["households"][0]["findings"] == []


def test_a_different_dictionary_in_a_policy_folder_is_an_error_for_lint_and_check(capsys, examples_dir,
                                                                                  policies_copy):
    dictionary = policies_copy / "dictionary.yaml"
    dictionary.write_text(dictionary.read_text(encoding="utf-8").replace("aliases: [低保户]", "aliases: [低保户, 低保]"),
                          encoding="utf-8")
    assert main(["lint", "--policies", str(policies_copy)]) == 2
    assert main(["check", str(examples_dir), "--policies", str(policies_copy), "--jobs", "1"]) == 2
    assert "dictionary.yaml" in capsys.readouterr().err


def test_a_value_without_reference_is_refused_with_file_and_line(capsys, examples_dir, policies_copy):
    parameters = policies_copy / "parameters.yaml"
    lines = parameters.read_text(encoding="utf-8").splitlines(keepends=True)
    block = next(number for number, line in enumerate(lines) if line.strip() == "notice_min_days:")
    row = next(number for number in range(block, len(lines)) if lines[number].strip().startswith("- {from:"))
    lines[row] = re.sub(r", reference: .*\}", "}", lines[row])
    parameters.write_text("".join(lines), encoding="utf-8")
    assert main(["check", str(examples_dir), "--policies", str(policies_copy), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert re.search(rf"parameters\.yaml:{row + 1}: policy\.invalid: .*notice_min_days.*reference", err), err
