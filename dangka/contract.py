"""The dossier contract as code: entities, fields, the national dictionary, normalisation and derived values."""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import NamedTuple

import yaml

from dangka.errors import DangkaError
from dangka.i18n import shortened, tr

FIELD_TYPES = ("str", "int", "num", "bool", "date", "enum")


# ---------------------------------------------------------------------------------------------
# The national dictionary (knowledge/policies/dictionary.yaml)


@dataclass(frozen=True)
class Word:
    word: str                       # the canonical Chinese word: "缺劳力"
    code: str                       # the national system's code: "08"
    aliases: tuple[str, ...] = ()   # other spellings met on forms: ("缺劳动力",)


@dataclass(frozen=True)
class Enumeration:
    name: str                       # "cause"
    label: str                      # "致贫原因"
    reference: str                  # the source text the words and codes come from
    words: tuple[Word, ...]
    _lookup: dict[str, str] = dataclass_field(default_factory=dict, repr=False, compare=False)
    _by_number: dict[int, str] = dataclass_field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Codes and aliases first, words last: a canonical word always maps to itself.
        for entry in self.words:
            self._lookup[entry.code] = entry.word
            for alias in entry.aliases:
                self._lookup[alias] = entry.word
        for entry in self.words:
            self._lookup[entry.word] = entry.word
        # A bare number is the first word whose code is that number ("08" and 8 are both 缺劳力).
        for entry in self.words:
            if entry.code.isdigit():
                self._by_number.setdefault(int(entry.code), entry.word)

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical words in dictionary order."""
        return tuple(entry.word for entry in self.words)

    def canonical(self, raw: object) -> str | None:
        """The canonical word for a word, an alias or a code (text or a bare number); None if unknown."""
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return self._by_number.get(raw)
        if isinstance(raw, str):
            return self._lookup.get(raw.strip())
        return None

    def exact(self) -> dict[str, str]:
        """Canonical words by the spellings that need no stripping: a hit is what `canonical` gives."""
        return {spelling: word for spelling, word in self._lookup.items() if spelling and spelling == spelling.strip()}

    def code(self, word: str) -> str | None:
        """The national code of a canonical word."""
        return next((entry.code for entry in self.words if entry.word == word), None)


def _dictionary_text() -> str:
    return resources.files("dangka.knowledge").joinpath("policies", "dictionary.yaml").read_text(encoding="utf-8")


@cache
def dictionary() -> dict[str, Enumeration]:
    """Every enumeration of the national dictionary, by name."""
    data = yaml.safe_load(_dictionary_text())
    if not isinstance(data, dict):
        raise DangkaError(tr("国家字典 dictionary.yaml 结构错误", "dictionary.yaml is malformed"))
    return {name: _enumeration(name, spec) for name, spec in data.items()}


def _enumeration(name: str, spec: dict) -> Enumeration:
    try:
        words = tuple(
            Word(str(item["word"]), str(item["code"]), tuple(str(alias) for alias in item.get("aliases", ())))
            for item in spec["words"]
        )
        return Enumeration(name, str(spec["label"]), str(spec["reference"]), words)
    except (KeyError, TypeError) as error:
        raise DangkaError(
            tr(f"国家字典 dictionary.yaml 中的“{name}”结构错误：{error}", f"dictionary.yaml: enumeration {name!r} is malformed: {error}")
        ) from error


def enumeration(name: str) -> Enumeration:
    """An enumeration of the national dictionary by name ("cause", "relation", ...)."""
    try:
        return dictionary()[name]
    except KeyError:
        raise DangkaError(tr(f"国家字典中没有枚举“{name}”", f"no enumeration {name!r} in the national dictionary")) from None


# ---------------------------------------------------------------------------------------------
# Entities and fields


@dataclass(frozen=True)
class Field:
    key: str                 # English snake_case, as used in facts and rule files: "transfer_pension"
    label: str               # Chinese label: "养老保险金"
    type: str                # "str" | "int" | "num" | "bool" | "date" | "enum"
    path: str                # path below the entity's node in the dossier: "transfer.pension"; "" if derived
    enum: str | None = None  # enumeration name in dictionary.yaml (type "enum")
    aliases: tuple[str, ...] = ()   # other accepted names, Chinese or English
    derived: bool = False
    required: bool = False
    description: str = ""    # one Chinese sentence for docs and lint messages

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.label, *self.aliases)


@dataclass(frozen=True)
class Entity:
    key: str                 # "member"
    label: str               # "成员"
    aliases: tuple[str, ...] # ("家庭成员", "members")
    path: str                # dossier path of its node(s): "members", "income", "forms.survey", "" = household
    many: bool               # a collection (members, measures, ...) or one node
    fields: tuple[Field, ...]
    base: str | None = None              # for a view: the entity it filters (e.g. "meeting")
    filter: tuple[str, str] | None = None  # for a view: (field key, word), e.g. ("kind", "党支部提议")
    description: str = ""    # one Chinese sentence for docs
    source: str = "dossier"  # "dossier", "links" (the responsibility graph) or "problems"
    _by_name: dict[str, Field] = dataclass_field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A name two fields share belongs to the first of them.
        for candidate in self.fields:
            for name in candidate.names:
                self._by_name.setdefault(name, candidate)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.label, *self.aliases)

    def field(self, name: str) -> Field | None:
        """A field by key, Chinese label or alias."""
        return self._by_name.get(name)


def _f(key: str, label: str, type_: str, path: str | None = None, *, enum: str | None = None,
       aliases: Iterable[str] = (), required: bool = False, description: str = "") -> Field:
    """A field read from the dossier; its path defaults to its key."""
    return Field(key, label, type_, key if path is None else path, enum, tuple(aliases), False, required, description)


def _derived(key: str, label: str, type_: str, description: str, *, enum: str | None = None,
             aliases: Iterable[str] = ()) -> Field:
    return Field(key, label, type_, "", enum, tuple(aliases), True, False, description)


def _signature_fields() -> tuple[Field, ...]:
    return (
        # dossier.md labels the three signatures 贫困户 · 填表人 · 审核人 (the form's signature boxes);
        # 贫困户 alone names the household record, so that one is 贫困户签字 only.
        _f("sign_household", "贫困户签字", "bool", "signatures.household", aliases=["户主签字"]),
        _f("sign_filler", "填表人签字", "bool", "signatures.filler", aliases=["填表人"]),
        _f("sign_reviewer", "审核人签字", "bool", "signatures.reviewer", aliases=["审核人"]),
    )


def _entry_fields() -> tuple[Field, ...]:
    return (
        _f("entry_name", "公示姓名", "str", "entry.name", description="公示或公告中该户的户主姓名。"),
        _f("entry_household_size", "公示家庭人数", "int", "entry.household_size", description="公示或公告中该户的家庭人数。"),
        _f("entry_cause", "公示致贫原因", "enum", "entry.cause", enum="cause", description="公示或公告中该户的致贫原因。"),
    )


HOUSEHOLD_FIELDS = (
    _f("id", "户编号", "str", required=True),
    _f("county", "县", "str", "region.county", aliases=["县区", "区县"], required=True),
    _f("township", "乡镇", "str", "region.township", aliases=["乡"], required=True),
    _f("village_name", "村", "str", "region.village", aliases=["行政村", "村名"], required=True),
    _derived("province", "省", "enum", "行政区划中的省；未填写时取户主身份证号前两位对应的省。", enum="province",
             aliases=["省份"]),
    _f("year", "年度", "int", description="本档案记录的年度。"),
    _f("attribute", "贫困户属性", "enum", enum="attribute", aliases=["户属性"]),
    _f("standard", "识别标准", "enum", enum="standard"),
    _f("status", "脱贫状态", "enum", enum="status"),
    _f("identified_year", "识别年度", "int"),
    _f("exit_year", "脱贫年度", "int"),
    _f("primary_cause", "主要致贫原因", "enum", enum="cause", required=True),
    _f("phone", "联系电话", "str", aliases=["电话"]),
    _derived("household_size", "家庭人数", "int", "家庭成员名单中的人数。", aliases=["人口数"]),
    _derived("labor_count", "劳动力人数", "int", "劳动技能为普通劳动力或技能劳动力的成员人数。"),
    _derived("weak_labor_count", "弱劳动力人数", "int", "劳动技能为弱劳动力或半劳动力的成员人数。"),
    _derived("no_labor_count", "无劳动能力人数", "int", "劳动技能为丧失劳动力或无劳动力的成员人数。"),
    _derived("ill_count", "患病人数", "int", "健康状况为长期慢性病或患有大病的成员人数。"),
    _derived("disabled_count", "残疾人数", "int", "健康状况为残疾或填有残疾等级的成员人数。"),
    _derived("student_count", "在校生人数", "int", "在校生状况已填写且不是非在校生的成员人数。"),
    _derived("elderly_count", "老年人数", "int", "年度末年满 60 周岁的成员人数。", aliases=["60岁以上人数"]),
    _derived("head_name", "户主姓名", "str", "与户主关系为户主的成员姓名。"),
    _derived("other_cause_count", "其他致贫原因个数", "int", "其他致贫原因列表中的项数。"),
    _derived("measure_count", "帮扶措施个数", "int", "帮扶措施列表中的项数。", aliases=["措施个数"]),
    _derived("helper_count", "帮扶责任人个数", "int", "档案中登记的帮扶责任人编号个数。"),
)

MEMBER_FIELDS = (
    _f("name", "姓名", "str", required=True),
    _f("id_number", "身份证号", "str", aliases=["身份证号码", "证件号码"]),
    _f("relation", "与户主关系", "enum", enum="relation"),
    _f("sex", "性别", "enum", enum="sex"),
    _f("birth_date", "出生日期", "date", description="出生日期；未填写时取身份证号中的出生日期。"),
    _f("ethnicity", "民族", "str"),
    _f("education", "文化程度", "enum", enum="education"),
    _f("in_school", "在校生状况", "enum", enum="in_school"),
    _f("health", "健康状况", "enum", enum="health"),
    _f("illness", "患病名称", "str", aliases=["病种"]),
    _f("disability_level", "残疾等级", "enum", enum="disability_level"),
    _f("labor", "劳动技能", "enum", enum="labor", aliases=["劳动能力"]),
    _f("work_status", "务工状况", "enum", enum="work_status"),
    _f("work_months", "务工时间", "int", aliases=["务工时间(月)", "务工月数"]),
    _f("insurance_medical", "参加基本医疗保险", "bool", "insurance.medical", aliases=["新农合", "城乡居民医保"]),
    _f("insurance_serious_illness", "参加大病保险", "bool", "insurance.serious_illness", aliases=["大病保险"]),
    _f("insurance_pension", "参加养老保险", "bool", "insurance.pension", aliases=["养老保险"]),
    _derived("age", "年龄", "int", "档案年度 12 月 31 日的周岁年龄，按出生日期或身份证号计算。"),
    _derived("id_valid", "身份证号校验通过", "bool",
             "身份证号为 18 位、出生日期有效且校验码符合 GB 11643（末位可为 X）。"),
    _derived("id_birth_date", "身份证出生日期", "date", "身份证号第 7 至 14 位表示的出生日期。"),
    _derived("id_sex", "身份证性别", "enum", "身份证号第 17 位表示的性别：奇数为男，偶数为女。", enum="sex"),
    _derived("id_repeated", "身份证号重复", "bool", "本户另有成员登记了同一个身份证号（末位 x 与 X 视为相同）。"),
)

INCOME_FIELDS = (
    _f("wage", "工资性收入", "num"),
    _f("business", "生产经营性收入", "num"),
    _f("business_expense", "生产经营性支出", "num"),
    _f("property", "财产性收入", "num"),
    _f("transfer_family_planning", "计划生育金", "num", "transfer.family_planning"),
    _f("transfer_low_income_allowance", "低保金", "num", "transfer.low_income_allowance"),
    _f("transfer_destitute_support", "特困供养金", "num", "transfer.destitute_support", aliases=["五保金"]),
    _f("transfer_pension", "养老保险金", "num", "transfer.pension"),
    _f("transfer_ecological", "生态补偿金", "num", "transfer.ecological"),
    _f("transfer_other", "其他转移性收入", "num", "transfer.other"),
    _f("transfer_total", "转移性收入合计", "num", description="表上填写的转移性收入合计。"),
    _f("per_capita_net", "人均纯收入", "num", description="表上填写的人均纯收入。"),
    _derived("transfer_sum", "转移性收入计算合计", "num", "转移性收入各项之和；任一项未填写时不计算。"),
    _derived("net_income", "家庭纯收入", "num",
             "工资性、生产经营性、财产性与转移性收入之和减去生产经营性支出；任一项未填写时不计算。"),
    _derived("per_capita_computed", "计算人均纯收入", "num", "家庭纯收入除以家庭人数，保留两位小数；任一项未填写时不计算。"),
)

CONDITIONS_FIELDS = (
    _f("housing_safe", "住房安全", "bool"),
    _f("dangerous_house_level", "危房等级", "enum", enum="dangerous_house_level"),
    _f("drinking_water_safe", "饮水安全", "bool"),
    _f("electricity", "生活用电", "bool", aliases=["通生活用电"]),
    _f("road_distance_km", "与村主干路距离", "num", aliases=["与村主干路距离(公里)"]),
    _f("farmland_mu", "耕地面积", "num", aliases=["耕地面积(亩)"]),
    _f("forest_mu", "林地面积", "num", aliases=["林地面积(亩)"]),
    _f("returned_farmland_mu", "退耕还林面积", "num", aliases=["退耕还林面积(亩)"]),
)

ASSETS_FIELDS = (
    _f("car", "小轿车", "bool", aliases=["有小轿车"]),
    _f("machinery_value", "农机价值", "num", aliases=["农机/工程机械价值", "工程机械价值"]),
    _f("town_house", "城镇商品房或门面", "bool", aliases=["城镇商品房"]),
    _f("business_registered", "工商注册", "bool", aliases=["个体工商户"]),
    _f("public_employee", "有财政供养人员", "bool", aliases=["财政供养人员"]),
    _f("village_cadre", "有村两委干部", "bool", aliases=["村两委干部"]),
    _f("hires_labor", "长期雇工", "bool"),
    _f("away_years", "举家外出年数", "int"),
    _f("split_household", "拆户或空挂户", "bool", aliases=["拆户/空挂户", "拆户", "空挂户"]),
)

MEASURE_FIELDS = (
    _f("kind", "措施类别", "enum", enum="measure_kind", aliases=["类别"]),
    _f("content", "措施内容", "str", aliases=["内容"]),
    _f("beneficiary", "受益成员", "str"),
    _f("year", "年度", "int"),
    _f("amount", "金额", "num"),
    _f("outcome", "帮扶成效", "str"),
    _derived("beneficiary_known", "受益成员在册", "bool", "填写的受益成员姓名在家庭成员名单中；未填写受益成员时不计算。"),
)

OTHER_CAUSE_FIELDS = (
    _f("cause", "原因", "enum", "", enum="cause", aliases=["致贫原因"], description="一项其他致贫原因。"),
)

SURVEY_FIELDS = (
    _f("year", "年度", "int"),
    _f("exit_year", "脱贫年度", "int"),
    _f("excluded_situation", "排除情形", "enum", enum="excluded_situation",
       aliases=["家庭是否有当地规定的不能识别为贫困户的情形"]),
    _f("verifier_opinion", "核查人意见", "str"),
    _f("filled_date", "填表日期", "date"),
    *_signature_fields(),
)

COLLECTION_FIELDS = (
    _f("year", "年度", "int"),
    _f("filled_date", "填表日期", "date"),
    *_signature_fields(),
)

CONTACT_FIELDS = (
    _f("role", "角色", "enum", enum="contact_role"),
    _f("name", "姓名", "str"),
    _f("position", "职务", "str"),
    _f("phone", "电话", "str", aliases=["联系电话"]),
    _f("photo", "照片", "bool"),
    _derived("registry_name", "登记姓名", "str", "帮扶责任体系登记表中该角色的姓名（帮扶责任人按同名者，否则取第一位）。"),
    _derived("registry_phone", "登记电话", "str", "帮扶责任体系登记表中该角色的电话。"),
    _derived("name_agrees", "姓名与登记一致", "bool", "卡上姓名与登记姓名相同（不计空格）；没有登记表时缺失。"),
    _derived("phone_agrees", "电话与登记一致", "bool", "卡上电话与登记电话的数字相同（138-0373-1101 即 13803731101）；没有登记表时缺失。"),
)

APPLICATION_FIELDS = (
    _f("date", "申请日期", "date", aliases=["日期"]),
    _f("signed", "申请人签字", "bool", aliases=["签字"]),
)

MEETING_FIELDS = (
    _f("kind", "会议类别", "enum", enum="meeting_kind", aliases=["类别"]),
    _f("date", "会议日期", "date", aliases=["日期"]),
    _f("expected", "应到人数", "int"),
    _f("attended", "实到人数", "int"),
    _f("signed_in", "签到人数", "int"),
    _f("votes_for", "赞成票", "int"),
    _f("votes_against", "反对票", "int"),
    _derived("position", "记录顺序", "int", "该会议在会议记录列表中的顺序，从 1 开始。"),
)

NOTICE_FIELDS = (
    _f("level", "公示级别", "enum", enum="notice_level", aliases=["级别"]),
    _f("start", "开始日期", "date"),
    _f("end", "结束日期", "date"),
    _f("cites_meeting_date", "引用会议日期", "date", "cites.meeting_date"),
    _f("cites_attended", "引用实到人数", "int", "cites.attended"),
    _f("cites_signed_in", "引用签到人数", "int", "cites.signed_in"),
    _f("cites_votes_for", "引用赞成票", "int", "cites.votes_for"),
    *_entry_fields(),
    _derived("days", "公示天数", "int", "公示开始日期至结束日期的天数，首尾两天都计入。"),
)

ANNOUNCEMENT_FIELDS = (
    _f("date", "公告日期", "date", aliases=["日期"]),
    *_entry_fields(),
)

HELPER_FIELDS = (
    _derived("helper_id", "编号", "str", "帮扶责任人在登记表中的编号。"),
    _derived("registered", "已登记", "bool", "该编号在帮扶责任体系登记表中有记录。"),
    _derived("name", "姓名", "str", "登记表中的姓名。"),
    _derived("unit_name", "单位", "str", "登记表中的帮扶单位名称。"),
    _derived("unit_level", "单位级别", "enum", "帮扶单位的级别。", enum="unit_level"),
    _derived("position", "职务", "str", "登记表中的职务。"),
    _derived("phone", "电话", "str", "登记表中的电话。"),
    _derived("load", "帮扶户数", "int", "本次核查的档案中由该责任人帮扶的户数。"),
    _derived("village_count", "帮扶村数", "int", "该责任人帮扶的户分布的村数。"),
)

VILLAGE_FIELDS = (
    _derived("registered", "已登记", "bool", "该村在帮扶责任体系登记表中有记录。"),
    _derived("first_secretary_name", "第一书记姓名", "str", "登记表中的驻村第一书记姓名。"),
    _derived("first_secretary_unit", "第一书记单位", "str", "登记表中驻村第一书记的派出单位。"),
    _derived("first_secretary_phone", "第一书记电话", "str", "登记表中的驻村第一书记电话。"),
    _derived("group_leader_name", "组长姓名", "str", "登记表中的脱贫责任组组长姓名。"),
    _derived("group_leader_position", "组长职务", "str", "登记表中的脱贫责任组组长职务。"),
    _derived("group_leader_phone", "组长电话", "str", "登记表中的脱贫责任组组长电话。"),
)

PROBLEM_FIELDS = (
    _derived("entity_label", "所属", "str", "出问题的值所属的对象，如“成员”。"),
    _derived("field_label", "字段", "str", "出问题的字段的中文名，如“出生日期”。"),
    _derived("path", "路径", "str", "出问题的值在档案中的路径，如 members[1].birth_date。"),
    _derived("raw", "原值", "str", "档案中填写的原值（文字形式）。"),
    _derived("reason", "原因", "str", "该值不合格式的原因。"),
)


def _entity(key: str, label: str, aliases: Iterable[str], path: str, many: bool, fields: tuple[Field, ...],
            description: str = "", source: str = "dossier") -> Entity:
    return Entity(key, label, tuple(aliases), path, many, fields, description=description, source=source)


def _view(key: str, label: str, aliases: Iterable[str], base: Entity, word: tuple[str, str], description: str) -> Entity:
    return Entity(key, label, tuple(aliases), base.path, base.many, base.fields, base.key, word, description, base.source)


def _build_entities() -> dict[str, Entity]:
    member = _entity("member", "成员", ["家庭成员", "members"], "members", True, MEMBER_FIELDS, "家庭成员名单中的一人。")
    contact = _entity("contact", "明白卡联系人", ["联系人", "contacts"], "forms.card.contacts", True, CONTACT_FIELDS,
                      "明白卡上的一位联系人。")
    meeting = _entity("meeting", "会议", ["会议记录", "meetings"], "procedure.meetings", True, MEETING_FIELDS,
                      "识别程序中的一次会议记录。")
    notice = _entity("notice", "公示", ["publicity", "notices"], "procedure.publicity", True, NOTICE_FIELDS,
                     "识别程序中的一次公示。")
    entities = [
        _entity("household", "户", ["贫困户", "农户"], "", False, HOUSEHOLD_FIELDS, "一户的档案本身。"),
        member,
        _view("head", "户主", ["head_of_household"], member, ("relation", "户主"), "与户主关系为户主的成员。"),
        _entity("income", "收入", ["收入情况"], "income", False, INCOME_FIELDS, "档案年度的收入情况。"),
        _entity("conditions", "生产生活条件", ["生活条件"], "conditions", False, CONDITIONS_FIELDS),
        _entity("assets", "家庭资产", ["家庭资产及排除情形", "排除情形事实"], "assets", False, ASSETS_FIELDS),
        _entity("measure", "措施", ["帮扶措施", "measures"], "measures", True, MEASURE_FIELDS, "明白卡上的一项帮扶措施。"),
        _entity("other_cause", "其他致贫原因", ["other_causes"], "other_causes", True, OTHER_CAUSE_FIELDS,
                "其他致贫原因列表中的一项。"),
        _entity("survey", "普查表", ["精准识别入户普查表", "入户普查表"], "forms.survey", False, SURVEY_FIELDS),
        _entity("collection", "采集表", ["贫困户信息采集表", "信息采集表"], "forms.collection", False, COLLECTION_FIELDS),
        contact,
        _view("group_leader_contact", "明白卡组长", ["明白卡脱贫责任组组长"], contact, ("role", "脱贫责任组组长"),
              "明白卡上的脱贫责任组组长。"),
        _view("secretary_contact", "明白卡第一书记", ["明白卡驻村第一书记"], contact, ("role", "驻村第一书记"),
              "明白卡上的驻村第一书记。"),
        _view("helper_contact", "明白卡帮扶人", ["明白卡帮扶责任人"], contact, ("role", "帮扶责任人"),
              "明白卡上的帮扶责任人。"),
        _entity("application", "申请书", ["申请"], "procedure.application", False, APPLICATION_FIELDS),
        meeting,
        _view("party_proposal", "党支部提议", ["支部提议"], meeting, ("kind", "党支部提议"), "党支部提议的会议记录。"),
        _view("committee_meeting", "两委商议", ["村两委商议"], meeting, ("kind", "两委商议"), "村两委商议的会议记录。"),
        _view("party_meeting", "党员大会", ["党员大会审议"], meeting, ("kind", "党员大会审议"), "党员大会审议的会议记录。"),
        _view("representative_meeting", "村民代表会议", ["村民代表会议决议"], meeting, ("kind", "村民代表会议决议"),
              "村民代表会议决议的会议记录。"),
        notice,
        _view("village_notice", "村级公示", ["村公示"], notice, ("level", "村"), "村级公示。"),
        _view("township_notice", "乡级公示", ["乡镇公示", "乡公示"], notice, ("level", "乡"), "乡镇公示。"),
        _entity("announcement", "公告", ["县级公告"], "procedure.announcement", False, ANNOUNCEMENT_FIELDS, "县级公告。"),
        _entity("helper", "帮扶责任人", ["责任人", "helpers"], "helpers", True, HELPER_FIELDS,
                "档案所列帮扶责任人在登记表中的情况。", "links"),
        _entity("village", "驻村", ["驻村帮扶", "村帮扶力量"], "region", False, VILLAGE_FIELDS,
                "档案所在村在登记表中的驻村第一书记和脱贫责任组组长。", "links"),
        _entity("problem", "格式问题", ["problems"], "", True, PROBLEM_FIELDS,
                "档案中格式不对的一个值（日期不是日期、取值不在字典中等）。", "problems"),
    ]
    return {entity_.key: entity_ for entity_ in entities}


ENTITIES: dict[str, Entity] = _build_entities()


def entity(name: str) -> Entity | None:
    """An entity or view by key, Chinese label or alias."""
    return next((candidate for candidate in ENTITIES.values() if name in candidate.names), None)


# ---------------------------------------------------------------------------------------------
# Normalisation: raw dossier values → typed values


_INT_TEXT = re.compile(r"[+-]?\d{1,18}")
_NUM_TEXT = re.compile(r"[+-]?(\d{1,18}(\.\d{0,12})?|\.\d{1,12})")
_DATE_TEXT = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_TRUE_WORDS = frozenset({"是", "有", "true", "yes", "y", "已签", "√"})
_FALSE_WORDS = frozenset({"否", "无", "false", "no", "n", "未签", "×"})


def normalize(field: Field, raw: object) -> tuple[object, str | None]:
    """(value, None) for a usable value, (None, Chinese reason) for one of the wrong shape, (None, None) if empty.

    Codes and aliases become the canonical word; dates become datetime.date.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    return _NORMALIZERS[field.type](field, raw)


