"""The README's tour stays true: the rule it opens is where it says."""

from __future__ import annotations

import re

from dangka.engine.knowledge import Knowledge


def test_the_rule_the_tour_opens_is_at_the_line_it_names(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    rule = Knowledge.load().rule("PLAN-CAPACITY-001").rule
    assert f"plan.rules:{rule.span.line}" in readme
    assert f"`knowledge/rules/plan.rules` 第 {rule.span.line} 行" in readme


def test_quick_start_has_exactly_two_commands(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## 快速开始", 1)[1].split("##", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert commands == ["pip install . && dangka check cases/examples", "pip install -e '.[dev]' && python -m pytest"]


def test_ci_runs_the_readme_test_command(repo_root):
    script = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q -e '.[dev]'" in script and "python -m pytest" in script
