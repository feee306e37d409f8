"""Seeded generator of realistic household dossiers (一户一档) and their registry, with injected defects."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from itertools import accumulate
from math import ceil

from dangka.policy import Policies

# ---------------------------------------------------------------------------------------------
# Public tables
# ---------------------------------------------------------------------------------------------

# defect key → what is wrong, in the words of a field report.
DEFECTS: dict[str, str] = {
    "exit_year_missing": "已脱贫户未填写脱贫年度",
    "exit_before_identified": "脱贫年度早于识别年度",
    "survey_excluded_denied": "家庭成员有财政供养人员，普查表却填“无”排除情形",
    "verifier_opinion_blank": "普查表核查人意见空白",
    "signature_missing": "表卡缺少签字",
    "id_check_digit": "身份证号校验位错误",
    "sex_id_mismatch": "性别与身份证号不符",
    "child_college": "7 岁儿童文化程度填为大专及以上",
    "transfer_total_mismatch": "转移性收入合计不等于各项之和",
    "per_capita_miscomputed": "人均纯收入计算错误",
    "survey_year_mismatch": "普查表年度与档案年度不符",
    "phone_malformed": "联系电话不是 11 位",
    "application_after_proposal": "申请书日期晚于党支部提议",
    "notice_too_short": "公示天数不足",
    "notice_cites_wrong_attendance": "公示引用的实到人数与会议记录不符",
    "signed_in_exceeds_attended": "签到人数多于实到人数",
    "votes_exceed_attended": "赞成票多于实到人数",
    "no_quorum": "村民代表会议到会人数不足三分之二",
    "publicity_size_mismatch": "村级公示与县级公告家庭人数不一致",
    "publicity_name_mismatch": "公示姓名与户主姓名不一致",
    "publicity_cause_mismatch": "公示致贫原因与档案不一致",
    "owns_car": "家庭有小轿车仍被识别为贫困户",
    "cooking_case": "七旬老人因病却登记缺技术并安排烹饪培训",
    "illness_without_health_measure": "因病致贫却没有健康扶贫措施",
    "microcredit_elderly": "为八旬老人安排扶贫小额信贷",
    "exited_below_line": "标注已脱贫但人均纯收入低于贫困线",
    "exited_unsafe_house": "标注已脱贫但住房不安全",
    "no_helper": "未落实帮扶责任人",
    "unknown_helper": "帮扶责任人编号不在帮扶责任体系中",
    "card_phone_mismatch": "明白卡帮扶责任人电话与登记不符",
    "card_contact_missing": "明白卡缺少联系人",
    "helper_overload": "帮扶责任人帮扶户数超过上限",
    "village_no_secretary": "所在村未派驻第一书记",
    "member_without_name": "家庭成员缺少姓名",
}

# defect key → the finding categories (shared/spec/findings.md) a checker is expected to report.
DEFECT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "exit_year_missing": ("form.missing",),
    "exit_before_identified": ("form.invalid",),
    "survey_excluded_denied": ("eligibility.excluded",),
    "verifier_opinion_blank": ("form.missing",),
    "signature_missing": ("form.missing",),
    "id_check_digit": ("form.invalid",),
    "sex_id_mismatch": ("form.inconsistent",),
    "child_college": ("form.inconsistent",),
    "transfer_total_mismatch": ("form.inconsistent",),
    "per_capita_miscomputed": ("form.inconsistent",),
    "survey_year_mismatch": ("form.inconsistent",),
    "phone_malformed": ("form.invalid",),
    "application_after_proposal": ("procedure.order",),
    "notice_too_short": ("procedure.order",),
    "notice_cites_wrong_attendance": ("procedure.record_mismatch",),
    "signed_in_exceeds_attended": ("procedure.record_mismatch",),
    "votes_exceed_attended": ("procedure.record_mismatch",),
    "no_quorum": ("procedure.record_mismatch",),
    "publicity_size_mismatch": ("procedure.publicity_mismatch",),
    "publicity_name_mismatch": ("procedure.publicity_mismatch",),
    "publicity_cause_mismatch": ("procedure.publicity_mismatch",),
    "owns_car": ("eligibility.excluded",),
    "cooking_case": ("plan.cause_mismatch", "plan.capacity_mismatch"),
    "illness_without_health_measure": ("plan.measure_mismatch",),
    "microcredit_elderly": ("plan.capacity_mismatch",),
    "exited_below_line": ("plan.insufficient",),
    "exited_unsafe_house": ("plan.insufficient",),
    "no_helper": ("responsibility.missing",),
    "unknown_helper": ("responsibility.missing",),
    "card_phone_mismatch": ("responsibility.mismatch",),
    "card_contact_missing": ("responsibility.missing",),
    "helper_overload": ("responsibility.overload",),
    "village_no_secretary": ("responsibility.missing",),
    "member_without_name": ("input.invalid",),
}

# Relative frequency of each defect among defective households: form slips are what inspections
# find most, wrong plans and broken responsibility chains less often.
_DEFECT_WEIGHTS: dict[str, int] = {
    "signature_missing": 10, "verifier_opinion_blank": 6, "per_capita_miscomputed": 8,
    "transfer_total_mismatch": 6, "survey_year_mismatch": 4, "id_check_digit": 4,
    "sex_id_mismatch": 2, "child_college": 1, "phone_malformed": 2, "exit_year_missing": 3,
    "exit_before_identified": 1, "application_after_proposal": 3, "notice_too_short": 3,
    "notice_cites_wrong_attendance": 4, "signed_in_exceeds_attended": 3,
    "votes_exceed_attended": 2, "no_quorum": 2, "publicity_size_mismatch": 5,
    "publicity_name_mismatch": 4, "publicity_cause_mismatch": 3, "survey_excluded_denied": 2,
    "owns_car": 2, "cooking_case": 2, "illness_without_health_measure": 3,
    "microcredit_elderly": 2, "exited_below_line": 2, "exited_unsafe_house": 2, "no_helper": 2,
    "unknown_helper": 1, "card_phone_mismatch": 4, "card_contact_missing": 3,
    "helper_overload": 3, "village_no_secretary": 1, "member_without_name": 1,
}

# Defects decided for a whole helper team or village rather than one household.
_STRUCTURAL = ("helper_overload", "village_no_secretary")

# A household gets at most one defect of each group: members of a group shape or rewrite the
# same part of the dossier, so two of them would undo or hide each other.
_DEFECT_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"cooking_case", "child_college", "microcredit_elderly",
               "illness_without_health_measure", "exit_year_missing", "exit_before_identified",
               "exited_below_line", "exited_unsafe_house"}),
    frozenset({"exited_below_line", "per_capita_miscomputed"}),
    frozenset({"notice_cites_wrong_attendance", "signed_in_exceeds_attended",
               "votes_exceed_attended", "no_quorum"}),
    frozenset({"no_helper", "unknown_helper", "card_phone_mismatch", "card_contact_missing"}),
    # A wrong check digit makes the birth date and sex in the number untrustworthy.
    frozenset({"id_check_digit", "sex_id_mismatch", "child_college"}),
)
# An unreadable dossier hides every other defect, so this one always comes alone.
_ALONE = frozenset({"member_without_name"})

YEARS = tuple(range(2014, 2021))   # the record years generated: 精准扶贫 建档立卡 ran 2014–2020

HOUSEHOLDS_PER_COUNTY = 20_000   # default county count: one county per this many households
BLOCK = 36                       # consecutive households of one village; split runs at multiples
TEAM = 9                         # households served by one helper team (3 helpers, or 1 overloaded)
HOUSEHOLDS_PER_HELPER = 3

# ---------------------------------------------------------------------------------------------
# Small tools
# ---------------------------------------------------------------------------------------------


class _Weighted:
    """Weighted choice by one uniform draw (faster than random.choices for a single pick)."""

    __slots__ = ("items", "cumulative", "total")

    def __init__(self, pairs):
        items, weights = zip(*pairs, strict=True)
        self.items = items
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number in [low, high]; randint is several times slower."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items):
    """One item of a sequence; random.choice is several times slower."""
    return items[int(rng.random() * len(items))]


def _stable_random(seed: int, *parts: object) -> random.Random:
    """A generator seeded by a name, for things shared by many households (villages, teams)."""
    return random.Random("/".join(map(str, (seed, *parts))))


@cache
def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


@cache
def _year_start(year: int) -> int:
    return date(year, 1, 1).toordinal()


def _days_in_year(year: int) -> int:
    return _year_start(year + 1) - _year_start(year)


# ---------------------------------------------------------------------------------------------
# Policy values: clean households must be clean by the same knowledge base the checker uses
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _policies() -> Policies:
    return Policies.load()


@cache
def _parameter(name: str, year: int, province: str):
    return _policies().parameter(name).value(year, province)[0]


@cache
def _measures_addressing(cause: str) -> frozenset[str]:
    return frozenset(_policies().table("causes").get(cause, "measures") or ())


# ---------------------------------------------------------------------------------------------
# Identity numbers (GB 11643-1999)
# ---------------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _weighted_digits(digits: str, offset: int) -> int:
    return sum(int(c) * _ID_WEIGHTS[offset + i] for i, c in enumerate(digits))


# The check sum is a sum over the three parts, so each part's share is computed once.
_SEQUENCES = [(f"{number:03d}", _weighted_digits(f"{number:03d}", 14)) for number in range(1000)]


@cache
def _region_part(region_code: str) -> int:
    return _weighted_digits(region_code, 0)


@cache
def _birth_part(birth_ordinal: int) -> tuple[str, int]:
    birth = date.fromordinal(birth_ordinal).strftime("%Y%m%d")
    return birth, _weighted_digits(birth, 6)


def _identity_number(region_code: str, birth_ordinal: int, male: bool, rng: random.Random) -> str:
    """An 18-character identity number: county code, birth date, sequence (odd for men), check."""
    birth, birth_sum = _birth_part(birth_ordinal)
    sequence, sequence_sum = _SEQUENCES[2 * _between(rng, 1, 498) + male]
    return region_code + birth + sequence + _ID_CHECK[(_region_part(region_code) + birth_sum + sequence_sum) % 11]


# ---------------------------------------------------------------------------------------------
# Regions: province → county → township → village
# ---------------------------------------------------------------------------------------------

# (province, ISO 3166-2 code, city, county, GB/T 2260 code, ethnic groups with weights)
_HAN = (("汉族", 1),)
_REAL_COUNTIES = (
    ("河南省", "HA", "新乡市", "封丘县", "410727", _HAN),
    ("河南省", "HA", "新乡市", "原阳县", "410725", _HAN),
    ("河南省", "HA", "新乡市", "延津县", "410726", _HAN),
    ("河南省", "HA", "开封市", "兰考县", "410225", _HAN),
    ("河南省", "HA", "三门峡市", "卢氏县", "411224", _HAN),
    ("河南省", "HA", "濮阳市", "台前县", "410927", _HAN),
    ("河南省", "HA", "濮阳市", "范县", "410926", _HAN),
    ("河南省", "HA", "洛阳市", "嵩县", "410325", _HAN),
    ("河南省", "HA", "洛阳市", "栾川县", "410324", _HAN),
    ("河南省", "HA", "信阳市", "光山县", "411522", _HAN),
    ("河南省", "HA", "信阳市", "新县", "411523", _HAN),
    ("河南省", "HA", "信阳市", "商城县", "411524", _HAN),
    ("河南省", "HA", "信阳市", "固始县", "411525", _HAN),
    ("河南省", "HA", "信阳市", "淮滨县", "411527", _HAN),
    ("河南省", "HA", "周口市", "沈丘县", "411624", (("汉族", 95), ("回族", 5))),
    ("河南省", "HA", "周口市", "郸城县", "411625", _HAN),
    ("河南省", "HA", "周口市", "太康县", "411627", _HAN),
    ("河南省", "HA", "平顶山市", "鲁山县", "410423", _HAN),
    ("河南省", "HA", "商丘市", "民权县", "411421", _HAN),
    ("河南省", "HA", "商丘市", "睢县", "411422", _HAN),
    ("河南省", "HA", "商丘市", "宁陵县", "411423", _HAN),
    ("河南省", "HA", "商丘市", "虞城县", "411425", _HAN),
    ("河南省", "HA", "驻马店市", "上蔡县", "411722", _HAN),
    ("河南省", "HA", "驻马店市", "平舆县", "411723", _HAN),
    ("河南省", "HA", "驻马店市", "确山县", "411725", _HAN),
    ("河南省", "HA", "驻马店市", "汝南县", "411727", _HAN),
    ("河南省", "HA", "驻马店市", "新蔡县", "411729", _HAN),
    ("甘肃省", "GS", "临夏回族自治州", "东乡族自治县", "622926", (("东乡族", 85), ("回族", 10), ("汉族", 5))),
    ("甘肃省", "GS", "临夏回族自治州", "临夏县", "622921", (("汉族", 50), ("回族", 40), ("东乡族", 10))),
    ("甘肃省", "GS", "定西市", "通渭县", "621121", _HAN),
    ("甘肃省", "GS", "定西市", "渭源县", "621123", _HAN),
    ("甘肃省", "GS", "定西市", "岷县", "621126", (("汉族", 90), ("回族", 10))),
    ("甘肃省", "GS", "白银市", "会宁县", "620422", _HAN),
    ("甘肃省", "GS", "陇南市", "宕昌县", "621223", (("汉族", 90), ("藏族", 10))),
    ("甘肃省", "GS", "陇南市", "西和县", "621225", _HAN),
    ("甘肃省", "GS", "陇南市", "礼县", "621226", _HAN),
    ("贵州省", "GZ", "毕节市", "纳雍县", "520525", (("汉族", 70), ("苗族", 20), ("彝族", 10))),
    ("贵州省", "GZ", "毕节市", "威宁彝族回族苗族自治县", "520526",
     (("汉族", 70), ("彝族", 15), ("回族", 8), ("苗族", 7))),
    ("贵州省", "GZ", "毕节市", "赫章县", "520527", (("汉族", 70), ("彝族", 20), ("苗族", 10))),
    ("贵州省", "GZ", "黔西南布依族苗族自治州", "望谟县", "522326", (("布依族", 70), ("汉族", 20), ("苗族", 10))),
    ("贵州省", "GZ", "黔西南布依族苗族自治州", "册亨县", "522327", (("布依族", 75), ("汉族", 25))),
    ("贵州省", "GZ", "黔东南苗族侗族自治州", "榕江县", "522632", (("苗族", 40), ("侗族", 35), ("汉族", 25))),
    ("贵州省", "GZ", "黔东南苗族侗族自治州", "从江县", "522633", (("侗族", 40), ("苗族", 40), ("汉族", 20))),
    ("云南省", "YN", "曲靖市", "会泽县", "530326", _HAN),
    ("云南省", "YN", "昭通市", "镇雄县", "530627", (("汉族", 90), ("彝族", 6), ("苗族", 4))),
    ("云南省", "YN", "昭通市", "彝良县", "530628", (("汉族", 85), ("彝族", 8), ("苗族", 7))),
    ("云南省", "YN", "昭通市", "威信县", "530629", (("汉族", 92), ("苗族", 8))),
    ("云南省", "YN", "普洱市", "澜沧拉祜族自治县", "530828", (("拉祜族", 45), ("汉族", 30), ("佤族", 25))),
    ("四川省", "SC", "凉山彝族自治州", "布拖县", "513429", (("彝族", 95), ("汉族", 5))),
    ("四川省", "SC", "凉山彝族自治州", "金阳县", "513430", (("彝族", 80), ("汉族", 20))),
    ("四川省", "SC", "凉山彝族自治州", "昭觉县", "513431", (("彝族", 98), ("汉族", 2))),
    ("四川省", "SC", "凉山彝族自治州", "喜德县", "513432", (("彝族", 88), ("汉族", 12))),
    ("四川省", "SC", "凉山彝族自治州", "越西县", "513434", (("彝族", 75), ("汉族", 25))),
    ("四川省", "SC", "凉山彝族自治州", "美姑县", "513436", (("彝族", 98), ("汉族", 2))),
    ("湖南省", "HN", "湘西土家族苗族自治州", "泸溪县", "433122", (("苗族", 50), ("土家族", 20), ("汉族", 30))),
    ("湖南省", "HN", "湘西土家族苗族自治州", "凤凰县", "433123", (("苗族", 55), ("土家族", 20), ("汉族", 25))),
    ("湖南省", "HN", "湘西土家族苗族自治州", "花垣县", "433124", (("苗族", 75), ("土家族", 15), ("汉族", 10))),
    ("湖南省", "HN", "湘西土家族苗族自治州", "保靖县", "433125", (("土家族", 60), ("苗族", 30), ("汉族", 10))),
    ("湖南省", "HN", "湘西土家族苗族自治州", "古丈县", "433126", (("土家族", 55), ("苗族", 35), ("汉族", 10))),
    ("河北省", "HE", "保定市", "阜平县", "130624", _HAN),
    ("河北省", "HE", "保定市", "涞源县", "130630", _HAN),
    ("河北省", "HE", "张家口市", "张北县", "130722", _HAN),
    ("河北省", "HE", "张家口市", "康保县", "130723", _HAN),
    ("河北省", "HE", "张家口市", "沽源县", "130724", _HAN),
    ("河北省", "HE", "张家口市", "尚义县", "130725", _HAN),
    ("山西省", "SX", "忻州市", "静乐县", "140926", _HAN),
    ("山西省", "SX", "忻州市", "神池县", "140927", _HAN),
    ("山西省", "SX", "忻州市", "五寨县", "140928", _HAN),
    ("山西省", "SX", "忻州市", "岢岚县", "140929", _HAN),
    ("山西省", "SX", "忻州市", "保德县", "140931", _HAN),
)
# Provinces for counties beyond the real list: (province, ISO code, GB/T 2260 province digits).
_PROVINCES = (("河南省", "HA", "41"), ("甘肃省", "GS", "62"), ("贵州省", "GZ", "52"),
              ("云南省", "YN", "53"), ("四川省", "SC", "51"), ("湖南省", "HN", "43"),
              ("河北省", "HE", "13"), ("山西省", "SX", "14"))
_PLACE_FIRST = "安平宁阳山川河泉源兴和丰清远康乐永长新太德崇嘉福昌盛隆泰华"
_PLACE_SECOND = "平安宁阳山川河源兴和丰远康乐城塘岭峪溪林"
_TOWN_FEATURES = "店集岗庄营桥寨楼湖河屯铺坡口"
_TOWN_PLACES = ("黄陵", "陈固", "留光", "潘店", "应举", "居厢", "青龙", "白马", "石桥", "龙泉", "柳林",
                "杨树", "枣林", "黄河", "东坡", "西河", "南湖", "北山", "金山", "马头", "官庄", "高桥",
                "双河", "三合", "五里", "七里", "九龙", "十里", "太平", "永安")
_VILLAGE_FEATURES = "庄寨屯营湾沟坪洼岭楼店集堡铺河"
_VILLAGE_PREFIXES = "前后东西南北大小上下"


# Counties and villages are unique objects of one layout: identity hashing keeps caches fast.
@dataclass(frozen=True, eq=False)
class County:
    province: str
    iso: str
    city: str
    name: str
    code: str
    ethnicities: tuple


@dataclass(frozen=True, eq=False)
class Village:
    county: County
    county_index: int
    township: str
    township_no: int
    name: str
    village_no: int

    @property
    def code(self) -> str:
        """County code + township number + village number, as in household ids."""
        return f"{self.county.code}{self.township_no:02d}{self.village_no:02d}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.county.name, self.township, self.name)


def _counties(count: int) -> list[County]:
    """The first `count` counties: real poor counties first (河南 first), then made-up ones."""
    counties = [County(*row) for row in _REAL_COUNTIES[:count]]
    used = {county.name for county in counties}
    extra = count - len(counties)
    for number in range(extra):
        province, iso, digits = _PROVINCES[number % len(_PROVINCES)]
        # City numbers from 60 up are not used by these provinces, so codes never clash with real ones.
        serial = number // len(_PROVINCES)
        code = f"{digits}{60 + serial // 99:02d}{serial % 99 + 1:02d}"
        rng = random.Random(f"county/{code}")
        name = ""
        while not name or name in used:
            name = _pick(rng, _PLACE_FIRST) + _pick(rng, _PLACE_SECOND) + "县"
        used.add(name)
        city = _pick(rng, _PLACE_FIRST) + _pick(rng, _PLACE_SECOND) + "市"
        counties.append(County(province, iso, city, name, code, _HAN))
    return counties


def _unique_name(rng: random.Random, make, used: set[str]) -> str:
    name = make(rng)
    while name in used:
        name = make(rng)
    used.add(name)
    return name


def _township_name(rng: random.Random) -> str:
    suffix = "镇" if rng.random() < 0.7 else "乡"
    if rng.random() < 0.5:
        return _pick(rng, _TOWN_PLACES) + suffix
    return _SURNAMES.pick(rng) + _pick(rng, _TOWN_FEATURES) + suffix


def _village_name(rng: random.Random) -> str:
    roll = rng.random()
    surname = _SURNAMES.pick(rng)
    if roll < 0.55:
        return surname + _pick(rng, _VILLAGE_FEATURES) + "村"
    if roll < 0.85:
        return _pick(rng, _VILLAGE_PREFIXES) + surname + _pick(rng, _VILLAGE_FEATURES) + "村"
    return _pick(rng, _TOWN_PLACES) + "村"


def _county_villages(seed: int, county_index: int, county: County) -> list[Village]:
    rng = _stable_random(seed, "county", county.code)
    townships: set[str] = set()
    villages = []
    for township_no in range(1, _between(rng, 10, 16) + 1):
        if township_no == 1:
            township = "城关镇"
            townships.add(township)
        else:
            township = _unique_name(rng, _township_name, townships)
        names: set[str] = set()
        if township == "城关镇":
            names.update(("东街村", "西街村", "南关村", "北关村"))
            fixed = ["东街村", "西街村", "南关村", "北关村"]
        else:
            fixed = []
        count = _between(rng, 8, 18)
        for village_no in range(1, count + 1):
            name = fixed[village_no - 1] if village_no <= len(fixed) else _unique_name(rng, _village_name, names)
            villages.append(Village(county, county_index, township, township_no, name, village_no))
    return villages


class _Layout:
    """Where each household lives: blocks of BLOCK households go to the villages in turn."""

    def __init__(self, seed: int, counties: int):
        self.seed = seed
        self.counties = _counties(counties)
        by_county = [_county_villages(seed, index, county) for index, county in enumerate(self.counties)]
        self.townships = [tuple(sorted({(v.township_no, v.township) for v in villages})) for villages in by_county]
        # Counties take turns, so that even a small run touches every county asked for.
        self.villages: list[Village] = [villages[turn] for turn in range(max(map(len, by_county)))
                                        for villages in by_county if turn < len(villages)]

    def place(self, index: int) -> tuple[Village, int]:
        """The village of household `index` and its slot (0, 1, ...) within that village."""
        block, offset = divmod(index, BLOCK)
        turn, village_index = divmod(block, len(self.villages))
        return self.villages[village_index], turn * BLOCK + offset

    def team_start(self, index: int) -> int:
        """Index of the first household of the helper team that household `index` belongs to."""
        return index - (index % BLOCK) % TEAM


# ---------------------------------------------------------------------------------------------
# People: names, phones
# ---------------------------------------------------------------------------------------------

_SURNAMES = _Weighted((s, 1000 // (rank + 8)) for rank, s in enumerate(
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余"
    "潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"))

# Given-name characters by sex and birth cohort (names follow the fashion of their decade).
_GIVEN = {
    (True, 0): ("国建德保玉长金振永志文树立春庆福全学宝兴", "强国福顺山海华民林祥田贵生才义成明旺喜财"),
    (False, 0): ("秀桂玉凤淑素春翠金银美兰爱", "兰英珍芳花荣琴霞梅云娥莲香枝"),
    (True, 1): ("建志海永红伟卫东文俊晓小国新明", "军伟强平东涛斌刚杰峰辉勇鹏磊超"),
    (False, 1): ("丽红艳秀晓春海美小玉", "娟丽红霞燕敏静艳玲芳萍梅"),
    (True, 2): ("浩子宇俊梓一博家明思天志", "然轩宇航杰豪博涵睿泽阳鑫"),
    (False, 2): ("欣梓子雨思佳诗可一紫梦雅", "怡涵萱琪彤妍悦婷瑶琳雪颖"),
}
# Characters a clerk mixes up with a homophone when copying a name onto a notice.
_HOMOPHONES = {"国": "帼", "强": "墙", "明": "鸣", "华": "桦", "英": "瑛", "兰": "岚", "芳": "方",
               "军": "君", "伟": "玮", "红": "宏", "丽": "莉", "平": "萍", "林": "琳", "福": "富",
               "德": "得", "海": "亥", "建": "健", "文": "雯", "春": "淳", "秀": "绣"}


def _given_name(rng: random.Random, male: bool, birth_year: int) -> str:
    cohort = 0 if birth_year < 1965 else 1 if birth_year < 1990 else 2
    first, second = _GIVEN[(male, cohort)]
    if rng.random() < 0.25:
        return _pick(rng, second)
    return _pick(rng, first) + _pick(rng, second)


_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                    "152", "155", "156", "157", "158", "159", "166", "176", "177", "180", "182",
                    "183", "185", "186", "187", "188", "189", "198")


def _mobile(rng: random.Random) -> str:
    return _pick(rng, _MOBILE_PREFIXES) + f"{int(rng.random() * 100_000_000):08d}"


# ---------------------------------------------------------------------------------------------
# The responsibility system: units, helpers, first secretaries, group leaders
# ---------------------------------------------------------------------------------------------

_COUNTY_UNITS = ("教育局", "卫生健康委员会", "农业农村局", "人力资源和社会保障局", "财政局", "交通运输局",
                 "水利局", "民政局", "住房和城乡建设局", "扶贫开发办公室", "自然资源局", "审计局",
                 "发展和改革委员会", "市场监督管理局", "林业局", "统计局")
_CITY_UNITS = ("教育局", "审计局", "统计局", "供销合作社", "农业农村局")
_PROVINCE_UNITS = ("扶贫开发办公室", "农业农村厅", "交通运输厅")
_POSITIONS = {
    "省直": ("主任科员", "副处长", "科员"),
    "市直": ("科员", "副科长", "科长", "副调研员"),
    "县直": ("科员", "科员", "副科长", "科长", "副局长", "股长", "干部"),
    "乡镇": ("干部", "科员", "站长", "党委委员", "副镇长"),
}


@dataclass(frozen=True)
class _Unit:
    id: str
    name: str
    level: str


@lru_cache(maxsize=256)
def _county_units(county: County, townships: tuple[tuple[int, str], ...]) -> tuple[_Unit, ...]:
    province_digits, city_digits = county.code[:2], county.code[:4]
    county_short = county.name if len(county.name) <= 3 else county.name[:2]
    units = [_Unit(f"U-{province_digits}-{n:02d}", county.province + name, "省直")
             for n, name in enumerate(_PROVINCE_UNITS, 1)]
    units += [_Unit(f"U-{city_digits}-{n:02d}", county.city + name, "市直")
              for n, name in enumerate(_CITY_UNITS, 1)]
    units += [_Unit(f"U-{county.code}-{n:02d}", county_short + name, "县直")
              for n, name in enumerate(_COUNTY_UNITS, 1)]
    units += [_Unit(f"U-{county.code}-T{number:02d}", f"{township}人民政府", "乡镇")
              for number, township in townships]
    return tuple(units)


_UNIT_LEVEL_WEIGHTS = _Weighted((("县直", 62), ("乡镇", 25), ("市直", 9), ("省直", 4)))


def _units_of(layout: _Layout, village: Village) -> tuple[_Unit, ...]:
    return _county_units(village.county, layout.townships[village.county_index])


def _pick_unit(rng: random.Random, units: tuple[_Unit, ...], village: Village) -> _Unit:
    level = _UNIT_LEVEL_WEIGHTS.pick(rng)
    if level == "乡镇":
        return next(u for u in units if u.id.endswith(f"-T{village.township_no:02d}"))
    return _pick(rng, [u for u in units if u.level == level])


def _official_name(rng: random.Random) -> str:
    return _SURNAMES.pick(rng) + _given_name(rng, rng.random() < 0.7, _between(rng, 1965, 1992))


@dataclass(frozen=True)
class _Helper:
    id: str
    name: str
    unit: _Unit
    position: str
    phone: str

    def registry_entry(self) -> dict:
        return {"id": self.id, "name": self.name, "unit": self.unit.id, "position": self.position,
                "phone": self.phone}


@dataclass(frozen=True)
class _VillageTeam:
    """The village's first secretary and the leader of its poverty-exit responsibility group."""

    secretary_name: str
    secretary_unit: _Unit
    secretary_phone: str
    leader_name: str
    leader_position: str
    leader_phone: str


