"""Tests of dangka.synth: determinism, realism, clean households clean, every defect injected."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from fractions import Fraction

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dangka import contract, synth
from dangka.policy import Policies

CLEAN_RUN = {"n": 2 * synth.BLOCK * 20, "seed": 11, "defect_rate": 0.0}
MIXED_RUN = {"n": synth.BLOCK * 60, "seed": 5, "defect_rate": 0.3}
FULL_LABOUR = ("普通劳动力", "技能劳动力")
SCHOOL_BY_AGE = {6: "小学", 7: "小学", 8: "小学", 9: "小学", 10: "小学", 11: "小学",
                 12: "七年级", 13: "八年级", 14: "九年级"}


@pytest.fixture(scope="module")
def policies() -> Policies:
    """The packaged knowledge base, the same one the checker reads."""
    return Policies.load()


@pytest.fixture(scope="module")
def clean_households() -> list[dict]:
    """A run without defects, spread over many villages."""
    return list(synth.generate(**CLEAN_RUN))


@pytest.fixture(scope="module")
def clean_registry() -> dict:
    """The registry matching the clean run."""
    return synth.generate_registry(**CLEAN_RUN)


# ------------------------------------------------------------------------------------------
# An independent oracle: what dossier.md, findings.md and the policy tables call a problem.
# It returns the finding categories a household deserves, with a note each, so a failure says
# what is wrong.
# ------------------------------------------------------------------------------------------


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _age(member: dict, year: int) -> int:
    return year - contract.birth_date_from_id(member["id_number"]).year


class Oracle:
    """Checks generated households the way a careful reviewer would, without the generator's code."""

    def __init__(self, policies: Policies, registry: dict, households: list[dict]):
        self.policies = policies
        self.helpers = {h["id"]: h for h in registry["helpers"]}
        self.villages = {(v["county"], v["township"], v["village"]): v for v in registry["villages"]}
        self.loads = Counter(helper for h in households for helper in h.get("helpers", []))

    def param(self, name: str, household: dict, year: int | None = None):
        return self.policies.parameter(name).value(year or household["year"], household["region"]["province"])[0]

    def problems(self, household: dict) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if contract.structure_errors(household):
            return [("input.invalid", "; ".join(contract.structure_errors(household)))]
        for check in (self.members, self.income, self.forms, self.exclusions, self.plan, self.exit,
                      self.procedure, self.responsibility):
            found += check(household)
        return found

    def members(self, h: dict) -> list[tuple[str, str]]:
        found = []
        year, county_code = h["year"], h["id"].split("-")[1]
        head = h["members"][0]
        for m in h["members"]:
            where = f"{m['name']}（{m['relation']}）"
            if not contract.id_number_valid(m["id_number"]):
                found.append(("form.invalid", f"{where} 身份证号校验位错误"))
                continue
            if contract.sex_from_id(m["id_number"]) != m["sex"]:
                found.append(("form.inconsistent", f"{where} 性别与身份证号不符"))
            if m["id_number"][:6] != county_code:
                found.append(("form.inconsistent", f"{where} 身份证号地区码不是本县"))
            age = _age(m, year)
            if age < 18 and m["education"] in ("大专及以上", "高中"):
                found.append(("form.inconsistent", f"{where} {age} 岁，文化程度 {m['education']}"))
            if age in SCHOOL_BY_AGE and m["in_school"] != SCHOOL_BY_AGE[age]:
                found.append(("form.inconsistent", f"{where} {age} 岁，在校状况 {m['in_school']}"))
            if (age < 16 or m["in_school"] != "非在校生") and m["labor"] != "无劳动力":
                found.append(("form.inconsistent", f"{where} {age} 岁或在校，劳动技能 {m['labor']}"))
            if age >= 70 and m["labor"] in FULL_LABOUR:
                found.append(("form.inconsistent", f"{where} {age} 岁仍为 {m['labor']}"))
            if m["work_months"] and m["labor"] not in FULL_LABOUR + ("弱劳动力或半劳动力",):
                found.append(("form.inconsistent", f"{where} 无劳动能力却务工"))
            found += self.relation_age(m, age, head, h)
        phone = h["phone"]
        if len(phone) != 11 or not phone.isdigit():
            found.append(("form.invalid", f"联系电话 {phone} 不是 11 位"))
        return found

    def relation_age(self, m: dict, age: int, head: dict, h: dict) -> list[tuple[str, str]]:
        year = h["year"]
        by_relation = {}
        for other in h["members"]:
            by_relation.setdefault(other["relation"], []).append(_age(other, year))
        head_age = _age(head, year)
        gap_ok = True
        if m["relation"] == "配偶":
            gap_ok = abs(age - head_age) <= 8
        elif m["relation"] in ("之子", "之女"):
            gap_ok = all(20 <= parent - age <= 35 for parent in [head_age] + by_relation.get("配偶", []))
        elif m["relation"] in ("之孙子", "之孙女"):
            gap_ok = all(20 <= parent - age <= 35 for parent in by_relation["之子"] + by_relation["之儿媳"])
        elif m["relation"] in ("之父", "之母"):
            gap_ok = 20 <= age - head_age <= 40
        return [] if gap_ok else [("form.inconsistent", f"{m['name']}（{m['relation']}）年龄与户主不相称")]

    def income(self, h: dict) -> list[tuple[str, str]]:
        found = []
        income = h["income"]
        parts = sum(income["transfer"].values())
        if income["transfer_total"] != parts:
            found.append(("form.inconsistent", f"转移性收入合计 {income['transfer_total']} ≠ 各项之和 {parts}"))
        net = income["wage"] + income["business"] + income["property"] + parts - income["business_expense"]
        if abs(Fraction(net, len(h["members"])) - income["per_capita_net"]) >= 1:
            found.append(("form.inconsistent", f"人均纯收入 {income['per_capita_net']} ≠ {net}/{len(h['members'])}"))
        if any(value < 0 for value in (income["wage"], income["business"], income["business_expense"],
                                       income["property"], *income["transfer"].values())):
            found.append(("form.invalid", "收入为负数"))
        if income["wage"] and not any(m["work_months"] for m in h["members"]):
            found.append(("form.inconsistent", "无人务工却有工资性收入"))
        return found

    def forms(self, h: dict) -> list[tuple[str, str]]:
        found = []
        survey = h["forms"]["survey"]
        for name in ("survey", "collection"):
            form = h["forms"][name]
            for role, signed in form["signatures"].items():
                if not signed:
                    found.append(("form.missing", f"{name} 缺 {role} 签字"))
            if _day(form["filled_date"]).year != form["year"]:
                found.append(("form.inconsistent", f"{name} 填表日期与年度不符"))
        if not survey["verifier_opinion"]:
            found.append(("form.missing", "核查人意见空白"))
        if survey["year"] != h["year"]:
            found.append(("form.inconsistent", "普查表年度与档案年度不符"))
        if survey["exit_year"] != h["exit_year"]:
            found.append(("form.inconsistent", "普查表脱贫年度与档案不符"))
        if h["status"] == "已脱贫" and h["exit_year"] is None:
            found.append(("form.missing", "已脱贫未填脱贫年度"))
        if h["exit_year"] is not None and not h["identified_year"] <= h["exit_year"] <= h["year"]:
            found.append(("form.invalid", f"脱贫年度 {h['exit_year']} 不在识别年度与档案年度之间"))
        if h["status"] == "未脱贫" and h["exit_year"] is not None:
            found.append(("form.inconsistent", "未脱贫却有脱贫年度"))
        if not 2014 <= h["identified_year"] <= h["year"]:
            found.append(("form.invalid", "识别年度不合理"))
        causes = h["other_causes"]
        too_many = len(causes) > self.param("max_other_causes", h)
        if too_many or h["primary_cause"] in causes or len(set(causes)) < len(causes):
            found.append(("form.invalid", f"其他致贫原因 {causes}"))
        return found

    def exclusions(self, h: dict) -> list[tuple[str, str]]:
        table = self.policies.table("exclusions")
        found = []
        for key in table.rows:
            row = table.values(key, h["year"], h["region"]["province"])
            value = h["assets"][row["fact"].split(".")[1]]
            hit = bool(value) if row["test"] == "为真" else value >= row["threshold"]
            if hit and row["mode"] == "排除":
                found.append(("eligibility.excluded", f"排除情形 {row['label']}"))
        return found

    def plan(self, h: dict) -> list[tuple[str, str]]:
        found = []
        causes, measures_table = self.policies.table("causes"), self.policies.table("measures")
        cause = h["primary_cause"]
        if not self.cause_supported(h, cause):
            found.append(("plan.cause_mismatch", f"致贫原因 {cause} 与家庭情况不符"))
        for other in h["other_causes"]:
            if not self.cause_supported(h, other):
                found.append(("plan.cause_mismatch", f"其他致贫原因 {other} 与家庭情况不符"))
        addressing = set(causes.get(cause, "measures") or ())
        if not addressing & {m["kind"] for m in h["measures"]}:
            found.append(("plan.measure_mismatch", f"没有针对 {cause} 的措施"))
        members = {m["name"]: m for m in h["members"]}
        for measure in h["measures"]:
            rule = measures_table.values(measure["kind"], h["year"], h["region"]["province"])
            if rule["scope"] == "个人":
                member = members.get(measure.get("beneficiary"))
                if member is None:
                    found.append(("plan.capacity_mismatch", f"{measure['kind']} 受益成员不在册"))
                    continue
                found += self.fits(rule, measure, member, _age(member, h["year"]))
            else:
                found += self.fits_household(rule, measure, h)
        return found

    def cause_supported(self, h: dict, cause: str) -> bool:
        row = self.policies.table("causes").row(cause)
        members, conditions = h["members"], h["conditions"]
        checks = {
            "health": lambda words: any(m["health"] in words for m in members),
            "in_school": lambda words: any(m["in_school"] in words for m in members),
            "labor_present": lambda words: any(m["labor"] in words for m in members),
            "labor_absent": lambda words: not any(m["labor"] in words for m in members),
        }
        if not all(checks[key](row[key]) for key in checks if row.get(key)):
            return False
        if cause == "因灾":
            return not conditions["housing_safe"]
        if cause == "缺水":
            return not conditions["drinking_water_safe"]
        if cause == "缺土地":
            return conditions["farmland_mu"] < 1
        if cause == "交通条件落后":
            return conditions["road_distance_km"] >= 3
        return True

    def fits(self, rule: dict, measure: dict, member: dict, age: int) -> list[tuple[str, str]]:
        wrong = []
        if rule["min_age"] is not None and age < rule["min_age"]:
            wrong.append(f"{age} 岁低于 {rule['min_age']}")
        if rule["max_age"] is not None and age > rule["max_age"]:
            wrong.append(f"{age} 岁高于 {rule['max_age']}")
        for column in ("labor", "in_school", "health"):
            if rule[column] and member[column] not in rule[column]:
                wrong.append(f"{column} 为 {member[column]}")
        if not wrong:
            return []
        return [("plan.capacity_mismatch", f"{measure['kind']} 不适合 {member['name']}：{'，'.join(wrong)}")]

    def fits_household(self, rule: dict, measure: dict, h: dict) -> list[tuple[str, str]]:
        wrong = []
        if rule["needs_labor"] and not any(m["labor"] in (rule["labor"] or FULL_LABOUR) for m in h["members"]):
            wrong.append("家中无劳动力")
        if rule["labor"] and not rule["needs_labor"] and any(m["labor"] not in rule["labor"] for m in h["members"]):
            wrong.append("有成员劳动技能不符")
        if rule["housing"] and h["conditions"]["dangerous_house_level"] not in rule["housing"]:
            wrong.append("住房不是危房")
        if rule["attribute"] and h["attribute"] not in rule["attribute"]:
            wrong.append(f"属性为 {h['attribute']}")
        return [("plan.capacity_mismatch", f"{measure['kind']}：{'，'.join(wrong)}")] if wrong else []

    def exit(self, h: dict) -> list[tuple[str, str]]:
        line = self.param("poverty_line", h)
        per_capita = h["income"]["per_capita_net"]
        if h["status"] != "已脱贫":
            return [] if per_capita < line else [("eligibility.excluded", f"未脱贫却人均 {per_capita} ≥ {line}")]
        found = []
        if per_capita <= line:
            found.append(("plan.insufficient", f"已脱贫但人均 {per_capita} ≤ 贫困线 {line}"))
        if not h["conditions"]["housing_safe"]:
            found.append(("plan.insufficient", "已脱贫但住房不安全"))
        if not h["conditions"]["drinking_water_safe"]:
            found.append(("plan.insufficient", "已脱贫但饮水不安全"))
        if not all(m["insurance"]["medical"] for m in h["members"]):
            found.append(("plan.insufficient", "已脱贫但有人未参加医保"))
        low, high = self.param("compulsory_school_age_min", h), self.param("compulsory_school_age_max", h)
        if any(low <= _age(m, h["year"]) <= high and m["in_school"] == "非在校生" for m in h["members"]):
            found.append(("plan.insufficient", "已脱贫但有适龄儿童失学"))
        return found

    def procedure(self, h: dict) -> list[tuple[str, str]]:
        found = []
        procedure = h["procedure"]
        meetings = procedure["meetings"]
        village, township = procedure["publicity"]
        kinds = [m["kind"] for m in meetings]
        if kinds != ["党支部提议", "两委商议", "党员大会审议", "村民代表会议决议"]:
            found.append(("procedure.order", f"会议 {kinds}"))
        days = [_day(procedure["application"]["date"])] + [_day(m["date"]) for m in meetings]
        if days != sorted(days):
            found.append(("procedure.order", "申请与会议日期顺序错误"))
        if not (days[-1] < _day(village["start"]) <= _day(village["end"]) < _day(township["start"])
                <= _day(township["end"]) < _day(procedure["announcement"]["date"])):
            found.append(("procedure.order", "公示公告顺序错误"))
        for notice in (village, township):
            length = (_day(notice["end"]) - _day(notice["start"])).days + 1
            minimum = self.param("notice_min_days", h, h["identified_year"])
            if length < minimum:
                found.append(("procedure.order", f"{notice['level']}级公示 {length} 天，少于 {minimum} 天"))
        quorum = Fraction(self.param("quorum_ratio", h, h["identified_year"]))
        majority = Fraction(self.param("majority_ratio", h, h["identified_year"]))
        for m in meetings:
            if m["signed_in"] > m["attended"] or m["attended"] > m["expected"]:
                found.append(("procedure.record_mismatch", f"{m['kind']} 人数不符"))
            if m["votes_for"] + m["votes_against"] > m["attended"]:
                found.append(("procedure.record_mismatch", f"{m['kind']} 票数多于实到人数"))
            if m["kind"] in ("党员大会审议", "村民代表会议决议"):
                if m["attended"] < quorum * m["expected"]:
                    found.append(("procedure.record_mismatch", f"{m['kind']} 不足法定人数"))
                if m["votes_for"] <= majority * m["attended"]:
                    found.append(("procedure.record_mismatch", f"{m['kind']} 未过半数"))
        minutes = meetings[-1]
        cited = village["cites"]
        wanted = {"meeting_date": minutes["date"], "attended": minutes["attended"],
                  "signed_in": minutes["signed_in"], "votes_for": minutes["votes_for"]}
        if cited != wanted:
            found.append(("procedure.record_mismatch", f"公示引用 {cited}，会议记录 {wanted}"))
        record = {"name": h["members"][0]["name"], "household_size": len(h["members"]), "cause": h["primary_cause"]}
        for entry in (village["entry"], township["entry"], procedure["announcement"]["entry"]):
            if entry != record:
                found.append(("procedure.publicity_mismatch", f"公示 {entry}，档案 {record}"))
        return found

    def responsibility(self, h: dict) -> list[tuple[str, str]]:
        found = []
        if not h["helpers"]:
            found.append(("responsibility.missing", "没有帮扶责任人"))
        limit = self.param("helper_load_limit", h)
        for helper_id in h["helpers"]:
            if helper_id not in self.helpers:
                found.append(("responsibility.missing", f"帮扶责任人 {helper_id} 不在登记中"))
            elif self.loads[helper_id] > limit:
                found.append(("responsibility.overload", f"{helper_id} 帮扶 {self.loads[helper_id]} 户"))
        region = h["region"]
        village = self.villages.get((region["county"], region["township"], region["village"]))
        if village is None or "first_secretary" not in village:
            found.append(("responsibility.missing", "所在村没有第一书记"))
        contacts = {c["role"]: c for c in h["forms"]["card"]["contacts"]}
        for role in ("脱贫责任组组长", "驻村第一书记", "帮扶责任人"):
            if role not in contacts:
                found.append(("responsibility.missing", f"明白卡缺少{role}"))
        expected = {}
        if village:
            expected["脱贫责任组组长"] = village["group_leader"]
            expected["驻村第一书记"] = village.get("first_secretary")
        if h["helpers"] and h["helpers"][0] in self.helpers:
            expected["帮扶责任人"] = self.helpers[h["helpers"][0]]
        for role, person in expected.items():
            contact = contacts.get(role)
            if contact and person and (contact["name"], contact["phone"]) != (person["name"], person["phone"]):
                found.append(("responsibility.mismatch", f"明白卡{role} {contact['name']} {contact['phone']} 不符登记"))
        return found