def _normalize_str(field: Field, raw: object) -> tuple[object, str | None]:
    if isinstance(raw, str):
        return raw.strip(), None
    if isinstance(raw, bool):
        return None, "应为文字，不是是/否"
    if isinstance(raw, int):
        return str(raw), None
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        # Spreadsheets turn phone and identity numbers into floats; whole ones are safe to read back.
        return str(int(raw)), None
    if isinstance(raw, dt.date):
        return raw.isoformat(), None
    return None, "应为文字"


# Whole numbers a record keeps: the engine's facts carry 64-bit integers (orjson and durable_rules).
INT_RANGE = range(-(2**63), 2**63)
_TOO_LARGE = "数值过大"


def _normalize_int(field: Field, raw: object) -> tuple[object, str | None]:
    if isinstance(raw, bool):
        return None, "应为整数，不是是/否"
    if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        raw = int(raw)
    elif isinstance(raw, str) and _INT_TEXT.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, int):
        return (raw, None) if raw in INT_RANGE else (None, _TOO_LARGE)
    return None, "应为整数"


def _normalize_num(field: Field, raw: object) -> tuple[object, str | None]:
    if isinstance(raw, bool):
        return None, "应为数字，不是是/否"
    if isinstance(raw, str) and _NUM_TEXT.fullmatch(raw.strip()):
        text = raw.strip()
        raw = int(text) if _INT_TEXT.fullmatch(text) else float(text)
    if isinstance(raw, int):
        return (raw, None) if raw in INT_RANGE else (None, _TOO_LARGE)
    if isinstance(raw, float):
        return (raw, None) if math.isfinite(raw) else (None, "应为有限的数字")
    return None, "应为数字"