def _helper_id(village: Village, number: int) -> str:
    return f"H-{village.code}-{number:03d}"


@lru_cache(maxsize=4096)
def _helper(layout: _Layout, village: Village, number: int) -> _Helper:
    rng = _stable_random(layout.seed, "helper", village.code, number)
    unit = _pick_unit(rng, _units_of(layout, village), village)
    name = _official_name(rng)
    return _Helper(_helper_id(village, number), name, unit, _pick(rng, _POSITIONS[unit.level]), _mobile(rng))


@lru_cache(maxsize=4096)
def _village_team(layout: _Layout, village: Village) -> _VillageTeam:
    rng = _stable_random(layout.seed, "village", village.code)
    units = [u for u in _units_of(layout, village) if u.level in ("省直", "市直", "县直")]
    secretary = _official_name(rng)
    leader = _official_name(rng)
    head = "镇" if village.township.endswith("镇") else "乡"
    title = _pick(rng, (f"副{head}长", "党委委员", "人大主席", "党委副书记", "武装部长"))
    return _VillageTeam(secretary, _pick(rng, units), _mobile(rng), leader, village.township + title, _mobile(rng))


# ---------------------------------------------------------------------------------------------
# Defect plan: which households get which defects
# ---------------------------------------------------------------------------------------------