@pytest.fixture(scope="module")
def clean_oracle(policies, clean_registry, clean_households) -> Oracle:
    return Oracle(policies, clean_registry, clean_households)


# ------------------------------------------------------------------------------------------
# Determinism and streaming
# ------------------------------------------------------------------------------------------


def _jsonl(households) -> str:
    return "\n".join(json.dumps(h, ensure_ascii=False) for h in households)


def test_same_seed_gives_byte_identical_json():
    first = _jsonl(synth.generate(200, seed=3))
    assert first == _jsonl(synth.generate(200, seed=3))
    assert first != _jsonl(synth.generate(200, seed=4))


def test_output_does_not_depend_on_the_process():
    """String hashing differs between processes; the data must not."""
    script = "import json, sys; from dangka import synth; " \
             "sys.stdout.write(json.dumps([list(synth.generate(150, seed=2)), synth.generate_registry(seed=2, n=150)]))"
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(hash_seed)}).stdout
               for hash_seed in (1, 2)}
    assert len(outputs) == 1


def test_registry_is_deterministic():
    first, second = (json.dumps(synth.generate_registry(seed=3, n=200), ensure_ascii=False) for _ in range(2))
    assert first == second


def test_generate_streams_lazily():
    households = synth.generate(10**12, seed=1, counties=3)
    assert next(households)["id"] and next(households)["id"]