def _normalize_bool(field: Field, raw: object) -> tuple[object, str | None]:
    if isinstance(raw, bool):
        return raw, None
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw), None
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True, None
        if word in _FALSE_WORDS:
            return False, None
    return None, "应为是或否"


def _normalize_date(field: Field, raw: object) -> tuple[object, str | None]:
    if isinstance(raw, dt.datetime):
        return raw.date(), None
    if isinstance(raw, dt.date):
        return raw, None
    if isinstance(raw, str):
        match = _DATE_TEXT.fullmatch(raw.strip())
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups())), None
            except ValueError:
                return None, "不是存在的日期"
    return None, "应为日期（YYYY-MM-DD）"


def _normalize_enum(field: Field, raw: object) -> tuple[object, str | None]:
    words = enumeration(field.enum or "")
    word = words.canonical(raw)
    if word is not None:
        return word, None
    return None, f"不是“{words.label}”的取值（可选：{'、'.join(words.names)}）"


_NORMALIZERS = {
    "str": _normalize_str,
    "int": _normalize_int,
    "num": _normalize_num,
    "bool": _normalize_bool,
    "date": _normalize_date,
    "enum": _normalize_enum,
}


# Text readers: most dossier text comes in a clean shape (no surrounding spaces, a dictionary
# word, an ISO date). A field's text reader gives what `normalize` gives for such text and
# something false for any other text, which then goes the general way: for every str `raw`,
# `read_text(raw) or normalize(field, raw)[0]` is `normalize(field, raw)[0]`, and the reader's
# value comes with no problem. (Whole numbers and true/false need no reading at all: the record
# builder keeps them as they are.)

