"""The case library run by pytest: the same files `dangka test` and the training mode use."""

from __future__ import annotations

import json

import pytest

from dangka.cases import CaseError, case_files, default_cases_dir, load_case, run_case, run_suite
from dangka.cli import main
from dangka.engine.knowledge import Knowledge
from dangka.engine.run import Engine

CASES = case_files(default_cases_dir())


@pytest.fixture(scope="module")
def shipped():
    knowledge = Knowledge.load()
    return knowledge, Engine(knowledge)


@pytest.mark.parametrize("path", CASES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_case(path, shipped):
    case = load_case(path)
    result = run_case(case, shipped[1])
    assert result.passed, "\n".join(f"{path} → {case.title} → {difference}" for difference in result.differences)


def test_every_rule_is_fired_by_a_case_and_proven_silent_by_another(shipped):
    report = run_suite(default_cases_dir(), shipped[0])
    never_fired, never_silent = report.coverage()
    assert never_fired == [], f"rules no case fires: {never_fired}"
    assert never_silent == [], f"rules no case proves silent: {never_silent}"


def test_at_least_forty_cases_with_a_story():
    assert len(CASES) >= 40
    for path in CASES:
        case = load_case(path)
        assert case.title and case.story.strip(), path


def test_bad_case_files_are_reported_with_their_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: 坏案例\nexpect: {findings: 3}\ndossier: {id: X}\n", encoding="utf-8")
    with pytest.raises(CaseError, match="findings 应为规则编号或类别的列表"):
        load_case(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("title: t\nexpect: {clean: true}\nstroy: 拼错\ndossier: {id: X}\n", encoding="utf-8")
    with pytest.raises(CaseError, match="stroy"):
        load_case(unknown)
    surrogate = tmp_path / "surrogate.yaml"
    surrogate.write_text('title: t\nexpect: {clean: true}\nstory: "\\ud800"\ndossier: {id: X}\n', encoding="utf-8")
    with pytest.raises(CaseError, match="案例文件无法读取：YAML 格式错误：第 3 行的文字含有 Unicode 代理项转义") as caught:
        load_case(surrogate)
    assert caught.value.location.line == 3
    deep = tmp_path / "deep.yaml"
    deep.write_text("title: t\nexpect: {clean: true}\nstory: " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    with pytest.raises(CaseError, match="数据嵌套过深"):
        load_case(deep)


def test_failures_say_file_case_and_what_differed(tmp_path, capsys, examples_dir, sample_rules_dir):
    case = tmp_path / "wrong.yaml"
    case.write_text(f"title: 期望写错的案例\nstory: 用来测试失败时的提示。\ndossier_file: {examples_dir / 'clean.yaml'}\n"
                    "expect: {findings: [PLAN-CAUSE-001]}\n", encoding="utf-8")
    assert main(["test", "--cases", str(tmp_path), "--rules", str(sample_rules_dir)]) == 1
    out = capsys.readouterr().out
    assert f"✗ {case} → 期望写错的案例 → 户 HN-410727-0101-001：应出现 PLAN-CAUSE-001，实际没有" in out
    assert main(["test", "--cases", str(tmp_path), "--rules", str(sample_rules_dir), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] == 1 and data["rules_total"] == 10