def test_a_run_split_at_block_boundaries_equals_the_whole_run():
    whole = list(synth.generate(4 * synth.BLOCK, seed=8, counties=2))
    parts = [list(synth.generate(synth.BLOCK, seed=8, counties=2, start_index=i * synth.BLOCK)) for i in range(4)]
    assert _jsonl(whole) == _jsonl(p for part in parts for p in part)


@pytest.mark.parametrize("arguments, message", [
    ({"n": -1}, "不能为负数"),
    ({"n": 5, "seed": -2}, "不能为负数"),
    ({"n": 5, "defect_rate": 1.5}, "缺陷比例"),
    ({"n": 5, "counties": 0}, "县的个数"),
    ({"n": 5, "only_defects": ["flying_pigs"]}, "未知的缺陷类型：flying_pigs"),
])
def test_bad_arguments_are_refused_at_once(arguments, message):
    with pytest.raises(ValueError, match=message):
        synth.generate(**arguments)


# ------------------------------------------------------------------------------------------
# Shape and realism
# ------------------------------------------------------------------------------------------


def test_output_loads_back_as_json_and_yaml_and_fits_the_contract(clean_households):
    sample = clean_households[:10]
    assert json.loads(_jsonl(sample).splitlines()[0]) == sample[0]
    assert yaml.safe_load(yaml.safe_dump({"households": sample}, allow_unicode=True))["households"] == sample
    required = ("id", "region", "year", "attribute", "status", "identified_year", "exit_year", "primary_cause",
                "other_causes", "phone", "members", "income", "conditions", "assets", "measures", "helpers",
                "forms", "procedure")
    for household in sample:
        assert all(key in household for key in required)
        assert set(household["region"]) >= {"county", "township", "village"}
        assert contract.structure_errors(household) == []


