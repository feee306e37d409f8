"""shared/spec/findings.md as its readers use it: the JSON document of `dangka check`, field by field."""

from __future__ import annotations

import copy
import json
import re
import shutil

import pytest
import yaml

from dangka.contract import ENTITIES
from dangka.cli import main
from test_contract_dossier_spec import check_json, registry_for, with_check_digit

CATEGORIES = {
    "input.invalid", "form.missing", "form.invalid", "form.inconsistent", "procedure.order",
    "procedure.record_mismatch", "procedure.publicity_mismatch", "eligibility.excluded", "plan.cause_mismatch",
    "plan.measure_mismatch", "plan.capacity_mismatch", "plan.insufficient", "responsibility.missing",
    "responsibility.overload", "responsibility.mismatch",
}
# The household keys of dossier.md: an evidence path "in the dossier" starts with one of them.
HOUSEHOLD_KEYS = {"id", "region", "year", "attribute", "standard", "status", "identified_year", "exit_year",
                  "primary_cause", "other_causes", "phone", "members", "income", "conditions", "assets", "measures",
                  "helpers", "forms", "procedure"}
POLICY_FILES = {"parameters.yaml", "causes.yaml", "measures.yaml", "exclusions.yaml", "procedure.yaml",
                "dictionary.yaml", "grading.yaml"}


def _exited(dossier: dict) -> None:
    dossier.update(status="已脱贫", exit_year=2017)
    dossier["forms"]["survey"]["exit_year"] = 2017


def _exited_with_unsafe_house(dossier: dict) -> None:
    _exited(dossier)
    dossier["income"].update(wage=12000, per_capita_net=4600)
    dossier["conditions"].update(housing_safe=False, dangerous_house_level="D级")


def _seven_year_old_in_college(dossier: dict) -> None:
    dossier["members"][2].update(id_number=with_check_digit("41072720100315031"), education="大专及以上",
                                 in_school="小学")


def _resolution(dossier: dict, cites: dict | None = None, **minutes) -> None:
    dossier["procedure"]["meetings"][3].update(minutes)
    dossier["procedure"]["publicity"][0]["cites"].update(cites if cites is not None else
                                                        {key: minutes[key] for key in ("attended", "signed_in",
                                                                                       "votes_for") if key in minutes})


def _without_card_helper(dossier: dict) -> None:
    dossier["forms"]["card"]["contacts"] = [contact for contact in dossier["forms"]["card"]["contacts"]
                                            if contact["role"] != "帮扶责任人"]


def _microcredit_for_the_elderly(dossier: dict) -> None:
    dossier["measures"].append({"kind": "扶贫小额信贷", "content": "5 万元贴息贷款", "beneficiary": "张德福", "year": 2017})