TextReader = Callable[[str], object]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def text_reader(field: Field) -> TextReader:
    """normalize(field, ·)'s value for clean text of the field's type; something false for other text."""
    if field.type == "enum":
        return enumeration(field.enum or "").exact().get
    if field.type == "str":
        return str.strip   # "" for blank text, which normalize leaves empty too
    if field.type == "date":
        return _iso_date
    return _not_read


def _iso_date(text: str) -> dt.date | None:
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None  # not a real date: the general path says so
    return None


def _not_read(text: str) -> None:
    """Numbers and true/false written as text are read the general way."""
    return None


# ---------------------------------------------------------------------------------------------
# Identity numbers (GB 11643) and ages


_ID_WEIGHTS = tuple(2 ** (17 - position) % 11 for position in range(17))
_ID_CHECK_CHARS = "10X98765432"
_ID_ZERO_TOTAL = ord("0") * sum(_ID_WEIGHTS)
_ID_SHAPE = re.compile(r"\d{17}[\dXx]")


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an identity number."""
    if first17.isascii() and first17.isdigit():
        # ASCII digits are their byte values less ord("0"): one pass over the bytes, no int() per digit.
        total = sum(map(operator.mul, first17.encode(), _ID_WEIGHTS)) - _ID_ZERO_TOTAL
    else:
        total = sum(map(operator.mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def birth_date_from_id(id_number: str) -> dt.date | None:
    """The birth date written in digits 7–14 of an 18-character identity number, if it is a real date."""
    return _id_birth(id_number) if _ID_SHAPE.fullmatch(id_number) else None


def sex_from_id(id_number: str) -> str | None:
    """男 or 女 from digit 17 of an identity number (odd is male)."""
    return _id_sex(id_number) if _ID_SHAPE.fullmatch(id_number) else None


def id_number_valid(id_number: str) -> bool:
    """18 characters, a real birth date, and the right check character (X or x for ten)."""
    return birth_date_from_id(id_number) is not None and _id_check_agrees(id_number)


# The parts of an identity number of the right shape (_ID_SHAPE), for callers that checked it.

def _id_birth(id_number: str) -> dt.date | None:
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def _id_sex(id_number: str) -> str:
    return "男" if int(id_number[16]) % 2 else "女"


def _id_check_agrees(id_number: str) -> bool:
    return id_check_char(id_number[:17]) == id_number[17].upper()


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on `day` (someone born on 29 February comes of age on 1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# ---------------------------------------------------------------------------------------------
# Records: the facts a dossier becomes


_NOTHING_UNREADABLE: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)
class Record:
    entity: str              # entity key (never a view)
    id: str                  # unique within the household and stable: "household", "members[0]", "income", ...
    path: str                # dossier path of the node: "members[0]", "income", "forms.survey", ...
    values: dict[str, object]  # field key → normalized value; missing, null or invalid values are ABSENT
    parent: str | None = None  # id of the parent record ("household" for most)
    # field key → what was written there, for a value that could not be read (each has its 格式问题
    # record): absent from `values` like a missing value, yet not 为空
    unreadable: Mapping[str, str] = dataclass_field(default_factory=lambda: _NOTHING_UNREADABLE)   # shared, read-only

    def filled(self, field_key: str) -> bool:
        """Not 为空: the field has a value, or something was written in it that could not be read."""
        return field_key in self.values or field_key in self.unreadable


def value_path(record: Record, field: Field) -> str:
    """The dossier path of one value of a record, for evidence: "members[0].birth_date", "members[0].age"."""
    below = field.key if field.derived else field.path
    if not below:
        return record.path
    return f"{record.path}.{below}" if record.path else below


def records(dossier: dict, links: dict | None = None) -> list[Record]:
    """Every record of one dossier (and of its responsibility links), problem records last.

    Never raises: nodes of the wrong shape are skipped (structure_errors reports them), values of
    the wrong shape become `problem` records.
    """
    return _RecordBuilder(dossier if isinstance(dossier, dict) else {}, links if isinstance(links, dict) else {}).build()


class _RecordBuilder:
    """Reads one dossier into records, collecting value problems as it goes."""

    def __init__(self, dossier: dict, links: dict):
        self.dossier = dossier
        self.links = links
        self.problems: list[Record] = []

    def build(self) -> list[Record]:
        household = self._read(ENTITIES["household"], self.dossier, "", "household", None)
        members = self._members(household.values.get("year"))
        self._add_household_derived(household, members)
        result = [household, *members]
        result.extend(self._single("income", household))
        result.extend(self._single("conditions", household))
        result.extend(self._single("assets", household))
        result.extend(self._measures(members))
        result.extend(self._many("other_cause"))
        result.extend(self._single("survey", household))
        result.extend(self._single("collection", household))
        result.extend(self._contacts())
        result.extend(self._single("application", household))
        result.extend(self._meetings())
        result.extend(self._notices())
        result.extend(self._single("announcement", household))
        result.extend(self._helpers())
        result.extend(self._village())
        return result + self.problems

    # -- reading nodes ------------------------------------------------------------------------

    def _read(self, entity_: Entity, node: object, path: str, record_id: str, parent: str | None) -> Record:
        record = Record(entity_.key, record_id, path, {}, parent)
        for below, readers in _reading_plan(entity_.key):
            if below is None:
                holder = {None: node}   # a bare value: the one value of a one-entry mapping
            elif below:
                holder = _node_at(node, below)
            else:
                holder = node if isinstance(node, dict) else _NO_NODE   # a list where a mapping belongs
            self._fill(record, entity_, holder, readers)
        return record

    def _fill(self, record: Record, entity_: Entity, holder: Mapping, readers: tuple[_FieldReader, ...]) -> None:
        """The readers' values from the mapping that holds them (a missing or null value is left out)."""
        values = record.values
        get = holder.get
        for field_, key, name, kept, read_text in readers:
            raw = get(name)
            if raw is None:
                continue
            if type(raw) is kept and (kept is not int or raw in INT_RANGE):
                values[key] = raw
            elif type(raw) is str and (value := read_text(raw)):
                values[key] = value
            else:
                value, reason = normalize(field_, raw)
                if value is not None:
                    values[key] = value
                elif reason is not None:
                    self._problem(record, entity_, field_, raw, reason)

    def _problem(self, record: Record, entity_: Entity, field_: Field, raw: object, reason: str) -> None:
        values = {
            "entity_label": entity_.label,
            "field_label": field_.label,
            "path": value_path(record, field_),
            "raw": _raw_text(raw),
            "reason": reason,
        }
        record.unreadable = {**record.unreadable, field_.key: values["raw"]}
        self.problems.append(Record("problem", f"problems[{len(self.problems)}]", values["path"], values, record.id))

    def _many(self, key: str) -> list[Record]:
        entity_ = ENTITIES[key]
        items = _value_at(self.dossier, _ENTITY_PARTS[key])
        if not isinstance(items, list):
            return []
        result = []
        mapping_items = _MAPPING_ITEMS[key]
        for index, node in enumerate(items):
            if node is None or isinstance(node, (list, dict)) != mapping_items:
                continue
            path = f"{entity_.path}[{index}]"
            result.append(self._read(entity_, node, path, path, "household"))
        return result

    def _single(self, key: str, household: Record) -> list[Record]:
        entity_ = ENTITIES[key]
        node = _value_at(self.dossier, _ENTITY_PARTS[key])
        if not isinstance(node, dict):
            return []
        record = self._read(entity_, node, entity_.path, entity_.path, household.id)
        if key == "income":
            _add_income_derived(record, household.values.get("household_size"))
        return [record]

    # -- entities with derived values ---------------------------------------------------------

    def _members(self, year: object) -> list[Record]:
        members = self._many("member")
        for member in members:
            _add_member_derived(member, year if isinstance(year, int) else None)
        _mark_repeated_ids(members)
        return members

    def _add_household_derived(self, household: Record, members: list[Record]) -> None:
        values = household.values
        found, raw_members = _lookup(self.dossier, "members")
        if found and isinstance(raw_members, list):
            values["household_size"] = len(raw_members)
        values.update(_member_counts(members))
        head = next((member for member in members if member.values.get("relation") == "户主"), None)
        if head is not None and "name" in head.values:
            values["head_name"] = head.values["name"]
        province = self._province(household, head)
        if province is not None:
            values["province"] = province
        for key, path in (("other_cause_count", "other_causes"), ("measure_count", "measures"), ("helper_count", "helpers")):
            found, items = _lookup(self.dossier, path)
            if isinstance(items, list):
                values[key] = len(items)
            elif found and items is None:
                values[key] = 0

    def _province(self, household: Record, head: Record | None) -> str | None:
        found, raw = _lookup(self.dossier, "region.province")
        if found and raw is not None:
            value, reason = normalize(_PROVINCE, raw)
            if reason is not None:
                self._problem(household, ENTITIES["household"], _PROVINCE, raw, reason)
            return value if isinstance(value, str) else None
        id_number = head.values.get("id_number") if head is not None else None
        if isinstance(id_number, str) and _ID_SHAPE.fullmatch(id_number):
            return enumeration("province").canonical(id_number[:2])
        return None

    def _measures(self, members: list[Record]) -> list[Record]:
        names = {member.values["name"] for member in members if "name" in member.values}
        measures = self._many("measure")
        for measure in measures:
            if "beneficiary" in measure.values:
                measure.values["beneficiary_known"] = measure.values["beneficiary"] in names
        return measures

    def _meetings(self) -> list[Record]:
        meetings = self._many("meeting")
        for position, meeting in enumerate(meetings, start=1):
            meeting.values["position"] = position
        return meetings

    def _notices(self) -> list[Record]:
        notices = self._many("notice")
        for notice in notices:
            start, end = notice.values.get("start"), notice.values.get("end")
            if isinstance(start, dt.date) and isinstance(end, dt.date):
                notice.values["days"] = (end - start).days + 1
        return notices

    # -- the responsibility links -------------------------------------------------------------

    def _contacts(self) -> list[Record]:
        contacts = self._many("contact")
        registry = self.links.get("registry_contacts")
        if isinstance(registry, dict) and contacts:
            from dangka.engine.graph import same_name, same_phone  # the graph's notion of "the same" person and number

            for contact in contacts:
                _add_registry_contact(contact, registry, same_name, same_phone)
        return contacts

    def _helpers(self) -> list[Record]:
        entity_ = ENTITIES["helper"]
        helpers = self.links.get("helpers")
        if not isinstance(helpers, list):
            return []
        result = []
        for index, entry in enumerate(helpers):
            if isinstance(entry, dict):
                path = f"helpers[{index}]"
                result.append(self._read_link(entity_, entry, path, path))
        return result

    def _village(self) -> list[Record]:
        village = self.links.get("village")
        if not isinstance(village, dict):
            return []
        return [self._read_link(ENTITIES["village"], village, "region", "village")]

    def _read_link(self, entity_: Entity, entry: dict, path: str, record_id: str) -> Record:
        record = Record(entity_.key, record_id, path, {}, "household")
        self._fill(record, entity_, entry, _link_readers(entity_.key))
        return record