def test_ids_are_unique_and_name_the_county(clean_households):
    ids = [h["id"] for h in clean_households]
    assert len(set(ids)) == len(ids)
    assert all(h["members"][0]["id_number"].startswith(h["id"].split("-")[1]) for h in clean_households)


def test_realistic_distributions(clean_households):
    sizes = Counter(len(h["members"]) for h in clean_households)
    causes = Counter(h["primary_cause"] for h in clean_households)
    years = Counter(h["year"] for h in clean_households)
    assert set(sizes) <= set(range(1, 8)) and sizes[1] and sizes[4] and sizes[6]
    assert causes.most_common(1)[0][0] == "因病"
    assert len(causes) >= 8
    assert set(years) == set(synth.YEARS)
    statuses = Counter(h["status"] for h in clean_households)
    assert statuses["未脱贫"] > statuses["已脱贫"] > 0
    villages = {(h["region"]["county"], h["region"]["township"], h["region"]["village"]) for h in clean_households}
    assert len(villages) == CLEAN_RUN["n"] // synth.BLOCK


def test_more_counties_bring_more_provinces():
    provinces = {h["region"]["province"] for h in synth.generate(synth.BLOCK * 40, counties=40, seed=2)}
    assert {"河南省", "甘肃省", "贵州省"} <= provinces
    few = {h["region"]["province"] for h in synth.generate(synth.BLOCK * 40, counties=2, seed=2)}
    assert few == {"河南省"}