# The field examples of findings.md's category table: (name, base example, change, category, an evidence path
# a finding of that category must show, or None where the example names no field).
EXAMPLES = [
    ("verifier-opinion-blank", "clean", lambda d: d["forms"]["survey"].update(verifier_opinion=""), "form.missing",
     "forms.survey.verifier_opinion"),
    ("reviewer-unsigned", "clean", lambda d: d["forms"]["survey"]["signatures"].update(reviewer=False),
     "form.missing", "forms.survey.signatures.reviewer"),
    ("id-check-digit", "clean", lambda d: d["members"][1].update(id_number="410727196709020221"), "form.invalid",
     "members[1]"),
    ("exit-before-identified", "clean", lambda d: (_exited(d), d.update(exit_year=2016)), "form.invalid", "exit_year"),
    ("phone-ten-digits", "clean", lambda d: d.update(phone="1363737001"), "form.invalid", "phone"),
    ("transfer-total-not-its-parts", "clean", lambda d: d["income"].update(transfer_total=500), "form.inconsistent",
     "income.transfer_total"),
    ("per-capita-miscomputed", "clean", lambda d: d["income"].update(per_capita_net=3000), "form.inconsistent",
     "income.per_capita_net"),
    ("survey-year-differs", "clean", lambda d: d["forms"]["survey"].update(year=2016), "form.inconsistent",
     "forms.survey.year"),
    ("seven-year-old-in-college", "clean", _seven_year_old_in_college, "form.inconsistent", "members[2].education"),
    ("application-after-proposal", "clean", lambda d: d["procedure"]["application"].update(date="2017-05-13"),
     "procedure.order", "procedure.application.date"),
    ("notice-too-short", "clean", lambda d: d["procedure"]["publicity"][0].update(end="2017-05-21"),
     "procedure.order", "procedure.publicity[0]"),
    ("notice-cites-35-minutes-32", "clean",
     lambda d: _resolution(d, {"attended": 35, "signed_in": 32, "votes_for": 30}, attended=32, signed_in=32,
                           votes_for=30, votes_against=2),
     "procedure.record_mismatch", "procedure.publicity[0].cites.attended"),
    ("signed-in-over-attended", "clean", lambda d: _resolution(d, signed_in=34), "procedure.record_mismatch",
     "procedure.meetings[3].signed_in"),
    ("votes-over-attended", "clean", lambda d: d["procedure"]["meetings"][1].update(votes_for=10),
     "procedure.record_mismatch", "procedure.meetings[1].votes_for"),
    ("no-quorum", "clean", lambda d: _resolution(d, attended=20, signed_in=20, votes_for=18, votes_against=2),
     "procedure.record_mismatch", "procedure.meetings[3].attended"),
    ("size-3-then-4", "clean", lambda d: d["procedure"]["announcement"]["entry"].update(household_size=4),
     "procedure.publicity_mismatch", "procedure.announcement.entry.household_size"),
    ("car-and-town-flat", "clean", lambda d: d["assets"].update(car=True, town_house=True), "eligibility.excluded",
     "assets.car"),
    ("survey-no-but-public-employee", "clean", lambda d: d["assets"].update(public_employee=True),
     "eligibility.excluded", "forms.survey.excluded_situation"),
    ("skills-for-elderly-sick-couple", "cooking", lambda d: None, "plan.cause_mismatch", "primary_cause"),
    ("sick-without-health-measure", "clean", lambda d: d["measures"].pop(0), "plan.measure_mismatch", "primary_cause"),
    ("cooking-training-at-72", "cooking", lambda d: None, "plan.capacity_mismatch", "measures[0].kind"),
    ("microcredit-for-the-elderly", "cooking", _microcredit_for_the_elderly, "plan.capacity_mismatch",
     "measures[2].kind"),
    ("exited-below-the-line", "clean", _exited, "plan.insufficient", "income.per_capita_net"),
    ("exited-with-unsafe-house", "clean", _exited_with_unsafe_house, "plan.insufficient", None),
    ("no-helper", "clean", lambda d: d.update(helpers=[]), "responsibility.missing", None),
    ("village-without-first-secretary", "clean", lambda d: d["region"].update(village="西街村"),
     "responsibility.missing", None),
    ("card-contact-missing", "clean", _without_card_helper, "responsibility.missing", None),
    ("helper-with-14-households", "clean", lambda d: None, "responsibility.overload", "helpers[0]"),
    ("card-leader-phone-differs", "clean", lambda d: d["forms"]["card"]["contacts"][0].update(phone="13903739999"),
     "responsibility.mismatch", "forms.card.contacts[0]"),
    ("card-secretary-name-differs", "clean", lambda d: d["forms"]["card"]["contacts"][1].update(name="周振国"),
     "responsibility.mismatch", "forms.card.contacts[1]"),
    ("card-phone-differs", "clean", lambda d: d["forms"]["card"]["contacts"][2].update(phone="13803739999"),
     "responsibility.mismatch", "forms.card.contacts[2].phone"),
]
OVERLOADED = 14
BROKEN = "households:\n  - id: BROKEN-1\n    region: {county: 封丘县\n"  # line 3 opens a mapping that never closes


