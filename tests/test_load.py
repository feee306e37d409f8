"""Loaders: good files in every format, one malformed file per failure mode, hostile input within time bounds."""

from __future__ import annotations

import contextlib
import os
import hashlib
import json
import re
import signal
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangka.contract import records
from dangka.errors import InputError
from dangka.i18n import set_lang
from dangka.load import (
    MAX_DOCUMENT_BYTES,
    MAX_LINE_BYTES,
    Loaded,
    find_registry,
    _json_value,
    is_registry,
    iter_dossiers,
    load_registry,
)

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good"
MALFORMED = DATA / "malformed"


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail the test instead of hanging when loading takes longer than `seconds`."""
    def expire(signum, frame):
        raise TimeoutError(f"loading took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load(*paths: Path | str, seconds: float = 5) -> list[Loaded]:
    with time_limit(seconds):
        return list(iter_dossiers([str(path) for path in paths]))


def only_error(loaded: list[Loaded]) -> InputError:
    errors = [item.error for item in loaded if item.error is not None]
    assert len(errors) == 1, [str(error) for error in errors]
    return errors[0]


def pinned(error: InputError, message: str) -> None:
    """Pin a user-facing message the way the user sees it: raised, then matched."""
    with pytest.raises(InputError, match=message):
        raise error


# -- one malformed file per failure mode ---------------------------------------------------------

MALFORMED_CASES = [
    ("alias_bomb.yaml", None, r"数据展开后远大于文件本身（YAML 别名或合并键被反复引用）"),
    ("merge_key_bomb.yaml", 18, r"数据展开后远大于文件本身"),
    ("cyclic_alias.yaml", None, r"嵌套过深（超过 64 层）或含有循环引用"),
    ("deep_nesting.yaml", 2, r"嵌套过深"),
    ("deep_nesting.json", 1, r"嵌套过深"),
    ("binary.yaml", None, r"不是文本文件（含有二进制内容）"),
    ("not_utf8.yaml", 1, r"文件不是 UTF-8 编码：第 1 行有无法识别的字节"),
    ("truncated.yaml", 16, r"YAML 格式错误：第 16 行文件意外结束"),
    ("truncated.json", 40, r"JSON 格式错误：第 40 行内容意外结束"),
    ("missing_colon.yaml", 4, r"YAML 格式错误：第 4 行缺少冒号"),
    ("tab_indent.yaml", 4, r"YAML 格式错误：第 4 行含有制表符"),
    ("python_tag.yaml", 2, r"不支持的 YAML 标签"),
    ("multi_document.yaml", 3, r"文件含有多个 YAML 文档"),
    ("huge_integer.yaml", 2, r"YAML 格式错误：第 2 行的数字位数过多，无法读取"),
    ("empty.yaml", None, r"文件为空，没有档案"),
    ("top_level_list.yaml", 2, r"文件顶层应为一户档案（含 id 的映射）或 households 列表，实为列表"),
    ("top_level_scalar.json", 1, r"实为单个取值"),
    ("no_id.yaml", 2, r"input.invalid: 缺少户编号（id）$"),
    ("no_region.yaml", 2, r"缺少行政区划（region）"),
    ("region_incomplete.yaml", 2, r"行政区划缺少村（region.village）"),
    ("members_not_list.yaml", 2, r"家庭成员（members）应为列表$"),
    ("member_without_name.yaml", 2, r"家庭成员第 2 项（members\[1\]）缺少姓名（name）"),
    ("no_head.yaml", 2, r"应恰有一位户主（relation: 户主），现有 0 位"),
    ("two_heads.yaml", 2, r"现有 2 位"),
    ("income_not_mapping.yaml", 2, r"收入（income）应为映射"),
    ("registry_helper_without_id.yaml", 2, r"这是帮扶责任体系登记表，不是户档案"),
]


@pytest.mark.parametrize(("name", "line", "message"), MALFORMED_CASES, ids=[case[0] for case in MALFORMED_CASES])
def test_malformed_file_is_one_input_error_with_file_and_line(name, line, message):
    loaded = load(MALFORMED / name)
    error = only_error(loaded)
    pinned(error, message)
    assert error.code == "input.invalid"
    assert error.location.file == str(MALFORMED / name) and error.location.line == line
    assert loaded[0].line == line and loaded[0].dossier is None


def test_every_malformed_file_has_a_case():
    covered = {case[0] for case in MALFORMED_CASES} | {"duplicate_id.yaml", "bad_lines.jsonl", "registry_not_mapping.yaml"}
    assert {path.name for path in MALFORMED.iterdir()} == covered


def test_duplicate_id_in_one_run_reports_the_second():
    first, second = load(MALFORMED / "duplicate_id.yaml")
    assert first.dossier is not None and first.line == 3
    pinned(second.error, r"户编号“HN-410727-0101-001”重复（已在 .*duplicate_id.yaml:3 出现），此户未核查")
    assert second.line == 101


def test_bad_json_lines_are_each_an_error_and_good_lines_still_load():
    loaded = load(MALFORMED / "bad_lines.jsonl")
    assert [(item.line, item.dossier["id"] if item.dossier else None) for item in loaded] == [
        (1, "BAD-JSONL-1"), (2, None), (3, None), (5, None), (6, "BAD-JSONL-4")]
    pinned(loaded[1].error, r"JSON 格式错误：第 2 行内容意外结束")
    pinned(loaded[2].error, r"第 3 行应为一户档案（JSON 对象）")
    pinned(loaded[3].error, r"JSON 格式错误：第 5 行键应写在双引号内（或多了一个逗号）")
    assert [item.index for item in loaded] == [0, 1, 2, 3, 4]


def test_the_rest_of_a_run_is_loaded_after_bad_files():
    loaded = load(MALFORMED, GOOD / "case.yaml", seconds=20)
    assert loaded[-1].dossier["id"] == "GOOD-C-1"
    assert [item.index for item in loaded] == list(range(len(loaded)))


def test_missing_path_and_unsupported_type(tmp_path):
    (tmp_path / "notes.txt").write_text("id: x", encoding="utf-8")
    missing, unsupported = load(tmp_path / "nope.yaml", tmp_path / "notes.txt")
    pinned(missing.error, "文件或文件夹不存在")
    pinned(unsupported.error, r"不支持的文件类型：档案应为 .yaml、.yml、.json 或 .jsonl 文件")


def test_messages_in_english(tmp_path):
    set_lang("en")
    try:
        pinned(only_error(load(MALFORMED / "missing_colon.yaml")), "YAML syntax error: line 4: missing colon")
    finally:
        set_lang("zh")


# -- huge files ----------------------------------------------------------------------------------


@pytest.fixture()
def scratch(tmp_path):
    """A folder for files too big to keep: emptied after the test (pytest keeps recent runs' tmp_path)."""
    yield tmp_path
    for path in tmp_path.iterdir():
        path.unlink()


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_100_mb_document_is_refused_without_reading_it(scratch, suffix):
    huge = scratch / f"huge{suffix}"
    with open(huge, "wb") as stream:
        stream.truncate(100 * 1024 * 1024)  # sparse: costs no disk and no time
    limit = MAX_DOCUMENT_BYTES[suffix[1:]] // (1024 * 1024)
    pinned(only_error(load(huge, seconds=2)), rf"文件过大（100.0 MB），单个 {suffix[1:].upper()} 文件不能超过 {limit} MB")


def test_a_yaml_file_just_under_the_size_limit_loads_in_seconds(tmp_path, examples_dir):
    lines = (examples_dir / "clean.yaml").read_text(encoding="utf-8").splitlines()[1:]
    body = "\n".join("    " + line for line in lines)
    households, size = [], 0
    while size < MAX_DOCUMENT_BYTES["yaml"] - 20_000:
        households.append("  - " + body.replace("HN-410727-0101-001", f"HN-{len(households)}", 1).lstrip())
        size += len(households[-1].encode()) + 1
    path = tmp_path / "village.yaml"
    path.write_text("households:\n" + "\n".join(households) + "\n", encoding="utf-8")
    assert path.stat().st_size < MAX_DOCUMENT_BYTES["yaml"]
    loaded = load(path, seconds=20)
    assert len(loaded) == len(households) > 300
    assert all(item.error is None for item in loaded)


def test_a_100_mb_json_line_is_skipped_and_the_next_line_loads(scratch, examples_dir):
    dossier = yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))
    path = scratch / "long.jsonl"
    with open(path, "wb") as stream:
        stream.write(b'{"id": "' + b"x" * (100 * 1024 * 1024) + b'"}\n')
        stream.write(json.dumps(dossier, ensure_ascii=False, default=str).encode() + b"\n")
    tracemalloc.start()
    try:
        loaded = load(path, seconds=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    pinned(loaded[0].error, rf"第 1 行过长（超过 {MAX_LINE_BYTES // (1024 * 1024)} MB），已跳过")
    assert loaded[1].dossier["id"] == dossier["id"] and loaded[1].line == 2
    assert peak < 3 * MAX_LINE_BYTES


def _minimal_line(number: int) -> bytes:
    dossier = {"id": f"L-{number}", "region": {"county": "封丘县", "township": "城关镇", "village": "东街村"},
               "members": [{"name": "张三", "relation": "户主"}], "padding": "x" * 400}
    return json.dumps(dossier, ensure_ascii=False).encode() + b"\n"


def test_json_lines_stream_the_first_dossier_arrives_before_the_file_is_read(scratch):
    path = scratch / "many.jsonl"
    with open(path, "wb") as stream:
        stream.writelines(_minimal_line(number) for number in range(100_000))  # about 50 MB
    tracemalloc.start()
    try:
        with time_limit(2):
            dossiers = iter_dossiers([str(path)])
            first = [next(dossiers) for _ in range(1000)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert first[-1].dossier["id"] == "L-999" and first[-1].line == 1000
    assert peak < 5 * 1024 * 1024


@pytest.mark.slow
def test_json_lines_memory_stays_flat_over_a_million_lines(scratch):
    path = scratch / "million.jsonl"
    with open(path, "wb") as stream:
        stream.writelines(_minimal_line(number) for number in range(1_000_000))
    tracemalloc.start()
    try:
        total = sum(1 for item in iter_dossiers([str(path)]) if item.dossier is not None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 1_000_000
    assert peak < 200 * 1024 * 1024  # the ids seen (for duplicates) grow; the dossiers do not stay


# -- good files ----------------------------------------------------------------------------------


def test_a_folder_is_read_recursively_in_sorted_order_skipping_registries_and_other_files():
    loaded = load(GOOD)
    assert [item.error for item in loaded] == [None] * len(loaded)
    assert [(Path(item.source).name, item.line, item.dossier["id"]) for item in loaded] == [
        ("case.yaml", 4, "GOOD-C-1"),
        ("cases.yaml", 3, "GOOD-C-2"),
        ("cases.yaml", 103, "GOOD-C-3"),
        ("codes.yaml", 2, "GOOD-CODES-1"),
        ("dossiers.jsonl", 1, "GOOD-L-1"),
        ("dossiers.jsonl", 2, "GOOD-L-2"),
        ("dossiers.jsonl", 3, "GOOD-L-3"),
        ("households.json", 3, "GOOD-J-1"),
        ("households.json", 266, "GOOD-J-2"),
        ("households.yaml", 3, "GOOD-Y-1"),
        ("households.yaml", 101, "GOOD-Y-2"),
        ("value_problems.yaml", 3, "GOOD-VALUES-1"),
        ("one.yaml", 2, "GOOD-N-1"),
    ]
    assert [item.index for item in loaded] == list(range(len(loaded)))


def test_json_list_lines_point_at_each_household():
    text = (GOOD / "households.json").read_text(encoding="utf-8").splitlines()
    for item in load(GOOD / "households.json"):
        assert text[item.line - 1].strip() == "{" and f'"{item.dossier["id"]}"' in text[item.line]


def test_a_file_named_twice_is_read_once():
    assert len(load(GOOD / "nested", GOOD / "nested" / "one.yaml")) == 1


def test_codes_and_aliases_load_as_words():
    (item,) = load(GOOD / "codes.yaml")
    found = {record.id: record.values for record in records(item.dossier)}
    assert found["household"]["attribute"] == "低保贫困户"
    assert found["household"]["primary_cause"] == "缺劳力"
    assert found["household"]["province"] == "河南省"
    assert found["other_causes[0]"]["cause"] == "缺劳力"
    assert found["members[0]"]["relation"] == "户主" and found["members[0]"]["sex"] == "男"
    assert found["members[1]"]["labor"] == "弱劳动力或半劳动力" and found["members[1]"]["sex"] == "女"
    assert not any(record.entity == "problem" for record in records(item.dossier))


def test_wrong_values_in_a_well_formed_dossier_load_and_become_problems():
    (item,) = load(GOOD / "value_problems.yaml")
    assert item.error is None
    paths = [record.values["path"] for record in records(item.dossier) if record.entity == "problem"]
    assert paths == ["members[0].birth_date", "members[1].sex", "income.wage", "conditions.housing_safe",
                     "procedure.publicity[0].start"]


def test_the_examples_load_cleanly(examples_dir):
    loaded = load(examples_dir)
    assert [item.dossier["id"] for item in loaded] == ["HN-410727-0101-001", "HN-410727-0101-002"]
    for item in loaded:
        assert not any(record.entity == "problem" for record in records(item.dossier))


def test_loading_never_writes_to_input_files():
    def digest() -> str:
        return hashlib.sha256(b"".join(path.read_bytes() for path in sorted(DATA.rglob("*")) if path.is_file())).hexdigest()

    before = digest()
    load(GOOD, MALFORMED, seconds=20)
    assert digest() == before


# -- the registry --------------------------------------------------------------------------------


def test_registry_found_in_a_checked_folder_or_among_the_files(examples_dir):
    assert find_registry([str(GOOD / "case.yaml"), str(GOOD)]) == str(GOOD / "registry.yaml")
    assert find_registry([str(examples_dir / "clean.yaml"), str(examples_dir / "registry.yaml")]) == str(
        examples_dir / "registry.yaml")
    assert find_registry([str(GOOD / "nested"), str(GOOD / "case.yaml")]) is None
    assert is_registry("a/b/Registry.yaml") and is_registry(Path("registry.json")) and not is_registry("reg.yaml")


def test_load_registry(examples_dir):
    registry = load_registry(str(examples_dir / "registry.yaml"))
    assert [helper["id"] for helper in registry["helpers"]] == ["H-001", "H-002"]
    assert registry["villages"][0]["first_secretary"]["name"] == "周振华"


def test_registry_lists_default_to_empty(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("units: []\n", encoding="utf-8")
    assert load_registry(str(path)) == {"units": [], "helpers": [], "villages": []}


@pytest.mark.parametrize(("name", "line", "message"), [
    ("registry_helper_without_id.yaml", 5, r"登记表 helpers 第 2 项（帮扶责任人）缺少 id"),
    ("registry_not_mapping.yaml", 2, r"帮扶责任体系登记表应为含 units、helpers、villages 的映射"),
    ("alias_bomb.yaml", None, r"数据展开后远大于文件本身"),
    ("missing_colon.yaml", 4, r"缺少冒号"),
])
def test_bad_registry_raises_input_error_with_file_and_line(name, line, message):
    with time_limit(5), pytest.raises(InputError, match=message) as raised:
        load_registry(str(MALFORMED / name))
    assert raised.value.location.file == str(MALFORMED / name) and raised.value.location.line == line


def test_registry_must_be_yaml_or_json(tmp_path):
    with pytest.raises(InputError, match="帮扶责任体系登记表应为 YAML 或 JSON 文件"):
        load_registry(str(tmp_path / "registry.xlsx"))


def test_registry_village_contacts_must_be_mappings(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("villages:\n  - {county: 封丘县, township: 城关镇, village: 东街村, first_secretary: 周振华}\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"登记表 villages 第 1 项（村）的 first_secretary 应为含 name、phone 的映射") as raised:
        load_registry(str(path))
    assert raised.value.location.line == 2


REGISTRY_WITH_REPEATS = """\
units:
  - {id: U-1, name: 教育局}
  - {id: U-2, name: 卫健委}
helpers:
  - {id: H-001, name: 赵文博, unit: U-1}
  - {id: H-002, name: 孙丽华, unit: U-2}
  - {id: H-001, name: 赵文博, unit: U-1}
villages:
  - {county: 封丘县, township: 城关镇, village: 东街村}
  - {county: 封丘县, township: 城关镇, village: 东街村}
"""


def test_identical_repeats_in_the_registry_pass(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY_WITH_REPEATS, encoding="utf-8")
    assert len(load_registry(str(path))["helpers"]) == 3


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("{id: U-2, name: 卫健委}", "{id: U-1, name: 卫健委}", 3,
     r"登记表 units 第 2 项（帮扶单位）的 id U-1 与第 1 项（第 2 行）重复，内容却不同"),
    ("- {id: H-001, name: 赵文博, unit: U-1}\nvillages", "- {id: ' H-001', name: 赵文军, unit: U-1}\nvillages", 7,
     r"登记表 helpers 第 3 项（帮扶责任人）的 id H-001 与第 1 项（第 5 行）重复，内容却不同"),
    ("- {county: 封丘县, township: 城关镇, village: 东街村}\n", "- {county: 封丘县, township: 城关镇, village: 东街村, x: 1}\n", 10,
     r"登记表 villages 第 2 项（村）的 封丘县/城关镇/东街村 与第 1 项（第 9 行）重复，内容却不同"),
])
def test_conflicting_repeats_in_the_registry_are_refused_naming_both_lines(tmp_path, old, new, line, message):
    path = tmp_path / "registry.yaml"
    before, found, after = REGISTRY_WITH_REPEATS.rpartition(old)  # the later of two alike
    assert found
    text = before + new + after
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as raised:
        load_registry(str(path))
    assert raised.value.location.line == line


def test_conflicting_repeats_in_a_json_registry_name_their_lines(tmp_path):
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"helpers": [{"id": "H-1", "name": "甲"}, {"id": "H-1", "name": "乙"}]}, indent=1),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"helpers 第 2 项（帮扶责任人）的 id H-1 与第 1 项（第 3 行）重复") as raised:
        load_registry(str(path))
    assert raised.value.location.line == 7


# -- no input makes a loader raise ---------------------------------------------------------------

structures = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "households", "cases", "dossier", "members", "region", "units", "helpers", "name",
                         "relation", "county", "township", "village"]) | st.text(max_size=5),
        children, max_size=5),
    max_leaves=25,
)
fuzz_settings = settings(max_examples=150, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def check_never_raises(path: Path) -> None:
    with time_limit(5):
        for item in iter_dossiers([str(path)]):
            assert (item.dossier is None) != (item.error is None)
            if item.dossier is not None:
                records(item.dossier)
        with contextlib.suppress(InputError):
            load_registry(str(path))


@fuzz_settings
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".yaml", ".json", ".jsonl"]))
def test_random_bytes_never_make_a_loader_raise(tmp_path, content, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    check_never_raises(path)


@fuzz_settings
@given(data=structures, suffix=st.sampled_from([".yaml", ".json", ".jsonl"]))
def test_random_structures_never_make_a_loader_raise(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    if suffix == ".yaml":
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    check_never_raises(path)


yaml_fragments = st.lists(st.sampled_from([
    "id: ", "households:", "\n", "  ", "- ", "&a ", "*a", "<<: *a", "[", "]", "{", "}", ",", ": ", "'", '"', "!!str ",
    "!!python/name:os.system", "---", "#", "\t", "户主", "2017-02-29", "0x1F", "~", "? ", "|", ">", "%YAML 1.1\n",
]), max_size=40).map("".join)


@fuzz_settings
@given(text=yaml_fragments)
def test_random_yaml_text_never_makes_a_loader_raise(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    check_never_raises(path)



@pytest.mark.parametrize("depth, refused", [(10, False), (63, False), (64, True), (200, True)])
def test_json_lines_nested_deeper_than_the_limit_are_refused(tmp_path, depth, refused):
    """The walk is skipped for lines with fewer brackets than the limit: exactly those cannot be too deep."""
    dossier = {"id": "HN-1", "region": {"county": "县", "township": "乡", "village": "村"},
               "members": [{"name": "甲", "relation": "户主"}], "note": json.loads("[" * depth + "]" * depth)}
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps(dossier, ensure_ascii=False) + "\n", encoding="utf-8")
    (loaded,) = load(path)
    if refused:
        assert loaded.dossier is None and "嵌套过深" in loaded.error.message
    else:
        assert loaded.dossier is not None, loaded.error


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(_JSON_VALUES)
def test_json_values_are_read_as_the_json_module_reads_them(value):
    text = json.dumps(value)   # NaN, Infinity and integers beyond 64 bits included
    assert json.dumps(_json_value(text, first_line=1)) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ['{"a": 123456789012345678901}', '{"a": -9223372036854775809}', '{"a": 1e400}',
                                  '{"a": "\\ud800"}', '{"a": NaN, "b": -Infinity}', '{"a": 1, "a": 2}', '{"a": -0}'])
def test_json_texts_orjson_would_read_differently_are_read_by_the_json_module(text):
    read = _json_value(text, first_line=1)
    assert json.dumps(read) == json.dumps(json.loads(text))
    assert [type(item) for item in read.values()] == [type(item) for item in json.loads(text).values()]


def test_a_lone_surrogate_escape_refuses_its_dossier_and_a_pair_is_text(tmp_path):
    lines = [_minimal_line(1), _minimal_line(2).replace(b'"id": "', b'"id": "\\ud800'),
             _minimal_line(3).replace(b'"id": "', b'"id": "\\ud83d\\ude00'), _minimal_line(4)]
    path = tmp_path / "surrogates.jsonl"
    path.write_bytes(b"".join(lines))
    loaded = list(iter_dossiers([str(path)]))
    assert [item.error is None for item in loaded] == [True, False, True, True]
    assert loaded[1].error.message == "第 2 行的文字含有不成对的 Unicode 代理项转义 \\ud800，不是有效的文字"
    assert loaded[2].dossier["id"].startswith("😀")


def test_a_lone_surrogate_escape_in_a_json_document_names_its_line(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('{\n "id": "HN-1",\n "note": "\\udc00"\n}\n', encoding="utf-8")
    (item,) = iter_dossiers([str(path)])
    assert item.error is not None and item.error.location.line == 3
    assert "\\udc00" in item.error.message


@pytest.mark.parametrize("parser", ["libyaml", "pure Python"])
@pytest.mark.parametrize("escape", ["\\ud800", "\\ud83d\\ude00", "\\U0000dfff"])
def test_a_surrogate_escape_in_yaml_refuses_its_dossier_with_either_parser(tmp_path, monkeypatch, parser, escape):
    # PyYAML's own scanner reads these escapes into strings nothing can write; libyaml refuses them.
    if parser == "pure Python":
        monkeypatch.setattr("dangka.load._LibyamlParser", None)
    path = tmp_path / "one.yaml"
    path.write_text(f'id: HN-1\nhead:\n  name: "{escape}张三"\n', encoding="utf-8")
    pinned(only_error(load(path)), re.escape("one.yaml:3: input.invalid: YAML 格式错误：第 3 行的文字含有 Unicode 代理项转义（如 \\ud800），不是有效的文字"))


# -- paths that are not plain files ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["pipe.yaml", "pipe.json", "pipe.jsonl", "registry.yaml"])
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path, name):
    pipe = tmp_path / name
    os.mkfifo(pipe)
    message = r"不是普通文件（可能是管道、设备或套接字），无法读取"
    if name == "registry.yaml":
        with time_limit(5), pytest.raises(InputError, match=message):
            load_registry(str(pipe))
    else:
        pinned(only_error(load(pipe)), message)


@pytest.mark.parametrize(("make", "message"), [
    (lambda path: path.symlink_to(path.parent / "nowhere.yaml"), r"无法读取文件：文件不存在"),
    (lambda path: path.symlink_to(path), r"无法读取文件：符号链接形成循环"),
    (lambda path: path.mkdir(), r"这是文件夹，不是文件"),
])
def test_a_registry_that_cannot_be_opened_is_named_in_chinese(tmp_path, make, message):
    path = tmp_path / "registry.yaml"
    make(path)
    with pytest.raises(InputError, match=message) as raised:
        load_registry(str(path))
    assert raised.value.location.file == str(path)


def test_a_dossier_link_that_loops_is_named_as_such(tmp_path):
    path = tmp_path / "loop.jsonl"
    path.symlink_to(path)
    pinned(only_error(load(path)), r"无法读取文件：符号链接形成循环")


@pytest.mark.parametrize("written", ["2017-02-30", "2017-13-01", "2017-01-01 25:00:00"])
def test_an_impossible_yaml_date_loads_as_its_text_as_in_json(tmp_path, examples_dir, written):
    text = (examples_dir / "clean.yaml").read_text(encoding="utf-8")
    path = tmp_path / "dossier.yaml"
    path.write_text(text.replace("filled_date: 2017-05-09", f"filled_date: {written}", 1), encoding="utf-8")
    [loaded] = load(path)
    assert loaded.error is None, loaded.error
    assert loaded.dossier["forms"]["survey"]["filled_date"] == written


@pytest.mark.parametrize("value", ["!!binary aGVsbG8=", "!!set {a, b}"])
def test_yaml_values_no_dossier_can_hold_are_refused_with_their_line(tmp_path, examples_dir, value):
    # Bytes and sets are neither JSON nor text: convert and the reports could not write them.
    text = (examples_dir / "clean.yaml").read_text(encoding="utf-8")
    path = tmp_path / "dossier.yaml"
    path.write_text(text + f"note: {value}\n", encoding="utf-8")
    error = only_error(load(path))
    pinned(error, r"第 \d+ 行含有不支持的 YAML 标签")
    assert error.location.line == len(text.splitlines()) + 1