def test_generated_counties_have_distinct_names_and_codes():
    layout = synth._Layout(0, 150)
    names = [(c.province, c.name) for c in layout.counties]
    codes = [c.code for c in layout.counties]
    assert len(set(names)) == len(names) and len(set(codes)) == len(codes)
    assert all(len(code) == 6 and code.isdigit() for code in codes)


def test_clean_households_are_clean_by_every_rule(clean_oracle, clean_households):
    dirty = {h["id"]: clean_oracle.problems(h) for h in clean_households}
    dirty = {key: value for key, value in dirty.items() if value}
    assert dirty == {}
    assert all(synth.household_defects(h) == [] for h in clean_households)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), index=st.integers(0, 10**9), counties=st.sampled_from([1, 4, 75, 200]))
def test_any_household_of_any_run_is_clean_without_defects(policies, seed, index, counties):
    arguments = {"n": 1, "seed": seed, "defect_rate": 0.0, "start_index": index, "counties": counties}
    household = next(synth.generate(**arguments))
    assert Oracle(policies, synth.generate_registry(**arguments), [household]).problems(household) == []


def test_clean_households_produce_no_problem_records(clean_households):
    for household in clean_households:
        problems = [r.values for r in contract.records(household) if r.entity == "problem"]
        assert problems == [], household["id"]


