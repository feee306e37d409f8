"""shared/spec/dossier.md as its users read it: dossiers written to the text, checked through `dangka check`."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re

import pytest
import yaml

from dangka.cli import main

# ---- helpers shared by the contract test files -----------------------------------------------------


def dump_jsonl(path, dossiers) -> None:
    """Dossiers as JSON Lines, dates written as ISO text (as a JSON file holds them)."""
    path.write_text("".join(json.dumps(dossier, ensure_ascii=False, default=str) + "\n" for dossier in dossiers),
                    encoding="utf-8")


def check_json(out, *args: str) -> tuple[int, dict]:
    """`dangka check ... --format json --out OUT` run in this process: its exit status and document."""
    code = main(["check", *args, "--format", "json", "--out", str(out), "--jobs", "1"])
    return code, json.loads(out.read_text(encoding="utf-8"))


def registry_for(examples_dir, helper_ids, extra_villages=()) -> dict:
    """The example registry with one more helper like 孙丽华 (the clean card's helper) for each id."""
    registry = yaml.safe_load((examples_dir / "registry.yaml").read_text(encoding="utf-8"))
    registry["helpers"] += [{"id": helper_id, "name": "孙丽华", "unit": "U-FQ-WJ", "position": "副科长",
                             "phone": "13803731102"} for helper_id in helper_ids]
    registry["villages"] += list(extra_villages)
    return registry


def categories_of(household: dict) -> set[str]:
    return {finding["category"] for finding in household["findings"]}


def with_check_digit(first17: str) -> str:
    """An identity number completed with its GB 11643 check character."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(digit) * weight for digit, weight in zip(first17, weights)) % 11]


# ---- one run over dossiers each changed the way one statement of the contract allows or forbids ----------


def _codes(dossier: dict, dictionary: dict) -> None:
    """Every enumeration word of the clean household replaced by its national code (knowledge/policies/dictionary.yaml)."""
    code_of = {enumeration: {entry["word"]: entry["code"] for entry in spec["words"]}
               for enumeration, spec in dictionary.items() if isinstance(spec, dict) and "words" in spec}
    member_fields = {"relation": "relation", "sex": "sex", "education": "education", "in_school": "in_school",
                     "health": "health", "labor": "labor", "work_status": "work_status"}
    for field, enumeration in {"attribute": "attribute", "standard": "standard", "status": "status",
                               "primary_cause": "cause"}.items():
        dossier[field] = code_of[enumeration][dossier[field]]
    dossier["other_causes"] = [code_of["cause"][cause] for cause in dossier["other_causes"]]
    for member in dossier["members"]:
        for field, enumeration in member_fields.items():
            if member.get(field) is not None:
                member[field] = code_of[enumeration][member[field]]


def _unknown_keys(dossier: dict) -> None:
    dossier["remarks"] = {"录入员": "王五", "batch": 3}
    dossier["region"]["province"] = "河南省"
    dossier["members"][0]["wechat"] = "li-guoqiang"
    dossier["income"]["notes"] = ["年底补录"]
    dossier["measures"][0]["funding_source"] = "县财政"
    dossier["forms"]["survey"]["scanned"] = True
    dossier["procedure"]["meetings"][0]["location"] = "村委会"


def _meeting(index: int, **values):
    return lambda dossier: dossier["procedure"]["meetings"][index].update(values)


def _notice(index: int, **values):
    return lambda dossier: dossier["procedure"]["publicity"][index].update(values)


# name → (how the clean household is changed, what the contract says: "clean", a category, or "reported")
VARIANTS = {
    "base": (lambda dossier: None, "clean"),
    "unknown-keys": (_unknown_keys, "clean"),
    "codes": ("codes", "clean"),
    "two-other-causes": (lambda dossier: dossier.update(other_causes=["因学", "缺资金"]), "clean"),
    "work-months-negative": (lambda dossier: dossier["members"][1].update(work_months=-1), "form.invalid"),
    "primary-cause-missing": (lambda dossier: dossier.pop("primary_cause"), "reported"),
    "primary-cause-two": (lambda dossier: dossier.update(primary_cause=["因病", "因学"]), "reported"),
    "amount-absent": (lambda dossier: dossier["measures"][0].pop("amount"), "clean"),
    "household-measure": (lambda dossier: dossier["measures"].append(
        {"kind": "光伏扶贫", "content": "村光伏电站收益分红", "year": 2017}), "clean"),
    "application-on-proposal-day": (lambda dossier: dossier["procedure"]["application"].update(date="2017-05-12"),
                                    "clean"),
    "village-notice-on-resolution-day": (_notice(0, start="2017-05-15", end="2017-05-21"), "procedure.order"),
    "township-notice-on-village-end": (_notice(1, start="2017-05-22", end="2017-05-28"), "procedure.order"),
    "township-notice-six-days": (_notice(1, end="2017-05-29"), "procedure.order"),
    "announcement-on-township-end": (lambda dossier: dossier["procedure"]["announcement"].update(date="2017-05-30"),
                                     "procedure.order"),
    "party-quorum-two-thirds": (_meeting(2, attended=20, signed_in=20, votes_for=18, votes_against=2), "clean"),
    "party-quorum-short": (_meeting(2, attended=19, signed_in=19, votes_for=17, votes_against=2),
                           "procedure.record_mismatch"),
    "cause-spelled-long": (lambda dossier: dossier.update(primary_cause="缺劳动力"), "same-as:cause-spelled-short"),
    "cause-spelled-short": (lambda dossier: dossier.update(primary_cause="缺劳力"), None),
}


@pytest.fixture(scope="module")
def variants_checked(tmp_path_factory, examples_dir, repo_root):
    """Every variant of VARIANTS checked in one run, each with its own helper so that no helper is overloaded."""
    folder = tmp_path_factory.mktemp("variants")
    clean = yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))
    dictionary = yaml.safe_load((repo_root / "knowledge" / "policies" / "dictionary.yaml").read_text(encoding="utf-8"))
    dossiers = {}
    for number, (name, (change, _)) in enumerate(VARIANTS.items()):
        dossier = copy.deepcopy(clean)
        dossier["id"], dossier["helpers"] = f"V-{name}", [f"H-V{number}"]
        if name.startswith("cause-spelled"):  # the notices name the cause as the dossier's short word
            for entry in [notice["entry"] for notice in dossier["procedure"]["publicity"]]:
                entry["cause"] = "缺劳力"
            dossier["procedure"]["announcement"]["entry"]["cause"] = "缺劳力"
        if change == "codes":
            _codes(dossier, dictionary)
        else:
            change(dossier)
        dossiers[dossier["id"]] = dossier
    # one file holding many dossiers: a mapping with a `households:` list (and a key of its own, ignored)
    (folder / "households.json").write_text(
        json.dumps({"households": list(dossiers.values()), "exported_by": "县扶贫办"}, ensure_ascii=False, default=str),
        encoding="utf-8")
    registry = registry_for(examples_dir, [f"H-V{number}" for number in range(len(VARIANTS))])
    registry["exported"] = "2018-01-05"  # unknown keys are kept and ignored, in the registry too
    registry["helpers"][-1]["wechat"] = "sunlihua"
    (folder / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    code, report = check_json(folder.parent / "variants.json", str(folder), "--no-mask")
    return code, report, dossiers


def _household(variants_checked, name: str) -> dict | None:
    _, report, _ = variants_checked
    return next((household for household in report["households"] if household["id"] == f"V-{name}"), None)


def _error(variants_checked, name: str) -> dict | None:
    _, report, dossiers = variants_checked
    return next((error for error in report["errors"] if f"V-{name}" in error["message"]), None)


def test_the_run_of_variants_completes_with_every_household(variants_checked):
    code, report, dossiers = variants_checked
    assert code in (0, 1)
    assert len(report["households"]) + len(report["errors"]) == len(dossiers)


def _expectation_ids():
    return [name for name, (_, expected) in VARIANTS.items() if expected is not None]


@pytest.mark.parametrize("name", _expectation_ids())
def test_each_variant_gets_what_the_contract_says(variants_checked, name):
    expected = VARIANTS[name][1]
    household, error = _household(variants_checked, name), _error(variants_checked, name)
    if expected == "clean":
        assert error is None and household is not None and household["findings"] == [], household or error
    elif expected == "reported":
        assert error is not None or (household is not None and household["findings"]), "nothing reported"
    elif expected.startswith("same-as:"):
        other = _household(variants_checked, expected.removeprefix("same-as:"))
        assert household is not None and other is not None
        assert sorted(f["rule"] for f in household["findings"]) == sorted(f["rule"] for f in other["findings"])
        assert "procedure.publicity_mismatch" not in categories_of(household)
    else:
        assert household is not None and expected in categories_of(household), household or error


def test_a_households_file_with_a_key_of_its_own_is_read(variants_checked):
    _, report, _ = variants_checked
    assert all(error["category"] == "input.invalid" and "V-" in error["message"] for error in report["errors"])


# ---- the responsibility registry: findings about a helper or a village on every household -------------


def _village_households(clean: dict, count: int, year: int = 2017, helper: str = "H-002") -> list[dict]:
    households = []
    for number in range(count):
        household = copy.deepcopy(clean)
        household["id"], household["year"], household["helpers"] = f"R-{year}-{number}", year, [helper]
        for form in ("survey", "collection"):
            household["forms"][form]["year"] = year
        households.append(household)
    return households


@pytest.fixture
def clean_once(examples_dir) -> dict:
    return yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("count, overloaded", [(5, False), (6, True)])
def test_a_helper_carries_at_most_five_households_and_overload_is_on_every_one(tmp_path, examples_dir, clean_once,
                                                                                count, overloaded):
    dump_jsonl(tmp_path / "village.jsonl", _village_households(clean_once, count))
    out = tmp_path / "out.json"
    code = main(["check", str(tmp_path / "village.jsonl"), "--registry", str(examples_dir / "registry.yaml"),
                 "--format", "json", "--out", str(out), "--jobs", "2"])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert code == 0 and len(report["households"]) == count
    assert all(("responsibility.overload" in categories_of(household)) == overloaded
               for household in report["households"])


def test_a_helpers_load_counts_the_households_of_one_year(tmp_path, examples_dir, clean_once):
    dump_jsonl(tmp_path / "two-years.jsonl",
               _village_households(clean_once, 3, 2017) + _village_households(clean_once, 3, 2018))
    code, report = check_json(tmp_path / "out.json", str(tmp_path / "two-years.jsonl"),
                              "--registry", str(examples_dir / "registry.yaml"))
    assert code == 0
    assert not any("responsibility.overload" in categories_of(household) for household in report["households"])


def test_a_village_without_first_secretary_is_reported_on_every_household_of_it(tmp_path, examples_dir, clean_once):
    registry = yaml.safe_load((examples_dir / "registry.yaml").read_text(encoding="utf-8"))
    del registry["villages"][0]["first_secretary"]
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    households = _village_households(clean_once, 4)
    for number, household in enumerate(households):
        household["helpers"] = ["H-002" if number % 2 else "H-001"]
    dump_jsonl(tmp_path / "village.jsonl", households)
    out = tmp_path / "out.json"
    assert main(["check", str(tmp_path), "--format", "json", "--out", str(out), "--jobs", "2"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert len(report["households"]) == 4
    assert all("responsibility.missing" in categories_of(household) for household in report["households"])


# ---- every key's Chinese label (and a record's own English key) is accepted by the rule language ------

# (rule-language record, dossier key, its label in dossier.md); keys nested one level further down
# (insurance, transfer, signatures) are given by their label only, the document naming no flat English key.
LABELS = [
    ("户", "id", "户编号"), ("户", "year", "年度"), ("户", "attribute", "贫困户属性"), ("户", "standard", "识别标准"),
    ("户", "status", "脱贫状态"), ("户", "identified_year", "识别年度"), ("户", "exit_year", "脱贫年度"),
    ("户", "primary_cause", "主要致贫原因"), ("户", "phone", "联系电话"),
    # region.village's flat English name is village_name: `village` is the 驻村 record's (rule-language.md)
    ("户", "county", "县"), ("户", "township", "乡镇"), ("户", "village_name", "村"),
    ("成员", "name", "姓名"), ("成员", "id_number", "身份证号"), ("成员", "relation", "与户主关系"), ("成员", "sex", "性别"),
    ("成员", "birth_date", "出生日期"), ("成员", "age", "年龄"), ("成员", "ethnicity", "民族"),
    ("成员", "education", "文化程度"), ("成员", "in_school", "在校生状况"), ("成员", "health", "健康状况"),
    ("成员", "illness", "患病名称"), ("成员", "disability_level", "残疾等级"), ("成员", "labor", "劳动技能"),
    ("成员", "work_status", "务工状况"), ("成员", "work_months", "务工时间"),
    ("成员", None, "大病保险"), ("成员", None, "养老保险"),
    ("收入", "wage", "工资性收入"), ("收入", "business", "生产经营性收入"), ("收入", "business_expense", "生产经营性支出"),
    ("收入", "property", "财产性收入"), ("收入", "transfer_total", "转移性收入合计"), ("收入", "per_capita_net", "人均纯收入"),
    ("收入", None, "计划生育金"), ("收入", None, "低保金"), ("收入", None, "特困供养金"), ("收入", None, "养老保险金"),
    ("收入", None, "生态补偿金"), ("收入", None, "其他转移性收入"),
    ("生产生活条件", "housing_safe", "住房安全"), ("生产生活条件", "dangerous_house_level", "危房等级"),
    ("生产生活条件", "drinking_water_safe", "饮水安全"), ("生产生活条件", "electricity", "生活用电"),
    ("生产生活条件", "road_distance_km", "与村主干路距离"), ("生产生活条件", "farmland_mu", "耕地面积"),
    ("生产生活条件", "forest_mu", "林地面积"), ("生产生活条件", "returned_farmland_mu", "退耕还林面积"),
    ("家庭资产", "car", "小轿车"), ("家庭资产", "machinery_value", None), ("家庭资产", "town_house", "城镇商品房或门面"),
    ("家庭资产", "business_registered", None), ("家庭资产", "public_employee", "有财政供养人员"),
    ("家庭资产", "village_cadre", "有村两委干部"), ("家庭资产", "hires_labor", "长期雇工"),
    ("家庭资产", "away_years", "举家外出年数"), ("家庭资产", "split_household", None),
    ("措施", "kind", "措施类别"), ("措施", "content", "措施内容"), ("措施", "beneficiary", "受益成员"),
    ("措施", "year", "年度"), ("措施", "amount", "金额"), ("措施", "outcome", "帮扶成效"),
    ("普查表", "year", "年度"), ("普查表", "exit_year", "脱贫年度"),
    ("普查表", "excluded_situation", "家庭是否有当地规定的不能识别为贫困户的情形"),
    ("普查表", "verifier_opinion", "核查人意见"), ("普查表", "filled_date", "填表日期"),
    # 贫困户 alone names the household record: its signature is 贫困户签字 (rule-language.md)
    ("普查表", None, "贫困户签字"), ("普查表", None, "填表人"), ("普查表", None, "审核人"),
    ("采集表", "year", "年度"), ("采集表", "filled_date", "填表日期"),
    ("采集表", None, "贫困户签字"), ("采集表", None, "填表人"), ("采集表", None, "审核人"),
    ("明白卡联系人", "role", None), ("明白卡联系人", "name", None), ("明白卡联系人", "position", "职务"),
    ("明白卡联系人", "phone", None), ("明白卡联系人", "photo", None),
    ("申请书", "date", None), ("申请书", "signed", None),
    ("会议", "kind", None), ("会议", "date", None), ("会议", "expected", "应到人数"), ("会议", "attended", "实到人数"),
    ("会议", "signed_in", "签到人数"), ("会议", "votes_for", "赞成票"), ("会议", "votes_against", "反对票"),
    ("公示", "level", None), ("公示", "start", None), ("公示", "end", None), ("公告", "date", None),
]
MANY_RECORDS = {"成员", "措施", "明白卡联系人", "会议", "公示"}
NAMES = [(record, name) for record, key, label in LABELS for name in (key, label) if name]


@pytest.fixture(scope="module")
def lint_of_every_name(tmp_path_factory):
    """`dangka lint` over one rule per (record, name); the lines its complaints name."""
    lines, line_of = [], {}
    for number, (record, name) in enumerate(NAMES):
        lines += [f'规则 LABEL-{number:03d} "{record}.{name}"', "  类别 form.missing", "  严重程度 低", '  依据 "dossier.md"']
        if record in MANY_RECORDS:
            lines.append(f"  对每个 {record}")
        lines.append(f"  如果 {record}.{name} 为空")
        line_of[(record, name)] = len(lines)
    path = tmp_path_factory.mktemp("labels") / "labels.rules"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        main(["lint", str(path)])
    complained = {int(line) for line in re.findall(rf"{re.escape(str(path))}:(\d+):\d+: ", stream.getvalue())}
    return line_of, complained


@pytest.mark.parametrize("record, name", NAMES, ids=[f"{record}.{name}" for record, name in NAMES])
def test_each_key_and_label_of_the_contract_is_a_field_in_the_rule_language(lint_of_every_name, record, name):
    line_of, complained = lint_of_every_name
    assert line_of[(record, name)] not in complained


# ---- the examples -----------------------------------------------------------------------------------


def test_the_examples_check_with_exactly_the_findings_their_comments_name(tmp_path, examples_dir):
    code, report = check_json(tmp_path / "out.json", str(examples_dir))
    by_id = {household["id"]: household for household in report["households"]}
    assert code == 0 and report["errors"] == []
    assert by_id["HN-410727-0101-001"]["findings"] == []
    assert categories_of(by_id["HN-410727-0101-002"]) == {"plan.cause_mismatch", "plan.capacity_mismatch"}