class _FieldReader(NamedTuple):
    field: Field
    key: str
    name: str | None   # the value's key in the mapping that holds it
    kept: type         # raw values of exactly this type are already normalized (int, bool; NoneType: none)
    read_text: TextReader


def _field_reader(field_: Field, name: str | None) -> _FieldReader:
    # A raw value is never None when its type is compared, so NoneType keeps nothing as it is.
    kept = {"int": int, "num": int, "bool": bool}.get(field_.type, type(None))
    return _FieldReader(field_, field_.key, name, kept, text_reader(field_))


_NO_NODE: Mapping[str, object] = MappingProxyType({})


@cache
def _reading_plan(entity_key: str) -> tuple[tuple[tuple[str, ...] | None, tuple[_FieldReader, ...]], ...]:
    """An entity's dossier fields in order, each run of them that one mapping holds together, by
    its path below the entity's node: ((), (id, year, ...)), (("region",), (county, township,
    village)), ... — paths split once. None: the node is itself the value (other causes)."""
    plan: list[tuple[tuple[str, ...] | None, list[_FieldReader]]] = []
    for field_ in ENTITIES[entity_key].fields:
        if field_.derived:
            continue
        parts = field_.path.split(".") if field_.path else None
        below, name = (tuple(parts[:-1]), parts[-1]) if parts else (None, None)
        if not plan or plan[-1][0] != below:
            plan.append((below, []))
        plan[-1][1].append(_field_reader(field_, name))
    return tuple((below, tuple(readers)) for below, readers in plan)