class _DefectPlan:
    """Turns defect_rate and only_defects into per-village, per-team and per-household draws."""

    def __init__(self, defect_rate: float, only_defects):
        if not 0.0 <= defect_rate <= 1.0:
            raise ValueError(f"缺陷比例须在 0 到 1 之间：{defect_rate}")
        allowed = list(_DEFECT_WEIGHTS) if only_defects is None else list(only_defects)
        unknown = [key for key in allowed if key not in DEFECTS]
        if unknown:
            raise ValueError(f"未知的缺陷类型：{'、'.join(unknown)}（可选：{'、'.join(DEFECTS)}）")
        weights = {key: _DEFECT_WEIGHTS[key] for key in allowed}
        total = sum(weights.values()) or 1
        # Each structural defect hits its share of households through whole villages or teams.
        self.village_rate = defect_rate * weights.get("village_no_secretary", 0) / total
        self.team_rate = defect_rate * weights.get("helper_overload", 0) / total
        structural = 1 - (1 - self.village_rate) * (1 - self.team_rate)
        household_keys = [key for key in weights if key not in _STRUCTURAL]
        self.household_rate = (max(0.0, (defect_rate - structural) / (1 - structural))
                               if structural < 1 and household_keys else 0.0)
        self.household_keys = _Weighted((k, weights[k]) for k in household_keys) if household_keys else None
        self.multiple = len(household_keys) > 1

    def village_lacks_secretary(self, seed: int, village: Village) -> bool:
        return self.village_rate > 0 and _village_draw(seed, village.code) < self.village_rate

    def team_overloaded(self, seed: int, team_start: int, end: int) -> bool:
        # Only a team wholly inside the run is overloaded: a cut team would carry fewer households.
        return (self.team_rate > 0 and team_start + TEAM <= end
                and _team_draw(seed, team_start) < self.team_rate)

    def household_defects(self, rng: random.Random, structural: list[str]) -> list[str]:
        if structural or self.household_keys is None or rng.random() >= self.household_rate:
            return structural
        chosen = [self.household_keys.pick(rng)]
        if self.multiple and chosen[0] not in _ALONE and rng.random() < 0.25:
            second = self.household_keys.pick(rng)
            if second not in _ALONE and _compatible(chosen[0], second):
                chosen.append(second)
        return chosen


