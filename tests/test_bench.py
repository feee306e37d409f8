"""benchmarks/bench.py's children run: the durable_rules floor replays the engine's work; the rules benchmark compiles."""

from __future__ import annotations

import json
import subprocess
import sys

from dangka import synth


def test_the_engine_floor_replays_every_match_of_the_check(repo_root, tmp_path):
    households, registry = tmp_path / "households.jsonl", tmp_path / "registry.json"
    dossiers = list(synth.generate(40, seed=3, defect_rate=1))
    households.write_text("".join(json.dumps(dossier, ensure_ascii=False) + "\n" for dossier in dossiers),
                          encoding="utf-8")
    registry.write_text(json.dumps(synth.generate_registry(3, n=40, defect_rate=1), ensure_ascii=False),
                        encoding="utf-8")
    done = subprocess.run([sys.executable, str(repo_root / "benchmarks" / "bench.py"), "_engine", str(households),
                           str(registry)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    # the child refuses to report a floor whose replay made other matches than the check it recorded
    assert figures["households"] == 40
    assert figures["matches"] >= 40, "every generated household has a defect, so rules must have fired"
    assert figures["facts_per_household"] > 20 and figures["seconds"] > 0


def test_the_rules_benchmark_compiles_generated_rules_and_checks(repo_root, tmp_path):
    households = tmp_path / "households.jsonl"
    households.write_text("".join(json.dumps(dossier, ensure_ascii=False) + "\n"
                                  for dossier in synth.generate(5, seed=3)), encoding="utf-8")
    done = subprocess.run([sys.executable, str(repo_root / "benchmarks" / "bench.py"), "_rules", "12", str(households),
                           "5"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["rules"] == 12 and figures["households"] == 5 and figures["rulesets"] >= 1