@cache
def _link_readers(entity_key: str) -> tuple[_FieldReader, ...]:
    """A link entity's fields, each read from the link entry's value under its key."""
    return tuple(_field_reader(field_, field_.key) for field_ in ENTITIES[entity_key].fields)


def _node_at(node: object, below: tuple[str, ...]) -> Mapping[str, object]:
    """The mapping at a path below a node; an empty one when there is none."""
    node = _value_at(node, below)
    return node if isinstance(node, dict) else _NO_NODE


def _value_at(node: object, parts: tuple[str, ...]) -> object:
    """The value at a path below a node, None when there is none."""
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _lookup(node: object, path: str) -> tuple[bool, object]:
    """(found, value) at a dotted path below a node; "" is the node itself."""
    if not path:
        return True, node
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _item_is_mapping(entity_: Entity) -> bool:
    """Whether the items of a collection are mappings (members) or bare values (other causes)."""
    return any(field_.path for field_ in entity_.fields if not field_.derived)


_PROVINCE = ENTITIES["household"].field("province")
_ENTITY_PARTS = {key: tuple(entity_.path.split(".")) if entity_.path else () for key, entity_ in ENTITIES.items()}
_MAPPING_ITEMS = {key: _item_is_mapping(entity_) for key, entity_ in ENTITIES.items()}