@lru_cache(maxsize=65536)
def _village_draw(seed: int, village_code: str) -> float:
    return _stable_random(seed, "no-secretary", village_code).random()


@lru_cache(maxsize=4096)
def _team_draw(seed: int, team_start: int) -> float:
    return _stable_random(seed, "overload", team_start).random()


def _compatible(first: str, second: str) -> bool:
    return first != second and not any(first in group and second in group for group in _DEFECT_GROUPS)


# ---------------------------------------------------------------------------------------------
# One household
# ---------------------------------------------------------------------------------------------

_SIZES = _Weighted(((1, 14), (2, 22), (3, 20), (4, 22), (5, 14), (6, 6), (7, 2)))
_YEAR_WEIGHTS = _Weighted(((2014, 10), (2015, 12), (2016, 15), (2017, 17), (2018, 17), (2019, 16),
                           (2020, 13)))
_EXIT_SHARE = {2014: 0.0, 2015: 0.10, 2016: 0.25, 2017: 0.40, 2018: 0.55, 2019: 0.70, 2020: 0.85}
_CHRONIC = ("高血压", "糖尿病", "慢性支气管炎", "风湿性关节炎", "冠心病", "脑梗后遗症", "慢性胃炎",
            "腰椎间盘突出", "慢性肾炎", "肺气肿")
_SERIOUS = ("恶性肿瘤", "尿毒症", "白血病", "重性精神病", "肝硬化", "先天性心脏病")
_DISABILITY = ("肢体残疾", "视力残疾", "听力残疾", "智力残疾")
_HIGH_SCHOOL = ("高中一年级", "高中二年级", "高中三年级")
_VOCATIONAL = ("中职一年级", "中职二年级", "中职三年级")
_COLLEGE = ("高职一年级", "高职二年级", "高职三年级")
_MIDDLE_SCHOOL = ("七年级", "八年级", "九年级")
_OPINIONS = ("经入户核查，情况属实", "情况属实，同意纳入", "经核查，信息准确", "已入户核实，符合识别标准")
# Weights of the causes a household's profile supports (beyond the shares made to fit below).
_CAUSE_WEIGHTS = {"因病": 30, "因残": 10, "因学": 45, "因灾": 3, "缺土地": 3, "缺水": 2, "缺技术": 11,
                  "缺劳力": 14, "缺资金": 11, "交通条件落后": 2, "自身发展动力不足": 2}
_ILLNESS_SHARE = 0.30
_DISABILITY_SHARE = 0.04
# Causes that may also be listed as other causes: each is a fact about the members.
_OTHER_CAUSES = ("因病", "因残", "因学", "缺技术", "缺资金", "缺劳力")
_ABLE = ("普通劳动力", "技能劳动力")
# Schooling that costs a family enough to make it poor (compulsory education is free).
_COSTLY_SCHOOLING = frozenset(_HIGH_SCHOOL + _VOCATIONAL + _COLLEGE + ("大专及以上",))


class _Person:
    """A member while the household is being built; turned into the dossier's dict at the end."""

    __slots__ = ("name", "relation", "male", "age", "surname", "health", "illness", "disability",
                 "education", "in_school", "labor", "work_status", "work_months", "ethnicity", "id_number")

    def __init__(self, relation: str, male: bool, age: int, surname: str):
        self.relation, self.male, self.age, self.surname = relation, male, age, surname
        self.health, self.illness, self.disability = "健康", None, None
        self.name = self.education = self.in_school = self.labor = self.ethnicity = self.id_number = ""
        self.work_status, self.work_months = None, 0

    @property
    def able(self) -> bool:
        return self.labor in _ABLE

    @property
    def ill(self) -> bool:
        return self.health in ("长期慢性病", "患有大病")

    @property
    def student(self) -> bool:
        return self.in_school not in ("非在校生", "学前教育")

    def as_dict(self) -> dict:
        member = {"name": self.name, "id_number": self.id_number, "relation": self.relation,
                  "sex": "男" if self.male else "女", "ethnicity": self.ethnicity,
                  "education": self.education, "in_school": self.in_school, "health": self.health}
        if self.illness:
            member["illness"] = self.illness
        if self.disability:
            member["disability_level"] = self.disability
        member["labor"] = self.labor
        member["work_status"] = self.work_status
        member["work_months"] = self.work_months
        adult = self.age >= 16 and self.in_school == "非在校生"
        member["insurance"] = {"medical": True, "serious_illness": True, "pension": adult}
        return member


@dataclass
class _Shape:
    """What a defect needs the household to look like before it is injected."""

    status: str | None = None
    cause: str | None = None
    family: str | None = None
    unsafe_house: bool = False
    below_line: bool = False
    identified_late: bool = False   # identified in 2015 or later, so an exit year can precede it
    general_attribute: bool = False  # 一般贫困户: no 低保/特困 support that would address the cause


_SHAPES = {
    "cooking_case": _Shape(family="cooking", cause="缺技术"),
    "child_college": _Shape(family="young_family"),
    "microcredit_elderly": _Shape(family="very_old"),
    "illness_without_health_measure": _Shape(cause="因病", general_attribute=True),
    "exit_year_missing": _Shape(status="已脱贫"),
    "exit_before_identified": _Shape(status="已脱贫", identified_late=True),
    "exited_below_line": _Shape(status="已脱贫", below_line=True),
    "exited_unsafe_house": _Shape(status="已脱贫", unsafe_house=True),
}