@pytest.fixture(scope="module")
def run(tmp_path_factory, examples_dir):
    """Every example of EXAMPLES (and a file that cannot be read) checked in one run, unmasked."""
    folder = tmp_path_factory.mktemp("examples")
    bases = {name: yaml.safe_load((examples_dir / f"{name}.yaml").read_text(encoding="utf-8"))
             for name in ("clean", "cooking")}
    dossiers = []
    for number, (name, base, change, _, _) in enumerate(EXAMPLES):
        copies = OVERLOADED if name == "helper-with-14-households" else 1
        for index in range(copies):
            dossier = copy.deepcopy(bases[base])
            dossier["id"] = f"F-{name}" + (f"-{index}" if copies > 1 else "")
            dossier["helpers"] = ["H-MANY"] if copies > 1 else [f"H-F{number}"]
            if base == "cooking":  # the cooking card names 赵文博; each example has its own helper like him
                dossier["forms"]["card"]["contacts"][2].update(name="孙丽华", position="副科长", phone="13803731102")
            change(dossier)
            dossiers.append(json.loads(json.dumps(dossier, ensure_ascii=False, default=str)))
    (folder / "households.jsonl").write_text(
        "".join(json.dumps(dossier, ensure_ascii=False) + "\n" for dossier in dossiers), encoding="utf-8")
    (folder / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    west = {"county": "封丘县", "township": "城关镇", "village": "西街村",
            "group_leader": {"name": "吴建军", "position": "城关镇副镇长", "phone": "13903731202"}}
    registry = registry_for(examples_dir, [f"H-F{number}" for number in range(len(EXAMPLES))] + ["H-MANY"], [west])
    (folder / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    code, report = check_json(folder.parent / "report.json", str(folder), "--no-mask")
    return code, report, {dossier["id"]: dossier for dossier in dossiers}, folder


def households(run) -> list[dict]:
    return run[1]["households"]


def all_findings(run):
    for household in households(run):
        for finding in household["findings"]:
            yield household, finding


def household_of(run, dossier_id: str) -> dict:
    return next(household for household in households(run) if household["id"] == dossier_id)


@pytest.mark.parametrize("name, base, change, category, path", EXAMPLES, ids=[row[0] for row in EXAMPLES])
def test_each_example_of_the_category_table_gets_its_category(run, name, base, change, category, path):
    ids = [f"F-{name}-{index}" for index in range(OVERLOADED)] if name == "helper-with-14-households" else [f"F-{name}"]
    for dossier_id in ids:
        findings = [finding for finding in household_of(run, dossier_id)["findings"] if finding["category"] == category]
        assert findings, f"{dossier_id}: no {category}"
        if path:
            assert any(item["path"].startswith(path) for finding in findings for item in finding["evidence"]), findings


def test_the_examples_meet_every_category_a_rule_can_choose(run):
    assert {finding["category"] for _, finding in all_findings(run)} == CATEGORIES - {"input.invalid"}


# ---- the document's shape -------------------------------------------------------------------------


def test_the_document_has_its_top_level_fields(run):
    code, report, _, _ = run
    assert code == 1  # one input was invalid: the run completed
    assert report["version"] == 1
    knowledge = report["knowledge"]
    assert isinstance(knowledge["rules"], int) and knowledge["rules"] > 0
    assert set(knowledge["policies"]) >= POLICY_FILES and all(isinstance(name, str) for name in knowledge["policies"])
    assert re.fullmatch(r"[0-9a-f]{64}", knowledge["digest"])
    assert isinstance(report["households"], list) and isinstance(report["errors"], list)


def test_each_household_has_id_region_source_findings_and_recommendations(run):
    _, _, dossiers, folder = run
    for household in households(run):
        assert set(household) >= {"id", "region", "source", "findings", "recommendations"}
        assert household["region"] == dossiers[household["id"]]["region"]
        assert household["source"] == str(folder / "households.jsonl")
        for recommendation in household["recommendations"]:
            assert isinstance(recommendation["measure"], str) and isinstance(recommendation["because"], str)


def test_each_finding_has_every_field_with_its_type(run, repo_root):
    catalogue = set(yaml.safe_load((repo_root / "knowledge" / "policies" / "measures.yaml")
                                   .read_text(encoding="utf-8"))["rows"])
    for _, finding in all_findings(run):
        assert set(finding) >= {"rule", "category", "severity", "title", "message", "evidence", "basis", "source",
                                "recommend"}
        assert finding["category"] in CATEGORIES - {"input.invalid"}
        assert finding["severity"] in {"high", "medium", "low"}
        assert all(isinstance(finding[key], str) and finding[key] for key in ("rule", "title", "message", "basis"))
        assert finding["evidence"] and all(set(item) == {"path", "value"} for item in finding["evidence"])
        assert set(finding["recommend"]) <= catalogue


def test_each_findings_source_is_the_file_and_line_of_its_rule(run, repo_root):
    for _, finding in all_findings(run):
        path, line = finding["source"].rsplit(":", 1)
        text = (repo_root / path).read_text(encoding="utf-8").splitlines()
        assert re.match(rf'\s*(规则|rule)\s+{re.escape(finding["rule"])}\s', text[int(line) - 1]), finding["source"]


def resolve(node: object, path: str) -> tuple[bool, object]:
    """The dossier's value at an evidence path such as members[0].age, if the dossier has that path."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            if not isinstance(node, list) or int(part[1:-1]) >= len(node):
                return False, None
            node = node[int(part[1:-1])]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False, None
    return True, node


def test_evidence_found_in_the_dossier_has_the_dossiers_value(run):
    _, _, dossiers, _ = run
    compared = 0
    for household, finding in all_findings(run):
        for item in finding["evidence"]:
            found, value = resolve(dossiers[household["id"]], item["path"])
            if found:
                compared += 1
                blank = isinstance(value, str) and not value.strip()  # a blank field is read as not filled in
                assert item["value"] == (None if blank else value), (household["id"], finding["rule"], item)
    assert compared > 50


def test_every_evidence_path_is_a_dossier_path_a_policy_value_a_computed_value_or_a_conclusion(run):
    """findings.md: paths in the dossier; policy.…; a computed household value by its field name; derived.<结论>."""
    computed = {field_.key for field_ in ENTITIES["household"].fields if field_.derived}
    outside = {(finding["rule"], item["path"]) for _, finding in all_findings(run) for item in finding["evidence"]
               if re.split(r"[.\[]", item["path"], maxsplit=1)[0] not in HOUSEHOLD_KEYS | {"policy", "derived"}
               and item["path"] not in computed}
    assert outside == set()


def test_a_conclusion_that_holds_is_followed_by_the_facts_it_was_drawn_from(run):
    """findings.md: derived.<结论>, followed, when it holds, by the facts it was drawn from."""
    seen = 0
    for _, finding in all_findings(run):
        paths = [item["path"] for item in finding["evidence"]]
        for position, item in enumerate(finding["evidence"]):
            if item["path"].startswith("derived.") and item["value"] is True:
                seen += 1
                grounds = [path for path in paths[position + 1:] if not path.startswith(("derived.", "policy."))]
                assert grounds, (finding["rule"], paths)
    assert seen > 0, "the run must have a finding that reads a conclusion"


def test_the_summary_counts_what_the_document_holds(run):
    _, report, _, _ = run
    summary = report["summary"]
    assert summary["households"] == len(report["households"])
    assert summary["with_findings"] == sum(1 for household in report["households"] if household["findings"])
    tally: dict[str, int] = {}
    for _, finding in all_findings(run):
        tally[finding["category"]] = tally.get(finding["category"], 0) + 1
    by_category = {category: count for category, count in summary["by_category"].items() if count}
    assert by_category.pop("input.invalid", len(report["errors"])) == len(report["errors"])
    assert by_category == tally


def test_an_unreadable_dossier_is_an_input_invalid_error_with_file_and_line(run):
    _, report, dossiers, folder = run
    (error,) = report["errors"]
    assert error["source"] == str(folder / "broken.yaml") and error["category"] == "input.invalid"
    assert error["line"] == 3 and error["message"]
    assert len(report["households"]) == len(dossiers)


# ---- knowledge: the digest is of the rule and policy files ------------------------------------------


def test_the_digest_follows_the_rule_and_policy_files_not_where_they_are(tmp_path, examples_dir, repo_root):
    rules, policies = tmp_path / "rules", tmp_path / "policies"
    shutil.copytree(repo_root / "knowledge" / "rules", rules)
    shutil.copytree(repo_root / "knowledge" / "policies", policies)

    def digest(*args: str) -> str:
        return check_json(tmp_path / "out.json", str(examples_dir), *args)[1]["knowledge"]["digest"]

    shipped = digest()
    assert digest("--rules", str(rules), "--policies", str(policies)) == shipped
    with (rules / "plan.rules").open("a", encoding="utf-8") as stream:
        stream.write("\n# 改过\n")
    changed_rules = digest("--rules", str(rules))
    with (policies / "causes.yaml").open("a", encoding="utf-8") as stream:
        stream.write("\n# 改过\n")
    changed_policies = digest("--policies", str(policies))
    assert len({shipped, changed_rules, changed_policies}) == 3


def test_knowledge_counts_the_rules_of_the_run(tmp_path, examples_dir):
    rules = tmp_path / "three.rules"
    rules.write_text("".join(f'规则 COUNT-{number} "第 {number} 条"\n  类别 form.missing\n  严重程度 低\n  依据 "b"\n'
                             f"  如果 户.年度 = {2000 + number}\n\n" for number in range(3)), encoding="utf-8")
    assert check_json(tmp_path / "out.json", str(examples_dir), "--rules", str(rules))[1]["knowledge"]["rules"] == 3


def test_the_run_writes_to_standard_output_without_out(capsys, examples_dir):
    assert main(["check", str(examples_dir), "--format", "json", "--jobs", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["households"] == 2