def test_registry_covers_every_helper_and_village(clean_households, clean_registry):
    helpers = {h["id"] for h in clean_registry["helpers"]}
    units = {u["id"] for u in clean_registry["units"]}
    assert {helper for h in clean_households for helper in h["helpers"]} == helpers
    assert all(h["unit"] in units for h in clean_registry["helpers"])
    assert all(v["first_secretary"]["unit"] in units for v in clean_registry["villages"])
    lived_in = {tuple(h["region"][key] for key in ("county", "township", "village")) for h in clean_households}
    assert {(v["county"], v["township"], v["village"]) for v in clean_registry["villages"]} == lived_in
    levels = {u["level"] for u in clean_registry["units"]}
    assert levels == {"省直", "市直", "县直", "乡镇"}


# ------------------------------------------------------------------------------------------
# Defects
# ------------------------------------------------------------------------------------------


def _forced(key: str, n: int = synth.BLOCK * 2) -> tuple[list[dict], dict]:
    arguments = {"n": n, "seed": 21, "defect_rate": 1.0, "only_defects": [key]}
    return list(synth.generate(**arguments)), synth.generate_registry(**arguments)


def test_every_defect_has_a_description_a_category_and_a_way_in():
    assert set(synth.DEFECTS) == set(synth.DEFECT_CATEGORIES)
    made_while_building = set(synth._SHAPES) | set(synth._STRUCTURAL)
    assert set(synth.DEFECTS) == set(synth._INJECTORS) | made_while_building
    from dangka.categories import CATEGORIES
    assert all(category in CATEGORIES for cats in synth.DEFECT_CATEGORIES.values() for category in cats)


