"""Runs at the scale the engine must take: 100,000 households, and 600 generated rules on 2,000 households (slow)."""

from __future__ import annotations

import json

import pytest

from dangka import synth
from dangka.cli import main

pytestmark = pytest.mark.slow


def _write_households(path, count, seed):
    with path.open("w", encoding="utf-8") as stream:
        for dossier in synth.generate(count, seed=seed, defect_rate=0.3):
            stream.write(json.dumps(dossier, ensure_ascii=False) + "\n")


def _every_household_accounted_for(report, code, count):
    """Each household is checked or (the generator's member-without-name defect) reported unreadable."""
    errors = report["errors"]
    assert report["summary"]["households"] + len(errors) == count
    assert all(error["category"] == "input.invalid" for error in errors)
    assert code == (1 if errors else 0)


def test_a_hundred_thousand_households(tmp_path, capsys):
    data = tmp_path / "households.jsonl"
    _write_households(data, 100_000, seed=100)
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(synth.generate_registry(seed=100, n=100_000, defect_rate=0.3), ensure_ascii=False),
                        encoding="utf-8")
    out = tmp_path / "report.json"
    code = main(["check", str(data), "--registry", str(registry), "--format", "json", "--out", str(out), "--jobs", "2"])
    report = json.loads(out.read_text(encoding="utf-8"))
    _every_household_accounted_for(report, code, 100_000)
    assert 0 < report["summary"]["with_findings"] < report["summary"]["households"]
    capsys.readouterr()


def test_six_hundred_generated_rules_on_two_thousand_households(tmp_path, capsys):
    from tests.test_compile import generated_rules

    rules = tmp_path / "generated.rules"
    rules.write_text(generated_rules(600), encoding="utf-8")
    data = tmp_path / "households.jsonl"
    _write_households(data, 2_000, seed=600)
    out = tmp_path / "report.json"
    code = main(["check", str(data), "--rules", str(rules), "--format", "json", "--out", str(out), "--jobs", "2"])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["knowledge"]["rules"] == 600
    _every_household_accounted_for(report, code, 2_000)
    capsys.readouterr()