def _raw_text(raw: object) -> str:
    """A short text for a raw value in a problem record; containers are described, not dumped."""
    if isinstance(raw, dict):
        return f"{{映射，{len(raw)} 项}}"
    if isinstance(raw, list):
        return f"[列表，{len(raw)} 项]"
    if isinstance(raw, bool):
        return "是" if raw else "否"
    return shortened(raw.isoformat() if isinstance(raw, dt.date) else str(raw), 80)


def _add_member_derived(member: Record, year: int | None) -> None:
    values = member.values
    id_number = values.get("id_number")
    if isinstance(id_number, str) and _ID_SHAPE.fullmatch(id_number):
        id_birth = _id_birth(id_number)
        values["id_valid"] = id_birth is not None and _id_check_agrees(id_number)
        if id_birth is not None:
            values["id_birth_date"] = id_birth
            values.setdefault("birth_date", id_birth)
        values["id_sex"] = _id_sex(id_number)
    elif isinstance(id_number, str):
        values["id_valid"] = False
    birth = values.get("birth_date")
    if year is not None and isinstance(birth, dt.date) and 1 <= year <= 9999:
        age = age_on(birth, dt.date(year, 12, 31))
        if age >= 0:
            values["age"] = age


def _mark_repeated_ids(members: list[Record]) -> None:
    """id_repeated: whether another member of the household has the same identity number (x and X alike)."""
    numbers = [member.values.get("id_number") for member in members]
    keys = [number.upper() if isinstance(number, str) else None for number in numbers]
    counted = Counter(key for key in keys if key)
    for member, key in zip(members, keys):
        if key:
            member.values["id_repeated"] = counted[key] > 1


_LABOR_GROUPS = {
    "labor_count": ("labor", {"普通劳动力", "技能劳动力"}),
    "weak_labor_count": ("labor", {"弱劳动力或半劳动力"}),
    "no_labor_count": ("labor", {"丧失劳动力", "无劳动力"}),
    "ill_count": ("health", {"长期慢性病", "患有大病"}),
}


def _member_counts(members: list[Record]) -> dict[str, int]:
    counts = {
        key: sum(1 for member in members if member.values.get(field_key) in words)
        for key, (field_key, words) in _LABOR_GROUPS.items()
    }
    counts["disabled_count"] = sum(
        1 for member in members if member.values.get("health") == "残疾" or "disability_level" in member.values
    )
    counts["student_count"] = sum(
        1 for member in members if member.values.get("in_school") not in (None, "非在校生")
    )
    counts["elderly_count"] = sum(1 for member in members if member.values.get("age", -1) >= 60)
    return counts


_INCOME_PARTS = ("wage", "business", "property")
_TRANSFER_PARTS = tuple(field_.key for field_ in INCOME_FIELDS if field_.path.startswith("transfer."))


def _add_income_derived(income: Record, household_size: object) -> None:
    values = income.values
    if not all(key in values for key in _TRANSFER_PARTS):
        return
    values["transfer_sum"] = sum(values[key] for key in _TRANSFER_PARTS)
    if not all(key in values for key in (*_INCOME_PARTS, "business_expense")):
        return
    values["net_income"] = sum(values[key] for key in _INCOME_PARTS) + values["transfer_sum"] - values["business_expense"]
    if isinstance(household_size, int) and household_size > 0:
        values["per_capita_computed"] = round(values["net_income"] / household_size, 2)


# The registry's name and phone of a contact's role: (field, the registry entry's key).
_REGISTRY_VALUES = tuple((ENTITIES["contact"].field(key), registry_key)
                         for key, registry_key in (("registry_name", "name"), ("registry_phone", "phone")))


def _add_registry_contact(contact: Record, registry: dict, same_name: Callable, same_phone: Callable) -> None:
    values = contact.values
    entry = registry.get(values.get("role"))
    if isinstance(entry, list):
        # Several helpers may serve one household: the card names one of them.
        candidates = [item for item in entry if isinstance(item, dict)]
        named = [item for item in candidates if item.get("name") == values.get("name")]
        entry = (named or candidates or [None])[0]
    if not isinstance(entry, dict):
        return
    for field_, registry_key in _REGISTRY_VALUES:
        value, _ = normalize(field_, entry.get(registry_key))
        if value is not None:
            values[field_.key] = value
    # Equal values are the same by any notion of "the same"; only different ones need comparing.
    name, registry_name = values.get("name"), values.get("registry_name")
    if name is not None and registry_name is not None:
        values["name_agrees"] = name == registry_name or same_name(name, registry_name)
    phone, registry_phone = values.get("phone"), values.get("registry_phone")
    if phone is not None and registry_phone is not None:
        values["phone_agrees"] = phone == registry_phone or same_phone(phone, registry_phone)