@pytest.mark.parametrize("key", sorted(synth.DEFECTS))
def test_each_defect_is_injected_when_asked_and_shows(key, policies):
    households, registry = _forced(key)
    assert all(synth.household_defects(h) == [key] for h in households)
    oracle = Oracle(policies, registry, households)
    expected = set(synth.DEFECT_CATEGORIES[key])
    for household in households:
        found = {category for category, _ in oracle.problems(household)}
        assert expected <= found, (household["id"], oracle.problems(household))


def test_cooking_case_is_the_field_case():
    household = _forced("cooking_case", 3)[0][0]
    assert household["primary_cause"] == "缺技术"
    assert all(70 <= _age(m, household["year"]) <= 79 and m["health"] == "长期慢性病" for m in household["members"])
    assert [m["content"] for m in household["measures"]] == ["烹饪技能培训", "联系饭店就业"]


def test_overloaded_helpers_carry_more_than_the_limit(policies):
    households, registry = _forced("helper_overload")
    limit = policies.parameter("helper_load_limit").value(2020)[0]
    loads = Counter(helper for h in households for helper in h["helpers"])
    assert all(load > limit for load in loads.values())
    assert set(loads) == {h["id"] for h in registry["helpers"]}


def test_defect_rate_is_the_share_of_households_with_defects():
    households = list(synth.generate(**MIXED_RUN))
    share = sum(bool(synth.household_defects(h)) for h in households) / len(households)
    assert 0.25 <= share <= 0.35
    keys = Counter(key for h in households for key in synth.household_defects(h))
    assert len(keys) >= len(synth.DEFECTS) - 6


def test_households_without_defects_in_a_mixed_run_stay_clean(policies):
    households = list(synth.generate(**MIXED_RUN))
    oracle = Oracle(policies, synth.generate_registry(**MIXED_RUN), households)
    for household in households:
        if not synth.household_defects(household):
            assert oracle.problems(household) == [], household["id"]


def test_household_defects_reads_the_extra_key():
    assert synth.household_defects({"id": "x"}) == []
    assert synth.household_defects({"id": "x", "_synth_defects": ["owns_car"]}) == ["owns_car"]