class _HouseholdBuilder:
    """Builds one consistent household, then lets the defect injectors spoil it."""

    def __init__(self, layout: _Layout, index: int, defects: list[str], rng: random.Random):
        self.layout, self.index, self.rng = layout, index, rng
        self.village, self.slot = layout.place(index)
        self.county = self.village.county
        self.shape = _Shape()
        for key in defects:
            if key in _SHAPES:
                self.shape = _SHAPES[key]

    # -- timeline ---------------------------------------------------------------------------
    def _years(self) -> None:
        rng, shape = self.rng, self.shape
        year = _block_year(self.layout.seed, self.index // BLOCK)
        if shape.status == "已脱贫" and year < 2016:
            year = _between(rng, 2016, 2020)
        if shape.identified_late:
            identified = _between(rng, 2015, year - 1)
        else:
            identified = 2014 if year == 2014 or rng.random() < 0.6 else _between(rng, 2015, year)
        status, exit_year = "未脱贫", None
        if shape.status == "已脱贫" or (identified < year and rng.random() < _EXIT_SHARE[year]):
            identified = min(identified, year - 1)
            status, exit_year = "已脱贫", _between(rng, identified + 1, year)
        elif identified + 2 <= year and rng.random() < 0.015:
            status, exit_year = "返贫", _between(rng, identified + 1, year - 1)
        self.year, self.identified, self.status, self.exit_year = year, identified, status, exit_year
        self.line = _parameter("poverty_line", year, self.county.province)

    # -- members ----------------------------------------------------------------------------
    def _family(self) -> list[_Person]:
        family = self.shape.family
        if family == "cooking":
            return self._cooking_family()
        if family == "very_old":
            return self._old_family(_between(self.rng, 78, 86), self.rng.random() < 0.6)
        if family == "young_family":
            return self._nuclear(max(3, _SIZES.pick(self.rng)), child_age=7)
        size = _SIZES.pick(self.rng)
        roll = self.rng.random()
        if size == 1:
            return self._old_family(_between(self.rng, 62, 88), False) if roll < 0.8 else self._alone_adult()
        if size == 2:
            if roll < 0.5:
                return self._old_family(_between(self.rng, 60, 82), True)
            if roll < 0.8:
                return self._single_parent(size)
            return self._nuclear(size)
        if size >= 6 or (size >= 4 and roll < 0.3):
            return self._three_generations(size)
        if roll < 0.85:
            return self._nuclear(size)
        return self._with_parents(size)

    def _person(self, relation: str, male: bool, age: int, surname: str | None = None) -> _Person:
        return _Person(relation, male, max(0, age), surname or _SURNAMES.pick(self.rng))

    def _spouse(self, head: _Person) -> _Person:
        return self._person("配偶", not head.male, head.age + _between(self.rng, -4, 4) + (-2 if head.male else 2))

    def _children(self, parents: list[_Person], count: int, surname: str, relations=("之子", "之女"),
                  child_age: int | None = None) -> list[_Person]:
        """Children 20 to 35 years younger than each of their parents."""
        children = []
        oldest = max(0, min(p.age for p in parents) - 20)
        youngest = min(oldest, max(0, max(p.age for p in parents) - 35))
        for number in range(count):
            male = self.rng.random() < 0.52
            age = child_age if child_age is not None and number == 0 else _between(self.rng, youngest, oldest)
            children.append(self._person(relations[0] if male else relations[1], male, age, surname))
        return children

    def _old_family(self, age: int, couple: bool) -> list[_Person]:
        head = self._person("户主", couple or self.rng.random() < 0.5, age)
        return [head, self._spouse(head)] if couple else [head]

    def _alone_adult(self) -> list[_Person]:
        return [self._person("户主", self.rng.random() < 0.7, _between(self.rng, 35, 59))]

    def _single_parent(self, size: int) -> list[_Person]:
        head = self._person("户主", self.rng.random() < 0.55, _between(self.rng, 32, 62))
        return [head, *self._children([head], size - 1, head.surname)]

    def _nuclear(self, size: int, child_age: int | None = None) -> list[_Person]:
        # The spouse may be up to six years younger: a given child's parents start at child + 28.
        low = 28 if child_age is None else child_age + 28
        high = 55 if child_age is None else child_age + 33
        head = self._person("户主", self.rng.random() < 0.9, _between(self.rng, low, high))
        spouse = self._spouse(head)
        surname = head.surname if head.male else spouse.surname
        return [head, spouse, *self._children([head, spouse], size - 2, surname, child_age=child_age)]

    def _three_generations(self, size: int) -> list[_Person]:
        head = self._person("户主", self.rng.random() < 0.9, _between(self.rng, 54, 78))
        members = [head]
        if size >= 5 or self.rng.random() < 0.7:
            members.append(self._spouse(head))
        parents = members[:]
        son_age = _between(self.rng, max(24, max(p.age for p in parents) - 34), min(p.age for p in parents) - 21)
        son = self._person("之子", True, son_age, head.surname if head.male else None)
        daughter_in_law = self._person("之儿媳", False, son_age + _between(self.rng, -3, 2))
        members += [son, daughter_in_law]
        members += self._children([son, daughter_in_law], size - len(members), son.surname,
                                  relations=("之孙子", "之孙女"))
        return members

    def _with_parents(self, size: int) -> list[_Person]:
        head = self._person("户主", True, _between(self.rng, 30, 50))
        members = [head, self._spouse(head)]
        father_age = min(90, head.age + _between(self.rng, 24, 32))
        parents = [self._person("之父", True, father_age, head.surname),
                   self._person("之母", False, father_age + _between(self.rng, -3, 0))]
        members += parents[: size - 2]
        members += self._children(members[:2], size - len(members), head.surname)
        return members

    def _cooking_family(self) -> list[_Person]:
        head = self._person("户主", True, _between(self.rng, 70, 79))
        spouse = self._person("配偶", False, min(79, max(70, head.age + _between(self.rng, -3, 2))))
        for person, illness in ((head, "慢性支气管炎"), (spouse, "风湿性关节炎")):
            person.health, person.illness = "长期慢性病", illness
        return [head, spouse]

    def _schooling(self, person: _Person) -> None:
        age, rng = person.age, self.rng
        birth_year = self.year - age
        if age < 6:
            person.education = "学龄前儿童"
            person.in_school = "学前教育" if age >= 3 else "非在校生"
        elif age <= 11:
            person.education, person.in_school = "小学", "小学"
        elif age <= 14:
            person.education, person.in_school = "小学", _MIDDLE_SCHOOL[age - 12]
        elif age <= 17 and (age == 15 or rng.random() < 0.9):
            person.education = "初中"
            person.in_school = (_VOCATIONAL if rng.random() < 0.3 else _HIGH_SCHOOL)[age - 15]
        elif 18 <= age <= 20 and rng.random() < 0.35:
            person.education = "高中"
            person.in_school = _COLLEGE[age - 18] if rng.random() < 0.6 else "大专及以上"
        else:
            person.in_school = "非在校生"
            roll = rng.random()
            if age <= 17:
                person.education = "初中"   # left school after the compulsory years
            elif birth_year <= 1950:
                person.education = "文盲或半文盲" if roll < 0.4 else "小学" if roll < 0.85 else "初中"
            elif birth_year <= 1970:
                person.education = ("文盲或半文盲" if roll < 0.15 else "小学" if roll < 0.55
                                    else "初中" if roll < 0.95 else "高中")
            elif birth_year <= 1990:
                person.education = "小学" if roll < 0.2 else "初中" if roll < 0.8 else "高中"
            else:
                person.education = "初中" if roll < 0.5 else "高中" if roll < 0.8 else "大专及以上"

    def _health(self, person: _Person) -> None:
        age = person.age
        if person.health != "健康":
            return
        risk = 0.03 if age < 16 else 0.06 if age < 40 else 0.18 if age < 60 else 0.35 if age < 70 else 0.5
        if self.rng.random() >= risk:
            return
        roll = self.rng.random()
        if roll < 0.75 and age >= 16:
            person.health, person.illness = "长期慢性病", _pick(self.rng, _CHRONIC)
        elif roll < 0.9:
            person.health, person.illness = "患有大病", _pick(self.rng, _SERIOUS)
        else:
            self._disable(person)

    def _disable(self, person: _Person) -> None:
        person.health, person.illness = "残疾", _pick(self.rng, _DISABILITY)
        person.disability = _pick(self.rng, ("一级", "二级", "三级", "四级"))

    def _labor(self, person: _Person) -> None:
        age, health, rng = person.age, person.health, self.rng
        person.work_status, person.work_months = None, 0
        if age < 16 or person.in_school != "非在校生":
            person.labor = "无劳动力"
            return
        if age >= 70:
            person.labor = "无劳动力" if health == "健康" else "丧失劳动力"
        elif health == "患有大病" or person.disability in ("一级", "二级"):
            person.labor = "丧失劳动力"
        elif health != "健康" or age >= 60:
            person.labor = "弱劳动力或半劳动力"
        else:
            person.labor = "技能劳动力" if rng.random() < 0.15 else "普通劳动力"
        if person.able and age <= 55 and rng.random() < 0.65:
            person.work_status = _WORK_PLACES.pick(rng)
            person.work_months = _between(rng, 5, 11)
        elif person.labor == "弱劳动力或半劳动力" and age < 65 and rng.random() < 0.2:
            person.work_status, person.work_months = "乡镇内务工", _between(rng, 2, 6)

    def _identity(self, members: list[_Person]) -> None:
        used: set[str] = set()
        ethnicity = _ethnicity_table(self.county).pick(self.rng)
        for person in members:
            birth_year = self.year - person.age
            person.name = person.surname + _given_name(self.rng, person.male, birth_year)
            while person.name in used:
                person.name = person.surname + _given_name(self.rng, person.male, birth_year)
            used.add(person.name)
            person.ethnicity = ethnicity
            # Age is counted on 31 December of the record's year, so any day of the birth year fits.
            ordinal = _year_start(birth_year) + int(self.rng.random() * _days_in_year(birth_year))
            person.id_number = _identity_number(self.county.code, ordinal, person.male, self.rng)

    # -- cause and profile ------------------------------------------------------------------
    def _supported_causes(self, members: list[_Person]) -> list[str]:
        ill = disabled = costly_school = trainable = workable = False
        able = 0
        for p in members:
            ill = ill or p.health in ("长期慢性病", "患有大病")
            disabled = disabled or p.health == "残疾"
            costly_school = costly_school or p.in_school in _COSTLY_SCHOOLING
            if p.labor in _ABLE:
                able += 1
                if p.health == "健康" and 18 <= p.age <= 55:
                    workable = True
                    trainable = trainable or (p.labor == "普通劳动力" and p.age <= 50)
        supported = []
        if ill:
            supported.append("因病")
        if disabled:
            supported.append("因残")
        if costly_school:
            supported.append("因学")
        if not able:
            supported.append("缺劳力")
        if trainable:
            supported += ["缺技术", "自身发展动力不足"]
        if workable:
            supported += ["缺资金", "缺土地", "交通条件落后"]
        if self.status != "已脱贫":
            # A household still poor may lack safe water or have lost its house to a disaster.
            supported += ["缺水", "因灾"]
        return supported

    def _choose_cause(self, members: list[_Person]) -> str:
        if self.shape.cause:
            if self.shape.cause == "因病":
                self._make_ill(members)
            return self.shape.cause
        roll = self.rng.random()
        supported = self._supported_causes(members)
        # Illness and disability are the commonest primary causes (about 42% and 6% nationally in
        # 2015), more than the members' own draws yield; the household is made to fit them.
        if roll < _ILLNESS_SHARE or not supported:
            self._make_ill(members)
            return "因病"
        if roll < _ILLNESS_SHARE + _DISABILITY_SHARE:
            self._make_disabled(members)
            return "因残"
        return _cause_table(tuple(supported)).pick(self.rng)

    def _make_disabled(self, members: list[_Person]) -> None:
        if not any(p.health == "残疾" for p in members):
            person = _pick(self.rng, [p for p in members if p.age >= 16] or members)
            self._disable(person)
            self._labor(person)

    def _make_ill(self, members: list[_Person]) -> None:
        if not any(p.ill for p in members):
            oldest = max(members, key=lambda p: p.age)
            oldest.health, oldest.illness = "长期慢性病", _pick(self.rng, _CHRONIC)
            self._labor(oldest)

    def _other_causes(self, members: list[_Person], primary: str) -> list[str]:
        if self.shape.family == "cooking":
            return []
        supported = [c for c in self._supported_causes(members) if c in _OTHER_CAUSES and c != primary]
        if "缺劳力" in (primary, *supported):
            supported = [c for c in supported if c not in ("缺技术", "缺资金")]
        count = min(len(supported), 0 if self.rng.random() < 0.5 else 1 if self.rng.random() < 0.7 else 2)
        chosen: list[str] = []
        while len(chosen) < count:
            cause = _pick(self.rng, supported)
            if cause not in chosen:
                chosen.append(cause)
        return chosen

    def _attribute(self, members: list[_Person], cause: str) -> str:
        if self.shape.general_attribute:
            return "一般贫困户"
        able = sum(p.able for p in members)
        alone = members[0]
        if (len(members) == 1 and alone.age >= 60 and alone.labor in ("丧失劳动力", "无劳动力")
                and self.rng.random() < 0.5):
            return "特困供养贫困户"
        if (not able or cause == "因残" or any(p.health == "患有大病" for p in members)) and self.rng.random() < 0.6:
            return "低保贫困户"
        return "低保贫困户" if self.rng.random() < 0.08 else "一般贫困户"

    # -- conditions, assets, income ---------------------------------------------------------
    def _conditions(self, cause: str, size: int) -> dict:
        rng = self.rng
        still_poor = self.status != "已脱贫"
        # The field case lived in a sound house with safe water: its only fault is the plan.
        ordinary = still_poor and self.shape.family != "cooking"
        unsafe = self.shape.unsafe_house or cause == "因灾" or (ordinary and rng.random() < 0.12)
        water_safe = cause != "缺水" and not (ordinary and rng.random() < 0.04)
        hilly = self.county.province not in ("河南省", "河北省")
        farmland = (round(0.2 + rng.random() * 0.6, 1) if cause == "缺土地"
                    else round(size * (0.6 + rng.random() * 1.4), 1))
        road = round(3 + rng.random() * 9, 1) if cause == "交通条件落后" else round(0.1 + rng.random() * 2.4, 1)
        return {"housing_safe": not unsafe,
                "dangerous_house_level": (("C级", "D级")[rng.random() < 0.4]) if unsafe else None,
                "drinking_water_safe": water_safe, "electricity": True, "road_distance_km": road,
                "farmland_mu": farmland,
                "forest_mu": round(rng.random() * 20, 1) if hilly and rng.random() < 0.5 else 0,
                "returned_farmland_mu": round(0.5 + rng.random() * 4.5, 1) if rng.random() < 0.2 else 0}

    def _assets(self) -> dict:
        machinery = _between(self.rng, 8, 30) * 100 if self.rng.random() < 0.2 else 0
        return {"car": False, "machinery_value": machinery, "town_house": False,
                "business_registered": False, "public_employee": False, "village_cadre": False,
                "hires_labor": False, "away_years": 0, "split_household": False}

    def _target_per_capita(self) -> int:
        rng, line = self.rng, self.line
        if self.status == "已脱贫" and not self.shape.below_line:
            return int(line * (1.08 + rng.random() * 0.8))
        return int(line * (0.45 + rng.random() * 0.5))

    def _transfers(self, members: list[_Person], attribute: str, conditions: dict, total: int) -> dict:
        rng = self.rng
        pension_rate = 840 if self.year < 2018 else 1056
        wanted = {
            "pension": sum(pension_rate for p in members if p.age >= 60),
            "family_planning": 960 if members[0].age >= 60 and rng.random() < 0.1 else 0,
            "ecological": int(conditions["returned_farmland_mu"] * 125 + conditions["forest_mu"] * 10),
            "other": 720 if any(p.health == "残疾" for p in members) else 0,
            "low_income_allowance": len(members) * _between(rng, 100, 200) * 10 if attribute == "低保贫困户" else 0,
            "destitute_support": _between(rng, 300, 420) * 10 if attribute == "特困供养贫困户" else 0,
        }
        # 低保 and 特困 money tops a household up to a standard, so it gives way first when the
        # household's income is already made up by other parts.
        budget = int(total * 0.85)
        granted = {}
        for part, amount in wanted.items():
            granted[part] = min(amount, budget)
            budget -= granted[part]
        return {key: granted[key] for key in ("family_planning", "low_income_allowance", "destitute_support",
                                               "pension", "ecological", "other")}

    def _income(self, members: list[_Person], attribute: str, conditions: dict, asset_income: bool) -> dict:
        rng, size = self.rng, len(members)
        per_capita = self._target_per_capita()
        total = per_capita * size
        transfer = self._transfers(members, attribute, conditions, total)
        transfers = sum(transfer.values())
        earned = total - transfers
        property_income = min(earned, _between(rng, 3, 10) * 100) if asset_income else 0
        earned -= property_income
        wage_wanted = sum(p.work_months * (1800 if p.work_status == "乡镇内务工" else 3000) for p in members)
        farm_wanted = max(1.0, conditions["farmland_mu"] * 500)
        wage = int(earned * wage_wanted / (wage_wanted + farm_wanted))
        farm_net = earned - wage
        expense = int(farm_net * (0.25 + rng.random() * 0.2))
        return {"wage": wage, "business": farm_net + expense, "business_expense": expense,
                "property": property_income, "transfer": transfer, "transfer_total": transfers,
                "per_capita_net": per_capita}

    # -- measures ---------------------------------------------------------------------------
    def _measures(self, members: list[_Person], cause: str, attribute: str, conditions: dict) -> list[dict]:
        if self.shape.family == "cooking":
            head = members[0].name
            return [self._measure("技能培训", "烹饪技能培训", head), self._measure("转移就业", "联系饭店就业", head)]
        measures = _CAUSE_MEASURES[cause](self, members)
        covered = {(m["kind"], m.get("beneficiary")) for m in measures}
        for person in members:
            if person.health != "健康" and ("健康扶贫", person.name) not in covered and self.rng.random() < 0.5:
                measures.append(self._health_measure(person))
            if person.student and ("教育扶贫", person.name) not in covered and self.rng.random() < 0.7:
                measures.append(self._education_measure(person))
        kinds = {m["kind"] for m in measures}
        if not conditions["housing_safe"] and "危房改造" not in kinds:
            measures.append(self._housing_measure(conditions))
        if not conditions["drinking_water_safe"] and "饮水安全" not in kinds:
            measures.append(self._measure("饮水安全", "接通村集中供水管网"))
        if attribute == "低保贫困户" and "低保兜底" not in kinds:
            measures.append(self._measure("低保兜底", "纳入农村低保，按月发放低保金"))
        if attribute == "特困供养贫困户" and "特困供养" not in kinds:
            measures.append(self._measure("特困供养", "纳入农村特困人员供养，分散供养"))
        if conditions["returned_farmland_mu"] and self.rng.random() < 0.5:
            measures.append(self._measure("生态补偿", "落实退耕还林补助"))
        return measures

    def _measure(self, kind: str, content: str, beneficiary: str | None = None, amount: int | None = None) -> dict:
        measure = {"kind": kind, "content": content}
        if beneficiary:
            measure["beneficiary"] = beneficiary
        measure["year"] = self.year
        if amount:
            measure["amount"] = amount
        if self.status == "已脱贫":
            measure["outcome"] = "已落实"
        return measure

    def _health_measure(self, person: _Person) -> dict:
        if person.health == "残疾":
            return self._measure("健康扶贫", "残疾人康复服务，家庭医生签约", person.name, 600)
        if person.health == "患有大病":
            amount, content = _between(self.rng, 20, 60) * 100, "大病专项救治，先诊疗后付费"
        else:
            amount, content = _between(self.rng, 5, 15) * 100, "家庭医生签约服务，慢性病门诊补助"
        return self._measure("健康扶贫", content, person.name, amount)

    def _education_measure(self, person: _Person) -> dict:
        grade = person.in_school
        if grade in _HIGH_SCHOOL:
            return self._measure("教育扶贫", "普通高中国家助学金", person.name, 2000)
        if grade in _VOCATIONAL:
            return self._measure("教育扶贫", "中职免学费及国家助学金", person.name, 2000)
        if grade in _COLLEGE or grade == "大专及以上":
            return self._measure("教育扶贫", "生源地信用助学贷款", person.name, 8000)
        return self._measure("教育扶贫", "义务教育阶段家庭经济困难学生生活补助", person.name, 1000)

    def _housing_measure(self, conditions: dict) -> dict:
        if conditions["dangerous_house_level"] == "D级":
            return self._measure("危房改造", "D级危房拆除重建", amount=20000)
        return self._measure("危房改造", "C级危房加固改造", amount=8000)

    def _worker(self, members: list[_Person], oldest: int = 50) -> _Person | None:
        """The member a job, training or loan is arranged for: able-bodied, healthy, working age."""
        fit = [p for p in members if p.labor == "普通劳动力" and p.health == "健康" and 18 <= p.age <= oldest]
        fit = fit or [p for p in members if p.able and p.health == "健康" and 18 <= p.age <= oldest]
        return fit[0] if fit else None

    def _public_job_worker(self, members: list[_Person]) -> _Person | None:
        """Public-welfare jobs go to members who can work some but cannot leave to find work."""
        return next((p for p in members if p.labor in ("普通劳动力", "弱劳动力或半劳动力") and 18 <= p.age <= 59),
                    None)

    def _for_illness(self, members: list[_Person]) -> list[dict]:
        measures = []
        for person in [p for p in members if p.ill][:2]:
            measures.append(self._health_measure(person))
            if person.health == "患有大病":
                amount = _between(self.rng, 20, 80) * 100
                measures.append(self._measure("医疗救助", "大病医疗救助", person.name, amount))
        return measures

    def _for_disability(self, members: list[_Person]) -> list[dict]:
        disabled = next(p for p in members if p.health == "残疾")
        return [self._health_measure(disabled)]

    def _for_schooling(self, members: list[_Person]) -> list[dict]:
        measures = []
        for person in [p for p in members if p.student]:
            measures.append(self._education_measure(person))
            if person.in_school in _VOCATIONAL + _COLLEGE:
                measures.append(self._measure("雨露计划", "雨露计划职业教育补助", person.name, 3000))
        return measures

    def _for_disaster(self, members: list[_Person]) -> list[dict]:
        return []   # the unsafe house gets its 危房改造 with the other condition measures

    def _for_land(self, members: list[_Person]) -> list[dict]:
        worker = self._worker(members, 55)
        return [self._measure("转移就业", _pick(self.rng, _JOBS), worker.name),
                self._measure("资产收益", "扶贫资金入股龙头企业，按年分红", amount=500)]

    def _for_water(self, members: list[_Person]) -> list[dict]:
        return [self._measure("饮水安全", "接通村集中供水管网")]

    def _for_skills(self, members: list[_Person]) -> list[dict]:
        worker = self._worker(members)
        return [self._measure("技能培训", _pick(self.rng, _TRAININGS), worker.name),
                self._measure("转移就业", _pick(self.rng, _JOBS), worker.name)]

    def _for_labour(self, members: list[_Person]) -> list[dict]:
        kind = "光伏扶贫" if self.rng.random() < 0.4 else "资产收益"
        content = "村级光伏电站收益分配" if kind == "光伏扶贫" else "扶贫资金入股合作社，按年分红"
        measures = [self._measure(kind, content, amount=_between(self.rng, 5, 30) * 100)]
        worker = self._public_job_worker(members)
        if worker and self.rng.random() < 0.5:
            measures.append(self._measure("公益岗位", _pick(self.rng, _PUBLIC_JOBS), worker.name, 3600))
        return measures

    def _for_capital(self, members: list[_Person]) -> list[dict]:
        worker = self._worker(members, 55)
        project = _pick(self.rng, _INDUSTRIES)
        loan = 50000 if self.rng.random() < 0.6 else 30000
        return [self._measure("扶贫小额信贷", f"扶贫小额信贷{loan // 10000}万元，{project}", worker.name, loan),
                self._measure("产业扶贫", _pick(self.rng, _INDUSTRY_AIDS), amount=_between(self.rng, 5, 30) * 100)]

    def _for_transport(self, members: list[_Person]) -> list[dict]:
        worker = self._worker(members, 55)
        return [self._measure("产业扶贫", _pick(self.rng, _INDUSTRY_AIDS), amount=_between(self.rng, 5, 30) * 100),
                self._measure("转移就业", _pick(self.rng, _JOBS), worker.name)]

    def _for_motivation(self, members: list[_Person]) -> list[dict]:
        worker = self._worker(members)
        return [self._measure("技能培训", _pick(self.rng, _TRAININGS), worker.name),
                self._measure("公益岗位", _pick(self.rng, _PUBLIC_JOBS), worker.name, 3600)]

    # -- procedure, forms, card -------------------------------------------------------------
    def _procedure(self, head: str, size: int, cause: str) -> dict:
        timeline = _village_timeline(self.layout.seed, self.village, self.identified)
        proposal = timeline.meetings[0][1]
        application = proposal - _between(self.rng, 0, 12)
        entry = {"name": head, "household_size": size, "cause": cause}
        rep = timeline.meetings[-1]
        return {
            "application": {"date": _iso(application), "signed": True},
            "meetings": [{"kind": kind, "date": _iso(day), "expected": expected, "attended": attended,
                          "signed_in": attended, "votes_for": votes_for, "votes_against": against}
                         for kind, day, expected, attended, votes_for, against in timeline.meetings],
            "publicity": [
                {"level": "村", "start": _iso(timeline.village_notice[0]), "end": _iso(timeline.village_notice[1]),
                 "cites": {"meeting_date": _iso(rep[1]), "attended": rep[3], "signed_in": rep[3],
                           "votes_for": rep[4]},
                 "entry": dict(entry)},
                {"level": "乡", "start": _iso(timeline.township_notice[0]),
                 "end": _iso(timeline.township_notice[1]), "entry": dict(entry)},
            ],
            "announcement": {"date": _iso(timeline.announcement), "entry": dict(entry)},
        }

    def _forms(self, procedure: dict) -> dict:
        rng = self.rng
        if self.identified == self.year:
            # The survey comes before the application; the collection form after the announcement.
            application = date.fromisoformat(procedure["application"]["date"]).toordinal()
            announcement = date.fromisoformat(procedure["announcement"]["date"]).toordinal()
            survey_day = application - _between(rng, 1, 8)
            collection_day = announcement + _between(rng, 1, 10)
        else:
            survey_day = _year_start(self.year) + _between(rng, 60, 240)
            collection_day = survey_day + _between(rng, 5, 40)
        signatures = {"household": True, "filler": True, "reviewer": True}
        return {
            "survey": {"year": self.year, "exit_year": self.exit_year, "excluded_situation": "无",
                       "verifier_opinion": _pick(rng, _OPINIONS), "filled_date": _iso(survey_day),
                       "signatures": dict(signatures)},
            "collection": {"year": self.year, "filled_date": _iso(collection_day), "signatures": dict(signatures)},
        }

    def _card(self, helper: _Helper, lacks_secretary: bool) -> dict:
        team = _village_team(self.layout, self.village)
        contacts = [{"role": "脱贫责任组组长", "name": team.leader_name, "position": team.leader_position,
                     "phone": team.leader_phone, "photo": True}]
        if not lacks_secretary:
            contacts.append({"role": "驻村第一书记", "name": team.secretary_name, "position": "驻村第一书记",
                             "phone": team.secretary_phone, "photo": True})
        contacts.append({"role": "帮扶责任人", "name": helper.name, "position": helper.position,
                         "phone": helper.phone, "photo": True})
        return {"contacts": contacts}

    # -- the whole household ----------------------------------------------------------------
    def build(self, overloaded: bool, lacks_secretary: bool) -> dict:
        self._years()
        members = self._family()
        for person in members:
            self._schooling(person)
            if self.shape.family != "cooking":
                self._health(person)
            self._labor(person)
        self._identity(members)
        cause = self._choose_cause(members)
        attribute = self._attribute(members, cause)
        conditions = self._conditions(cause, len(members))
        measures = self._measures(members, cause, attribute, conditions)
        asset_income = any(m["kind"] in ("资产收益", "光伏扶贫") for m in measures)
        helper = _helper(self.layout, self.village, _helper_number(self.slot, overloaded))
        procedure = self._procedure(members[0].name, len(members), cause)
        forms = self._forms(procedure)
        forms["card"] = self._card(helper, lacks_secretary)
        village = self.village
        return {
            "id": f"{self.county.iso}-{village.county.code}-{village.township_no:02d}{village.village_no:02d}"
                  f"-{self.slot + 1:03d}",
            "region": {"province": self.county.province, "city": self.county.city, "county": self.county.name,
                       "township": village.township, "village": village.name},
            "year": self.year, "attribute": attribute, "standard": "国家标准", "status": self.status,
            "identified_year": self.identified, "exit_year": self.exit_year, "primary_cause": cause,
            "other_causes": self._other_causes(members, cause), "phone": _mobile(self.rng),
            "members": [p.as_dict() for p in members],
            "income": self._income(members, attribute, conditions, asset_income),
            "conditions": conditions, "assets": self._assets(), "measures": measures,
            "helpers": [helper.id], "forms": forms, "procedure": procedure,
        }


_WORK_PLACES = _Weighted((("乡镇内务工", 20), ("乡镇外县内务工", 20), ("县外省内务工", 25), ("省外务工", 35)))
_TRAININGS = ("电焊技能培训", "家政服务培训", "挖掘机驾驶培训", "电工技能培训", "中式烹调师培训",
              "种植技术培训", "养殖技术培训", "农村电商培训")
_JOBS = ("推荐到县产业集聚区服装厂就业", "组织赴省外务工", "推荐到扶贫车间就业", "联系建筑企业就业",
         "推荐到农业合作社务工")
_PUBLIC_JOBS = ("安排村保洁员公益岗位", "安排护林员公益岗位", "安排乡村道路养护员公益岗位")
_INDUSTRIES = ("发展肉牛养殖", "种植大棚蔬菜", "发展生猪养殖", "种植食用菌", "发展肉羊养殖")
_INDUSTRY_AIDS = ("发放鸡苗100只，发展庭院养殖", "种植花生5亩，发放良种补贴", "入股合作社，参与金银花种植",
                  "发放优质果苗，发展林果种植", "扶持发展中药材种植")
_CAUSE_MEASURES = {
    "因病": _HouseholdBuilder._for_illness, "因残": _HouseholdBuilder._for_disability,
    "因学": _HouseholdBuilder._for_schooling, "因灾": _HouseholdBuilder._for_disaster,
    "缺土地": _HouseholdBuilder._for_land, "缺水": _HouseholdBuilder._for_water,
    "缺技术": _HouseholdBuilder._for_skills, "缺劳力": _HouseholdBuilder._for_labour,
    "缺资金": _HouseholdBuilder._for_capital, "交通条件落后": _HouseholdBuilder._for_transport,
    "自身发展动力不足": _HouseholdBuilder._for_motivation,
}


@lru_cache(maxsize=64)
def _block_year(seed: int, block: int) -> int:
    """A block is one village's archive of one year, so a helper's households share the year
    (the helper load limit is per year)."""
    return _YEAR_WEIGHTS.pick(_stable_random(seed, "year", block))


@lru_cache(maxsize=512)
def _cause_table(supported: tuple[str, ...]) -> _Weighted:
    return _Weighted((cause, _CAUSE_WEIGHTS[cause]) for cause in supported)


@lru_cache(maxsize=128)
def _ethnicity_table(county: County) -> _Weighted:
    return _Weighted(county.ethnicities)


@dataclass(frozen=True)
class _Timeline:
    """One village's identification round in one year: every household of the round shares it."""

    meetings: tuple[tuple[str, int, int, int, int, int], ...]   # kind, day, expected, attended, for, against
    village_notice: tuple[int, int]
    township_notice: tuple[int, int]
    announcement: int


_MEETING_SIZES = (("党支部提议", 3, 7), ("两委商议", 5, 9), ("党员大会审议", 18, 60), ("村民代表会议决议", 21, 60))


@lru_cache(maxsize=16384)
def _village_timeline(seed: int, village: Village, year: int) -> _Timeline:
    rng = _stable_random(seed, "timeline", village.code, year)
    day = _year_start(year) + _between(rng, 70, 250)
    meetings = []
    for kind, low, high in _MEETING_SIZES:
        day += _between(rng, 0, 3)
        expected = _between(rng, low, high)
        if kind in ("党支部提议", "两委商议"):
            attended = expected
            votes_for, against = attended, 0
        else:
            attended = _between(rng, ceil(expected * 2 / 3), expected)
            against = _between(rng, 0, attended // 10)
            votes_for = attended - against - _between(rng, 0, 1)
        meetings.append((kind, day, expected, attended, votes_for, against))
    notice_days = _parameter("notice_min_days", year, village.county.province)
    village_start = day + _between(rng, 1, 2)
    village_end = village_start + notice_days - 1 + _between(rng, 0, 2)
    township_start = village_end + _between(rng, 1, 4)
    township_end = township_start + notice_days - 1 + _between(rng, 0, 2)
    return _Timeline(tuple(meetings), (village_start, village_end), (township_start, township_end),
                     township_end + _between(rng, 1, 6))


def _helper_number(slot: int, overloaded: bool) -> int:
    """The helper (numbered within the village) of the household in village slot `slot`."""
    team, position = divmod(slot, TEAM)
    if overloaded:
        return team * HOUSEHOLDS_PER_HELPER
    return team * HOUSEHOLDS_PER_HELPER + position // HOUSEHOLDS_PER_HELPER


# ---------------------------------------------------------------------------------------------
# Defect injectors: each spoils one clean household the way the field reports describe
# ---------------------------------------------------------------------------------------------


def _representative_meeting(household: dict) -> dict:
    return household["procedure"]["meetings"][-1]


def _cite_minutes(household: dict) -> None:
    """The village notice copies the 村民代表会议 minutes as they stand."""
    minutes = _representative_meeting(household)
    household["procedure"]["publicity"][0]["cites"].update(
        attended=minutes["attended"], signed_in=minutes["signed_in"], votes_for=minutes["votes_for"])


def _shift(iso_day: str, days: int) -> str:
    return _iso(date.fromisoformat(iso_day).toordinal() + days)


def _exit_year_missing(household: dict, rng: random.Random) -> None:
    household["exit_year"] = None
    household["forms"]["survey"]["exit_year"] = None


def _exit_before_identified(household: dict, rng: random.Random) -> None:
    exit_year = _between(rng, 2014, household["identified_year"] - 1)
    household["exit_year"] = household["forms"]["survey"]["exit_year"] = exit_year


def _survey_excluded_denied(household: dict, rng: random.Random) -> None:
    household["assets"][_pick(rng, ("public_employee", "village_cadre"))] = True


def _verifier_opinion_blank(household: dict, rng: random.Random) -> None:
    household["forms"]["survey"]["verifier_opinion"] = ""


def _signature_missing(household: dict, rng: random.Random) -> None:
    form = household["forms"][_pick(rng, ("survey", "collection"))]
    form["signatures"][_pick(rng, ("household", "filler", "reviewer"))] = False


def _id_check_digit(household: dict, rng: random.Random) -> None:
    member = _pick(rng, household["members"])
    right = member["id_number"][-1]
    member["id_number"] = member["id_number"][:17] + _pick(rng, [c for c in _ID_CHECK if c != right])


def _sex_id_mismatch(household: dict, rng: random.Random) -> None:
    member = _pick(rng, household["members"])
    member["sex"] = "女" if member["sex"] == "男" else "男"


def _child_college(household: dict, rng: random.Random) -> None:
    child = next(m for m in household["members"] if m["in_school"] == "小学")
    child["education"] = "大专及以上"


def _transfer_total_mismatch(household: dict, rng: random.Random) -> None:
    income = household["income"]
    delta = _between(rng, 10, 100) * 10
    income["transfer_total"] += delta if income["transfer_total"] < delta or rng.random() < 0.5 else -delta


def _per_capita_miscomputed(household: dict, rng: random.Random) -> None:
    # Stay on the same side of the poverty line: only the arithmetic is wrong, not the verdict.
    delta = _between(rng, 8, 30) * 10
    household["income"]["per_capita_net"] += delta if household["status"] == "已脱贫" else -delta


def _survey_year_mismatch(household: dict, rng: random.Random) -> None:
    household["forms"]["survey"]["year"] = household["year"] - 1


def _phone_malformed(household: dict, rng: random.Random) -> None:
    phone = household["phone"]
    household["phone"] = phone[:10] if rng.random() < 0.5 else phone + str(_between(rng, 0, 9))


def _application_after_proposal(household: dict, rng: random.Random) -> None:
    proposal = household["procedure"]["meetings"][0]["date"]
    household["procedure"]["application"]["date"] = _shift(proposal, _between(rng, 1, 4))


def _notice_too_short(household: dict, rng: random.Random) -> None:
    notice = _pick(rng, household["procedure"]["publicity"])
    minimum = _parameter("notice_min_days", household["identified_year"], household["region"]["province"])
    days = max(1, minimum - _between(rng, 2, 4))
    notice["end"] = _shift(notice["start"], days - 1)


def _notice_cites_wrong_attendance(household: dict, rng: random.Random) -> None:
    household["procedure"]["publicity"][0]["cites"]["attended"] += _between(rng, 1, 3)


def _signed_in_exceeds_attended(household: dict, rng: random.Random) -> None:
    minutes = _representative_meeting(household)
    minutes["signed_in"] = minutes["attended"] + _between(rng, 1, 3)
    _cite_minutes(household)


def _votes_exceed_attended(household: dict, rng: random.Random) -> None:
    minutes = _representative_meeting(household)
    minutes["votes_for"] = minutes["attended"] + _between(rng, 1, 2)
    minutes["votes_against"] = 0
    _cite_minutes(household)


def _no_quorum(household: dict, rng: random.Random) -> None:
    meetings = household["procedure"]["meetings"]
    minutes = meetings[-1] if rng.random() < 0.8 else meetings[2]
    attended = int(minutes["expected"] * (0.45 + rng.random() * 0.15))
    minutes["attended"] = minutes["signed_in"] = attended
    minutes["votes_against"] = min(minutes["votes_against"], attended // 10)
    minutes["votes_for"] = attended - minutes["votes_against"]
    _cite_minutes(household)


def _publicity_size_mismatch(household: dict, rng: random.Random) -> None:
    entry = household["procedure"]["announcement"]["entry"]
    size = entry["household_size"]
    entry["household_size"] = size - 1 if size > 1 and rng.random() < 0.4 else size + 1


def _notice_entries(household: dict) -> list[dict]:
    procedure = household["procedure"]
    return [notice["entry"] for notice in procedure["publicity"]] + [procedure["announcement"]["entry"]]


def _publicity_name_mismatch(household: dict, rng: random.Random) -> None:
    entry = _pick(rng, _notice_entries(household))
    name = entry["name"]
    for position in range(len(name) - 1, 0, -1):
        if name[position] in _HOMOPHONES:
            entry["name"] = name[:position] + _HOMOPHONES[name[position]] + name[position + 1:]
            return
    entry["name"] = name[:-1] + ("明" if name[-1] != "明" else "民")


def _publicity_cause_mismatch(household: dict, rng: random.Random) -> None:
    entry = _pick(rng, _notice_entries(household))
    entry["cause"] = _pick(rng, [c for c in _CAUSE_WEIGHTS if c != household["primary_cause"]])


def _owns_car(household: dict, rng: random.Random) -> None:
    household["assets"]["car"] = True
    if rng.random() < 0.3:
        household["assets"]["town_house"] = True


def _illness_without_health_measure(household: dict, rng: random.Random) -> None:
    addressing = _measures_addressing("因病")
    measures = [m for m in household["measures"] if m["kind"] not in addressing]
    if not measures:
        # Something was planned, just nothing for the illness: the usual shape of this report.
        measures = [_added_measure(household, {"kind": "生态补偿", "content": "落实生态公益林补偿"})]
    household["measures"] = measures


def _added_measure(household: dict, measure: dict) -> dict:
    """A measure written like the others of the household: this year's, with its outcome once exited."""
    measure["year"] = household["year"]
    if household["status"] == "已脱贫":
        measure["outcome"] = "已落实"
    return measure


def _microcredit_elderly(household: dict, rng: random.Random) -> None:
    # The head of a "very old" household is 78 to 86.
    household["measures"].append(_added_measure(household, {
        "kind": "扶贫小额信贷", "content": "扶贫小额信贷5万元，发展肉牛养殖",
        "beneficiary": household["members"][0]["name"], "amount": 50000}))


def _no_helper(household: dict, rng: random.Random) -> None:
    household["helpers"] = []
    card = household["forms"]["card"]
    card["contacts"] = [c for c in card["contacts"] if c["role"] != "帮扶责任人"]


def _unknown_helper(household: dict, rng: random.Random) -> None:
    # Village number 99 is never laid out (a township has at most 18), so this id is in no registry.
    village_part, number = household["helpers"][0][2:].rsplit("-", 1)
    household["helpers"] = [f"H-{village_part[:-2]}99-{number}"]


def _card_phone_mismatch(household: dict, rng: random.Random) -> None:
    contact = household["forms"]["card"]["contacts"][-1]
    phone = contact["phone"]
    position = _between(rng, 3, 9)
    swapped = phone[:position] + phone[position + 1] + phone[position] + phone[position + 2:]
    contact["phone"] = swapped if swapped != phone else _mobile(rng)


def _card_contact_missing(household: dict, rng: random.Random) -> None:
    contacts = household["forms"]["card"]["contacts"]
    del contacts[_between(rng, 0, len(contacts) - 1)]


def _member_without_name(household: dict, rng: random.Random) -> None:
    del household["members"][-1]["name"]


_INJECTORS = {
    "exit_year_missing": _exit_year_missing, "exit_before_identified": _exit_before_identified,
    "survey_excluded_denied": _survey_excluded_denied, "verifier_opinion_blank": _verifier_opinion_blank,
    "signature_missing": _signature_missing, "id_check_digit": _id_check_digit,
    "sex_id_mismatch": _sex_id_mismatch, "child_college": _child_college,
    "transfer_total_mismatch": _transfer_total_mismatch, "per_capita_miscomputed": _per_capita_miscomputed,
    "survey_year_mismatch": _survey_year_mismatch, "phone_malformed": _phone_malformed,
    "application_after_proposal": _application_after_proposal, "notice_too_short": _notice_too_short,
    "notice_cites_wrong_attendance": _notice_cites_wrong_attendance,
    "signed_in_exceeds_attended": _signed_in_exceeds_attended, "votes_exceed_attended": _votes_exceed_attended,
    "no_quorum": _no_quorum, "publicity_size_mismatch": _publicity_size_mismatch,
    "publicity_name_mismatch": _publicity_name_mismatch, "publicity_cause_mismatch": _publicity_cause_mismatch,
    "owns_car": _owns_car, "illness_without_health_measure": _illness_without_health_measure,
    "microcredit_elderly": _microcredit_elderly, "no_helper": _no_helper, "unknown_helper": _unknown_helper,
    "card_phone_mismatch": _card_phone_mismatch, "card_contact_missing": _card_contact_missing,
    "member_without_name": _member_without_name,
}
# The remaining defects are made while building: the household's shape (cooking_case,
# exited_below_line, exited_unsafe_house) or its team and village (helper_overload,
# village_no_secretary).


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


# A household's generator is seeded with (seed << 40) | index, so indexes must fit in 40 bits.
_MAX_HOUSEHOLDS = 1 << 40


@lru_cache(maxsize=8)
def _layout(seed: int, counties: int) -> _Layout:
    return _Layout(seed, counties)


def _prepare(n: int, seed: int, defect_rate: float, start_index: int, counties: int | None,
             only_defects) -> tuple[_Layout, _DefectPlan]:
    if n < 0 or start_index < 0 or seed < 0:
        raise ValueError(f"户数、起始序号和随机种子不能为负数：n={n}, start_index={start_index}, seed={seed}")
    if start_index + n > _MAX_HOUSEHOLDS:
        raise ValueError(f"户数过多：起始序号与户数之和不能超过 {_MAX_HOUSEHOLDS}")
    if counties is not None and counties < 1:
        raise ValueError(f"县的个数至少为 1：{counties}")
    if counties is None:
        counties = county_count(start_index + n)
    return _layout(seed, counties), _DefectPlan(defect_rate, only_defects)


def county_count(households: int) -> int:
    """How many counties a run of this many households spreads over when none is given."""
    return max(1, ceil(households / HOUSEHOLDS_PER_COUNTY))


def generate(n: int, seed: int = 0, defect_rate: float = 0.3, *, start_index: int = 0,
             counties: int | None = None, only_defects: list[str] | None = None) -> Iterator[dict]:
    """Yield households start_index … start_index+n−1 of the run defined by seed and counties.

    The same arguments always give the same households. A run may be split into parts by
    start_index (at multiples of BLOCK, with `counties` given explicitly); the parts together equal
    the whole run. defect_rate is the share of households with at least one defect; only_defects
    restricts the defects drawn to those keys of DEFECTS.
    """
    layout, plan = _prepare(n, seed, defect_rate, start_index, counties, only_defects)
    return _households(layout, plan, start_index, start_index + n)


def _households(layout: _Layout, plan: _DefectPlan, start: int, end: int) -> Iterator[dict]:
    seed = layout.seed
    for index in range(start, end):
        rng = random.Random((seed << 40) | index)
        village, _ = layout.place(index)
        structural = []
        lacks_secretary = plan.village_lacks_secretary(seed, village)
        if lacks_secretary:
            structural.append("village_no_secretary")
        overloaded = plan.team_overloaded(seed, layout.team_start(index), end)
        if overloaded:
            structural.append("helper_overload")
        defects = plan.household_defects(rng, structural)
        builder = _HouseholdBuilder(layout, index, defects, rng)
        household = builder.build(overloaded, lacks_secretary)
        for key in defects:
            injector = _INJECTORS.get(key)
            if injector:
                injector(household, rng)
        household["_synth_defects"] = defects
        yield household


def household_defects(dossier: dict) -> list[str]:
    """The defect keys injected into a generated dossier (empty for a clean one)."""
    return list(dossier.get("_synth_defects") or [])


def generate_registry(seed: int = 0, *, n: int, defect_rate: float = 0.3, start_index: int = 0,
                      counties: int | None = None, only_defects: list[str] | None = None) -> dict:
    """The responsibility registry matching generate() called with the same arguments.

    Lists the villages the households live in, the units of their counties and every helper the
    households name (an overloaded helper once, with all the households of its team); villages
    drawn for the village_no_secretary defect have no first secretary.
    """
    layout, plan = _prepare(n, seed, defect_rate, start_index, counties, only_defects)
    end = start_index + n
    villages: dict[str, Village] = {}
    helpers: dict[str, _Helper] = {}
    for index in range(start_index, end):
        village, slot = layout.place(index)
        villages.setdefault(village.code, village)
        overloaded = plan.team_overloaded(seed, layout.team_start(index), end)
        helper = _helper(layout, village, _helper_number(slot, overloaded))
        helpers.setdefault(helper.id, helper)
    units: dict[str, _Unit] = {}
    for county_index in sorted({village.county_index for village in villages.values()}):
        for unit in _county_units(layout.counties[county_index], layout.townships[county_index]):
            units.setdefault(unit.id, unit)
    return {
        "units": [{"id": u.id, "name": u.name, "level": u.level} for u in units.values()],
        "helpers": [helper.registry_entry() for helper in helpers.values()],
        "villages": [_registry_village(layout, plan, village) for village in villages.values()],
    }


def _registry_village(layout: _Layout, plan: _DefectPlan, village: Village) -> dict:
    team = _village_team(layout, village)
    entry = {"county": village.county.name, "township": village.township, "village": village.name}
    if not plan.village_lacks_secretary(layout.seed, village):
        entry["first_secretary"] = {"name": team.secretary_name, "unit": team.secretary_unit.id,
                                    "phone": team.secretary_phone}
    entry["group_leader"] = {"name": team.leader_name, "position": team.leader_position,
                             "phone": team.leader_phone}
    return entry
