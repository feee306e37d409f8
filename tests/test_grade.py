"""Grading for 评比: scores by county and township, grades from the policy's thresholds, ranking, bad policy files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dangka.cli import main
from dangka.i18n import set_lang
from dangka.policy import PolicyError
from dangka.report.grade import grade, load_grading_policy

SAMPLE = Path(__file__).parent / "data" / "reports" / "findings_sample.json"


def household(county: str, township: str, *severities: str) -> dict:
    """A household of the findings document with one finding per given severity."""
    return {
        "id": f"{county}-{township}-{len(severities)}",
        "region": {"county": county, "township": township, "village": "某村"},
        "findings": [{"rule": "R", "category": "form.missing", "severity": severity} for severity in severities],
    }


def report_of(*households: dict) -> dict:
    return {"version": 1, "households": list(households), "errors": []}


@pytest.fixture()
def policy_copy(tmp_path: Path, repo_root: Path) -> Path:
    """A writable copy of the shipped grading.yaml, for tests that break it."""
    shutil.copy(repo_root / "knowledge" / "policies" / "grading.yaml", tmp_path / "grading.yaml")
    return tmp_path


def test_shipped_policy_values_and_references():
    policy = load_grading_policy()
    assert policy.weights == {"high": 3, "medium": 2, "low": 1}
    assert policy.points_per_weight == 10
    assert policy.thresholds == {"优秀": 90, "良好": 80, "合格": 60}
    assert all(reference for reference in policy.references.values())


def test_score_is_full_marks_minus_weighted_findings_per_household():
    # 4 households, findings high + medium + low = 3 + 2 + 1 = 6 weighted → 1.5 per household → 85.
    report = report_of(
        household("封丘县", "城关镇", "high"),
        household("封丘县", "城关镇", "medium", "low"),
        household("封丘县", "城关镇"),
        household("封丘县", "城关镇"),
    )
    county = grade(report)["counties"][0]
    assert county["name"] == "封丘县"
    assert county["households"] == 4
    assert county["with_findings"] == 2
    assert county["findings_by_severity"] == {"high": 1, "medium": 1, "low": 1}
    assert county["score"] == 85.0
    assert county["grade"] == "良好"
    assert county["rank"] == 1


@pytest.mark.parametrize(
    ("severities", "score", "grade_name"),
    [
        ((), 100.0, "优秀"),
        (("low",), 90.0, "优秀"),
        (("medium",), 80.0, "良好"),
        (("high",), 70.0, "合格"),
        (("high", "low"), 60.0, "合格"),
        (("high", "medium"), 50.0, "不合格"),
        (("high",) * 5, 0.0, "不合格"),
    ],
)
def test_grade_thresholds_include_their_lower_bound_and_score_never_drops_below_zero(severities, score, grade_name):
    result = grade(report_of(household("兰考县", "东坝头镇", *severities)))
    assert result["townships"][0]["score"] == score
    assert result["townships"][0]["grade"] == grade_name


def test_ranking_is_best_first_and_ties_share_a_rank():
    report = report_of(
        household("二县", "三镇", "high"),
        household("一县", "二镇", "low"),
        household("一县", "一镇", "high"),
        household("二县", "四镇", "high", "high"),
    )
    townships = grade(report)["townships"]
    # Equal scores are listed by county, then township, in a stable order.
    assert [(unit["name"], unit["rank"]) for unit in townships] == [("二镇", 1), ("一镇", 2), ("三镇", 2), ("四镇", 4)]
    assert [unit["county"] for unit in townships] == ["一县", "一县", "二县", "二县"]


def test_townships_of_the_same_name_in_two_counties_are_graded_apart():
    report = report_of(household("甲县", "城关镇", "high"), household("乙县", "城关镇"))
    townships = grade(report)["townships"]
    assert {(unit["county"], unit["score"]) for unit in townships} == {("甲县", 70.0), ("乙县", 100.0)}


def test_sample_report_grades(repo_root):
    result = grade(json.loads(SAMPLE.read_text(encoding="utf-8")))
    assert [(unit["name"], unit["score"], unit["grade"]) for unit in result["counties"]] == [
        ("封丘县", 70.0, "合格"),
        ("兰考县", 53.3, "不合格"),
    ]
    assert result["policy"]["thresholds"]["优秀"] == 90


def test_values_are_picked_by_year(policy_copy):
    path = policy_copy / "grading.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "      reference: 本工具默认值：平均每户",
        "      reference: 某年新办法\n    - from: 2020\n      value: 20\n      reference: 本工具默认值：平均每户",
    )
    path.write_text(text, encoding="utf-8")
    assert load_grading_policy(policy_copy, year=2019).points_per_weight == 10
    assert load_grading_policy(policy_copy, year=2020).points_per_weight == 20
    assert load_grading_policy(policy_copy).points_per_weight == 20
    with pytest.raises(PolicyError, match="在 2013 年没有可用的值"):
        load_grading_policy(policy_copy, year=2013)


def test_value_without_reference_names_file_and_line(policy_copy):
    path = policy_copy / "grading.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(number for number, line in enumerate(lines) if line.startswith("grading_weight_medium:"))
    reference = next(number for number in range(start, len(lines)) if "reference:" in lines[number])
    del lines[reference]
    path.write_text("".join(lines), encoding="utf-8")
    entry = next(number for number in range(start, len(lines)) if "- from:" in lines[number])
    with pytest.raises(PolicyError, match="grading_weight_medium”（2014 年）的取值缺少出处 reference") as caught:
        load_grading_policy(policy_copy)
    assert str(caught.value).startswith(f"{path}:{entry + 1}: policy.invalid:")


def test_missing_parameter_is_reported(policy_copy):
    path = policy_copy / "grading.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("grading_pass_min:", "grading_pass_minimum:"), encoding="utf-8"
    )
    with pytest.raises(PolicyError, match="缺少参数 grading_pass_min"):
        load_grading_policy(policy_copy)


def test_thresholds_out_of_order_are_refused(policy_copy):
    path = policy_copy / "grading.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 60", "value: 85"), encoding="utf-8")
    with pytest.raises(PolicyError, match="优秀 ≥ 良好 ≥ 合格"):
        load_grading_policy(policy_copy)


def test_broken_yaml_names_the_line(policy_copy):
    (policy_copy / "grading.yaml").write_text("grading_weight_high:\n  values: [\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="YAML 格式错误：第 2 行") as caught:
        load_grading_policy(policy_copy)
    assert caught.value.location.line == 2


@pytest.mark.parametrize("text, message", [
    ("grading_weight_high: " + "[" * 20_000 + "]" * 20_000 + "\n", "数据嵌套过深"),
    ('grading_weight_high:\n  reference: "\\ud800"\n', "第 2 行的文字含有 Unicode 代理项转义"),
])
def test_hostile_yaml_is_refused_with_a_message(policy_copy, text, message):
    (policy_copy / "grading.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_grading_policy(policy_copy)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(PolicyError, match="无法读取文件：文件不存在"):
        load_grading_policy(tmp_path)


def test_non_numeric_weight_is_refused(policy_copy):
    path = policy_copy / "grading.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 3\n", "value: 三\n"), encoding="utf-8")
    with pytest.raises(PolicyError, match="grading_weight_high”（2014 年）的取值必须是数值"):
        load_grading_policy(policy_copy)


def grading_with(policy_copy: Path, old: str, new: str) -> Path:
    """The copied grading.yaml with one piece of text replaced; its path."""
    path = policy_copy / "grading.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


# Values the reader took without a word, each giving scores or grades no policy meant.
@pytest.mark.parametrize(("old", "new", "message"), [
    ("value: 3\n", "value: .nan\n", "必须是数值"),
    ("value: 3\n", "value: .inf\n", "必须是数值"),
    ("- from: 2014\n      value: 3\n", "- from: true\n      value: 3\n", "from 必须是年份"),
    ("- from: 2014\n      value: 3\n", "- from: 99999\n      value: 3\n", "from 必须是年份"),
    ("grading_weight_medium:", "grading_weight_high:", "重复的键“grading_weight_high”"),
], ids=["NaN", "infinity", "boolean year", "year 99999", "parameter given twice"])
def test_grading_values_no_policy_means_are_refused_with_their_line(policy_copy, old, new, message):
    path = grading_with(policy_copy, old, new)
    with pytest.raises(PolicyError, match=message) as caught:
        load_grading_policy(policy_copy)
    assert caught.value.location.file == str(path)
    assert caught.value.location.line is not None


def test_thresholds_out_of_order_name_the_line_of_the_first(policy_copy):
    path = grading_with(policy_copy, "value: 60", "value: 85")
    with pytest.raises(PolicyError, match="优秀 ≥ 良好 ≥ 合格") as caught:
        load_grading_policy(policy_copy)
    assert caught.value.location.line == line_of(path, "grading_excellent_min:")


def test_grading_messages_in_english_on_request(policy_copy):
    grading_with(policy_copy, "value: 3\n", "value: -3\n")
    set_lang("en")
    try:
        with pytest.raises(PolicyError, match="must not be negative"):
            load_grading_policy(policy_copy)
    finally:
        set_lang("zh")


def test_a_broken_grading_file_stops_lint_and_check_before_any_household(policy_copy, repo_root, capsys):
    # It was read only to write an HTML or workbook report, after every household had been checked.
    for name in ("parameters.yaml", "causes.yaml", "measures.yaml", "exclusions.yaml", "procedure.yaml"):
        shutil.copy(repo_root / "knowledge" / "policies" / name, policy_copy / name)
    path = grading_with(policy_copy, "value: 3\n", "value: .nan\n")
    examples = str(repo_root / "cases" / "examples")
    for argv in (["lint"], ["check", examples, "--format", "json"], ["check", examples]):
        assert main([*argv, "--policies", str(policy_copy)]) == 2
        captured = capsys.readouterr()
        assert f"{path}:{line_of(path, 'value: .nan') - 1}: policy.invalid:" in captured.err
        assert "必须是数值" in captured.err
        assert captured.out == ""