# ------------------------------------------------------------------------------------------
# The benchmark data writer (benchmarks/generate.py)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generate_cli(repo_root):
    """benchmarks/generate.py as a module (registered so that worker processes can find it)."""
    spec = importlib.util.spec_from_file_location("benchmark_generate", repo_root / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_cli_writes_the_generated_households_and_registry(generate_cli, tmp_path):
    out, registry = tmp_path / "data.jsonl", tmp_path / "registry.yaml"
    assert generate_cli.main(["--n", "50", "--seed", "4", "--defect-rate", "0.5", "--out", str(out),
                              "--registry-out", str(registry)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(synth.generate(50, seed=4, defect_rate=0.5))
    assert "\\u" not in lines[0]
    expected = synth.generate_registry(seed=4, n=50, defect_rate=0.5)
    assert yaml.safe_load(registry.read_text(encoding="utf-8")) == expected


def test_cli_writes_a_json_registry_for_big_runs(generate_cli, tmp_path):
    registry = tmp_path / "registry.json"
    assert generate_cli.main(["--n", "40", "--out", str(tmp_path / "d.jsonl"), "--registry-out", str(registry)]) == 0
    assert json.loads(registry.read_text(encoding="utf-8")) == synth.generate_registry(n=40)


def test_cli_in_parallel_writes_the_same_bytes(generate_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(generate_cli, "CHUNK", synth.BLOCK)
    single, parallel = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    common = ["--n", str(synth.BLOCK * 3 + 5), "--seed", "6", "--defect-rate", "1"]
    assert generate_cli.main([*common, "--out", str(single)]) == 0
    assert generate_cli.main([*common, "--out", str(parallel), "--jobs", "2"]) == 0
    assert single.read_bytes() == parallel.read_bytes()


@pytest.mark.parametrize("arguments, message", [
    (["--n", "5", "--only-defects", "nope"], "未知的缺陷类型：nope"),
    (["--n", "5", "--defect-rate", "2"], "缺陷比例须在 0 到 1 之间"),
    (["--out", "x.jsonl"], "请用 --n 指定户数"),
])
def test_cli_refuses_bad_arguments_without_a_traceback(generate_cli, tmp_path, capsys, arguments, message):
    if "--out" not in arguments:
        arguments = [*arguments, "--out", str(tmp_path / "x.jsonl")]
    assert generate_cli.main(arguments) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_reports_an_unwritable_file(generate_cli, tmp_path, capsys):
    assert generate_cli.main(["--n", "3", "--out", str(tmp_path / "missing" / "x.jsonl")]) == 1
    assert "无法写入" in capsys.readouterr().err


def test_cli_lists_the_defects(generate_cli, capsys):
    assert generate_cli.main(["--list-defects"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in listed] == list(synth.DEFECTS)


# ------------------------------------------------------------------------------------------
# End to end: the real checker over generated data
# ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_checker_reports_each_injected_defect_and_nothing_on_clean_households(generate_cli, tmp_path):
    from dangka import cli

    data, registry, report = tmp_path / "data.jsonl", tmp_path / "registry.yaml", tmp_path / "report.json"
    assert generate_cli.main(["--n", str(synth.BLOCK * 30), "--seed", "4", "--defect-rate", "0.6",
                              "--out", str(data), "--registry-out", str(registry)]) == 0
    cli.main(["check", str(data), "--registry", str(registry), "--format", "json", "--out", str(report)])
    checked = {h["id"]: h for h in json.loads(report.read_text(encoding="utf-8"))["households"]}
    injected = Counter()
    for line in data.read_text(encoding="utf-8").splitlines():
        household = json.loads(line)
        defects = synth.household_defects(household)
        injected.update(defects)
        if "member_without_name" in defects:
            assert household["id"] not in checked      # unreadable: reported under errors
            continue
        expected = {category for key in defects for category in synth.DEFECT_CATEGORIES[key]}
        found = {finding["category"] for finding in checked[household["id"]]["findings"]}
        assert found == expected, (household["id"], defects, checked[household["id"]]["findings"])
    assert len(injected) >= len(synth.DEFECTS) - 3