# ---------------------------------------------------------------------------------------------
# Structure: what makes a dossier unreadable (input.invalid) rather than a set of findings


# Dossier nodes that hold other nodes but are not entities themselves.
_NODE_LABELS = {
    "region": "行政区划",
    "forms": "表卡",
    "forms.card": "明白卡",
    "procedure": "识别程序",
    "insurance": "参保情况",
    "transfer": "转移性收入",
    "signatures": "签字",
    "cites": "引用会议情况",
    "entry": "公示内容",
}


def structure_errors(dossier: object) -> list[str]:
    """What keeps a dossier from being checked at all, as user messages; empty when it fits the contract."""
    if not isinstance(dossier, dict):
        return [tr(f"档案应为映射（键: 值），实为{_kind_zh(dossier)}", f"a dossier must be a mapping, not {_kind_en(dossier)}")]
    return [*_identity_errors(dossier), *_region_errors(dossier), *_member_errors(dossier), *_shape_errors(dossier)]


def _identity_errors(dossier: dict) -> list[str]:
    household_id = dossier.get("id")
    if household_id is None or (isinstance(household_id, str) and not household_id.strip()):
        return [tr("缺少户编号（id）", "missing household id (id)")]
    if isinstance(household_id, bool) or not isinstance(household_id, (str, int)):
        return [tr("户编号（id）应为文字", "the household id (id) must be text")]
    return []


def _region_errors(dossier: dict) -> list[str]:
    region = dossier.get("region")
    if region is None:
        return [tr("缺少行政区划（region）", "missing region (region)")]
    if not isinstance(region, dict):
        return [tr("行政区划（region）应为包含 county、township、village 的映射",
                   "region must be a mapping with county, township and village")]
    errors = []
    for key, label in (("county", "县"), ("township", "乡镇"), ("village", "村")):
        value = region.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            errors.append(tr(f"行政区划缺少{label}（region.{key}）", f"region.{key} is missing"))
    return errors


def _member_errors(dossier: dict) -> list[str]:
    members = dossier.get("members")
    if members is None:
        return [tr("缺少家庭成员（members）", "missing household members (members)")]
    if not isinstance(members, list):
        return [tr("家庭成员（members）应为列表", "members must be a list")]
    if not members:
        return [tr("家庭成员（members）至少应有一人", "members must list at least one person")]
    errors = []
    heads = 0
    for index, member in enumerate(members):
        where_zh, where_en = f"家庭成员第 {index + 1} 项（members[{index}]）", f"members[{index}]"
        if not isinstance(member, dict):
            errors.append(tr(f"{where_zh}应为映射", f"{where_en} must be a mapping"))
            continue
        name, _ = normalize(MEMBER_FIELDS[0], member.get("name"))
        if name is None:
            errors.append(tr(f"{where_zh}缺少姓名（name）", f"{where_en} has no name"))
        heads += enumeration("relation").canonical(member.get("relation")) == "户主"
    if heads != 1 and len(errors) < len(members):
        errors.append(tr(f"家庭成员中应恰有一位户主（relation: 户主），现有 {heads} 位",
                         f"members must have exactly one head (relation: 户主), found {heads}"))
    return errors


def _shape_errors(dossier: dict) -> list[str]:
    errors: list[str] = []
    for entity_ in _NODE_ENTITIES:
        if entity_.key == "member" and not isinstance(dossier.get("members"), list):
            continue  # _member_errors has said so
        errors.extend(_entity_shape_errors(dossier, entity_))
    helpers = dossier.get("helpers")
    if helpers is not None and (not isinstance(helpers, list) or any(isinstance(item, (dict, list)) for item in helpers)):
        errors.append(tr("帮扶责任人（helpers）应为责任人编号的列表", "helpers must be a list of helper ids"))
    return list(dict.fromkeys(errors))


# Entities read from a node of the dossier below the household (views share their base's node).
_NODE_ENTITIES = tuple(entity_ for entity_ in ENTITIES.values()
                       if entity_.source == "dossier" and not entity_.base and entity_.path)


def _entity_shape_errors(dossier: dict, entity_: Entity) -> list[str]:
    parts = _PATH_PARTS[entity_.key]
    node: object = dossier
    for depth, part in enumerate(parts):
        node = node.get(part)
        if node is None:
            return []
        if depth < len(parts) - 1 and not isinstance(node, dict):
            return [_not_mapping(".".join(parts[: depth + 1]), None)]
    if not entity_.many:
        if not isinstance(node, dict):
            return [_not_mapping(entity_.path, entity_)]
        return _sub_node_errors(node, entity_, entity_.path)
    if not isinstance(node, list):
        return [tr(f"{entity_.label}（{entity_.path}）应为列表", f"{entity_.path} must be a list")]
    errors = []
    wants_mapping = _ITEM_IS_MAPPING[entity_.key]
    for index, item in enumerate(node):
        path = f"{entity_.path}[{index}]"
        if item is None:
            continue
        if wants_mapping and not isinstance(item, dict):
            errors.append(tr(f"{entity_.label}第 {index + 1} 项（{path}）应为映射", f"{path} must be a mapping"))
        elif not wants_mapping and isinstance(item, (dict, list)):
            errors.append(tr(f"{entity_.label}第 {index + 1} 项（{path}）应为单个取值", f"{path} must be a single value"))
        elif wants_mapping:
            errors.extend(_sub_node_errors(item, entity_, path))
    return errors


def _sub_node_errors(node: dict, entity_: Entity, path: str) -> list[str]:
    """Nested mappings inside one node (insurance, transfer, cites, entry, signatures) must be mappings."""
    errors = []
    for sub in _SUB_NODES[entity_.key]:
        value = node.get(sub)
        if value is not None and not isinstance(value, dict):
            errors.append(_not_mapping(f"{path}.{sub}", None, sub))
    return errors


# Worked out once per entity: every dossier is checked against them (twice in a two-pass run).
_PATH_PARTS = {entity_.key: tuple(entity_.path.split(".")) for entity_ in _NODE_ENTITIES}
_SUB_NODES = {entity_.key: tuple(dict.fromkeys(field_.path.rsplit(".", 1)[0] for field_ in entity_.fields
                                               if "." in field_.path))
              for entity_ in _NODE_ENTITIES}
_ITEM_IS_MAPPING = {entity_.key: _item_is_mapping(entity_) for entity_ in _NODE_ENTITIES}


def _not_mapping(path: str, entity_: Entity | None, node_key: str | None = None) -> str:
    label = entity_.label if entity_ else _NODE_LABELS.get(node_key or path, path)
    return tr(f"{label}（{path}）应为映射", f"{path} must be a mapping")


def _kind_zh(value: object) -> str:
    if isinstance(value, list):
        return "列表"
    if value is None:
        return "空值"
    return "单个取值"


def _kind_en(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return "a single value"
