"""README.md's promises to its users: commands, options, the tour, reports, masking, the cache, conversion."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from dangka.cli import main
from test_contract_dossier_spec import check_json, dump_jsonl

IDENTITY, PHONE, CARD_PHONE = "410727194411030515", "13637370022", "13803731101"


def readme(repo_root) -> str:
    return (repo_root / "README.md").read_text(encoding="utf-8")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---- 命令: every command of the table, with the options it names --------------------------------

COMMAND_OPTIONS = {
    "check": ["--registry", "--format", "text", "json", "html", "xlsx", "--out", "--jobs", "--cache", "--engine",
              "local", "dask", "--scheduler", "--no-mask"],
    "explain": ["--rule", "--format"],
    "lint": [],
    "test": ["--cases"],
    "train": ["--topic", "--case"],
    "fmt": ["--check"],
    "graph": [],
    "who": [],
    "helper": [],
    "convert": ["--out"],
}


@pytest.mark.parametrize("command", COMMAND_OPTIONS)
def test_each_command_of_the_table_exists_with_its_options(capsys, command):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    usage = capsys.readouterr().out
    assert all(option in usage for option in COMMAND_OPTIONS[command]), usage


def test_lint_without_paths_checks_the_shipped_rules_and_finds_nothing(capsys):
    code, out, err = run(capsys, "lint")
    assert code == 0, out + err


# ---- 走一遍: the tour's output, rule and explanation --------------------------------------------


def _block_after(text: str, marker: str) -> list[str]:
    block = text.split(marker, 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines()[1:] if line.strip()]


def test_the_tours_finding_is_what_check_prints_for_cooking(capsys, repo_root, examples_dir):
    shown = _block_after(readme(repo_root), "上面的核查对 `cooking.yaml` 报出：")
    code, out, _ = run(capsys, "check", str(examples_dir), "--jobs", "1")
    assert code == 0
    lines = [line.rstrip() for line in out.splitlines()]
    start = next(number for number, line in enumerate(lines) if line.strip() == shown[0].strip())
    for expected, printed in zip(shown, lines[start:]):
        for piece in expected.strip().split("…"):  # the README elides with …
            assert piece.strip() in printed, (expected, printed)


def test_the_rule_the_tour_opens_is_the_one_written_there(repo_root):
    shown = _block_after(readme(repo_root), "**打开说话的那条规则。**")
    written = (repo_root / "knowledge" / "rules" / "plan.rules").read_text(encoding="utf-8").splitlines()
    start = written.index(shown[0])
    for expected, actual in zip(shown, written[start:]):
        assert actual.startswith(expected.split("…")[0]), (expected, actual)


def test_the_rule_language_manual_quotes_the_real_rule(repo_root):
    manual = (repo_root / "docs" / "rule-language.md").read_text(encoding="utf-8")
    shown = manual.split("```", 2)[1].strip("\n").splitlines()
    written = (repo_root / "knowledge" / "rules" / "plan.rules").read_text(encoding="utf-8").splitlines()
    start = written.index(shown[0])
    assert written[start: start + len(shown)] == shown


def test_explain_lists_each_condition_with_the_value_read_and_its_result(capsys, examples_dir, tmp_path):
    code, out, _ = run(capsys, "explain", str(examples_dir / "cooking.yaml"), "--rule", "PLAN-CAUSE-001")
    assert code == 0 and "PLAN-CAUSE-001" in out
    assert re.search(r"成立：户\.主要致贫原因 = 缺技术.*缺技术", out)
    cooking = yaml.safe_load((examples_dir / "cooking.yaml").read_text(encoding="utf-8"))
    del cooking["primary_cause"]
    (tmp_path / "cooking.json").write_text(json.dumps(cooking, ensure_ascii=False, default=str), encoding="utf-8")
    code, out, _ = run(capsys, "explain", str(tmp_path / "cooking.json"), "--rule", "PLAN-CAUSE-001")
    assert code == 0
    unknown = out.split("无法判断：户.主要致贫原因 = 缺技术", 1)
    assert len(unknown) == 2 and "primary_cause" in unknown[1].split("\n")[1]  # names what is missing


def test_changing_a_rules_severity_changes_the_findings(tmp_path, repo_root, examples_dir):
    rules = tmp_path / "rules"
    shutil.copytree(repo_root / "knowledge" / "rules", rules)
    plan = rules / "plan.rules"
    text = plan.read_text(encoding="utf-8")
    head = text.index("规则 PLAN-CAPACITY-001")
    severity = text.index("严重程度 高", head)
    plan.write_text(text[:severity] + "严重程度 中" + text[severity + len("严重程度 高"):], encoding="utf-8")
    assert main(["lint", str(rules)]) == 0
    _, report = check_json(tmp_path / "out.json", str(examples_dir), "--rules", str(rules))
    severities = {finding["severity"] for household in report["households"] for finding in household["findings"]
                  if finding["rule"] == "PLAN-CAPACITY-001"}
    assert severities == {"medium"}


# ---- exit status and reports with dossiers that cannot be read ------------------------------------


@pytest.fixture
def folder_with_a_broken_dossier(tmp_path, examples_dir):
    folder = tmp_path / "village"
    shutil.copytree(examples_dir, folder)
    (folder / "broken.yaml").write_text("id: X-1\nregion: {county: 封丘县\n", encoding="utf-8")
    return folder


def test_the_text_report_lists_unreadable_dossiers_with_their_category(capsys, folder_with_a_broken_dossier):
    code, out, _ = run(capsys, "check", str(folder_with_a_broken_dossier), "--jobs", "1")
    assert code == 1
    section = out.split("未能核查的档案", 1)[1]
    assert "broken.yaml" in section and "档案无法读取" in section


def test_the_html_report_lists_unreadable_dossiers_with_their_category(capsys, folder_with_a_broken_dossier, tmp_path):
    out = tmp_path / "report.html"
    assert main(["check", str(folder_with_a_broken_dossier), "--format", "html", "--out", str(out), "--jobs", "1"]) == 1
    page = re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8"))
    assert "未能核查的档案" in page and "broken.yaml" in page and "档案无法读取" in page


def test_the_workbook_lists_unreadable_dossiers_with_their_category(capsys, folder_with_a_broken_dossier, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "report.xlsx"
    assert main(["check", str(folder_with_a_broken_dossier), "--format", "xlsx", "--out", str(out), "--jobs", "1"]) == 1
    rows = [[str(cell.value) for cell in row] for row in load_workbook(out)["未能核查的档案"].iter_rows()]
    assert any(any("broken.yaml" in value for value in row) and "档案无法读取" in row for row in rows), rows


# ---- masking: identity and phone numbers hidden unless --no-mask -----------------------------------


def test_the_json_report_masks_identity_and_phone_numbers_by_default(capsys, examples_dir):
    code, out, _ = run(capsys, "check", str(examples_dir), "--format", "json", "--jobs", "1")
    assert code == 0 and all(number not in out for number in (IDENTITY, PHONE, CARD_PHONE))
    assert "410727" in out  # masked, not dropped


def test_explain_masks_identity_and_phone_numbers_unless_asked(capsys, examples_dir):
    dossier = str(examples_dir / "cooking.yaml")
    _, masked, _ = run(capsys, "explain", dossier, "--all", "--registry", str(examples_dir / "registry.yaml"))
    _, shown, _ = run(capsys, "explain", dossier, "--all", "--no-mask", "--registry",
                      str(examples_dir / "registry.yaml"))
    assert all(number not in masked for number in (IDENTITY, PHONE, CARD_PHONE))
    assert IDENTITY in shown or PHONE in shown


# ---- the cache: a household is taken from it only when its dossier, the knowledge and the load are unchanged -----


def _households_of_one_helper(examples_dir, count: int) -> list[dict]:
    clean = yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))
    households = []
    for number in range(count):
        household = copy.deepcopy(clean)
        household["id"] = f"CACHE-{number}"
        households.append(household)
    return households


def _cached_check(tmp_path, folder) -> dict[str, set[str]]:
    _, report = check_json(tmp_path / "out.json", str(folder), "--cache", str(tmp_path / "cache"))
    return {household["id"]: {finding["category"] for finding in household["findings"]}
            for household in report["households"]}


def test_a_cached_household_is_checked_again_when_its_helpers_load_changes(tmp_path, examples_dir):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(examples_dir / "registry.yaml", folder / "registry.yaml")
    dump_jsonl(folder / "a.jsonl", _households_of_one_helper(examples_dir, 5))
    assert all(categories == set() for categories in _cached_check(tmp_path, folder).values())
    dump_jsonl(folder / "b.jsonl", [dict(_households_of_one_helper(examples_dir, 1)[0], id="CACHE-NEW")])
    result = _cached_check(tmp_path, folder)
    assert len(result) == 6 and all("responsibility.overload" in categories for categories in result.values())


def test_a_cached_household_is_checked_again_when_the_registry_changes(tmp_path, examples_dir):
    folder = tmp_path / "data"
    folder.mkdir()
    registry = yaml.safe_load((examples_dir / "registry.yaml").read_text(encoding="utf-8"))
    (folder / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    dump_jsonl(folder / "a.jsonl", _households_of_one_helper(examples_dir, 2))
    assert all(categories == set() for categories in _cached_check(tmp_path, folder).values())
    del registry["villages"][0]["first_secretary"]
    (folder / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    assert all("responsibility.missing" in categories for categories in _cached_check(tmp_path, folder).values())


# ---- convert: YAML, JSON Lines and workbooks hold the same dossiers ------------------------------------


def _findings(report: dict) -> dict[str, list[tuple[str, str]]]:
    return {household["id"]: sorted((finding["rule"], finding["message"]) for finding in household["findings"])
            for household in report["households"]}


def test_dossiers_converted_to_json_lines_and_back_to_yaml_check_the_same(capsys, tmp_path, examples_dir):
    registry = str(examples_dir / "registry.yaml")
    lines, back = tmp_path / "households.jsonl", tmp_path / "households.yaml"
    assert main(["convert", str(examples_dir), "--out", str(lines)]) == 0
    assert main(["convert", str(lines), "--out", str(back)]) == 0
    capsys.readouterr()
    _, original = check_json(tmp_path / "original.json", str(examples_dir))
    _, from_lines = check_json(tmp_path / "lines.json", str(lines), "--registry", registry)
    _, from_yaml = check_json(tmp_path / "yaml.json", str(back), "--registry", registry)
    assert _findings(from_lines) == _findings(original) == _findings(from_yaml)


# ---- test: the case library reports cases that differ and rules no case covers --------------------------


def test_dangka_test_reports_a_case_that_differs_and_the_rules_no_case_covers(capsys, tmp_path, repo_root):
    cases = tmp_path / "cases"
    (cases / "forms").mkdir(parents=True)
    shutil.copytree(repo_root / "cases" / "examples", cases / "examples")
    case = (repo_root / "cases" / "forms" / "id-check-digit.yaml").read_text(encoding="utf-8")
    assert "findings: [FORM-ID-001]" in case
    (cases / "forms" / "id-check-digit.yaml").write_text(case.replace("findings: [FORM-ID-001]",
                                                                      "findings: [FORM-PHONE-001]"), encoding="utf-8")
    code, out, err = run(capsys, "test", "--cases", str(cases))
    assert code != 0
    assert "id-check-digit.yaml" in out + err and "FORM-PHONE-001" in out + err
    assert "PLAN-CAPACITY-001" in out + err  # a rule no case of this library fires


# ---- --out is never one of the run's inputs, the shipped rules and policies included -------------------


@pytest.fixture
def installed_copy(tmp_path, repo_root):
    """The package as installed (dangka with its dsl, engine and shipped knowledge) copied to a folder of its own,
    so that a run may write over its shipped files without touching the checkout."""
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(repo_root / "dangka", site / "dangka", ignore=ignore)
    for part in ("dsl", "engine", "knowledge"):
        shutil.copytree(repo_root / part, site / "dangka" / part, ignore=ignore)
    found = _in_copy(site, "-c", "import dangka.policy, dangka.engine; "
                                 "print(dangka.policy.default_directory()); print(dangka.engine.__file__)")
    assert found.stdout.split() == [str(site / "dangka" / "knowledge" / "policies"),
                                    str(site / "dangka" / "engine" / "__init__.py")], found.stderr
    return site


def _in_copy(site, *args: str):
    return subprocess.run([sys.executable, *args], cwd=site, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(site)})


@pytest.mark.parametrize("shipped", ["knowledge/policies/grading.yaml", "knowledge/rules/plan.rules"])
def test_an_out_that_is_a_shipped_rule_or_policy_file_is_refused(installed_copy, examples_dir, shipped):
    target = installed_copy / "dangka" / shipped
    before = target.read_bytes()
    result = _in_copy(installed_copy, "-c", "import sys; from dangka.cli import main; sys.exit(main(sys.argv[1:]))",
                      "check", str(examples_dir), "--jobs", "1", "--out", str(target))
    assert target.read_bytes() == before
    assert result.returncode == 2
