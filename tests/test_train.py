"""Training mode: scripted grading of one answer, and the interactive session driven through stdin."""

from __future__ import annotations

import io
import json
import sys

from dangka.cli import main


def _grade(capsys, examples_dir, cause, measures):
    code = main(["train", "--case", str(examples_dir / "cooking.yaml"), "--answer-cause", cause,
                 "--answer-measures", measures, "--format", "json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_wrong_answer_to_the_field_case_scores_below_the_right_one(capsys, examples_dir):
    wrong = _grade(capsys, examples_dir, "缺技术", "技能培训,转移就业")
    right = _grade(capsys, examples_dir, "因病", "健康扶贫,低保兜底")
    assert wrong["score"] < right["score"]
    rules = {mistake["rule"] for mistake in wrong["mistakes"]}
    assert any(rule and rule.startswith("PLAN-CAUSE") for rule in rules)
    assert any(rule and rule.startswith("PLAN-CAPACITY") for rule in rules)
    assert all(set(mistake) >= {"what", "why", "rule"} for mistake in wrong["mistakes"])
    assert {"健康扶贫", "低保兜底"} <= {item["measure"] for item in right["recommended"]}


def test_interactive_session_through_standard_input(capsys, examples_dir, monkeypatch):
    # a bad word, then the cause by number is impossible to know here, so by word; measures by word
    monkeypatch.setattr(sys, "stdin", io.StringIO("不知道\n因病\n健康扶贫，低保兜底\n"))
    assert main(["train", "--case", str(examples_dir / "cooking.yaml")]) == 0
    out = capsys.readouterr().out
    assert "张德福" in out and "家庭成员" in out
    assert "不认识：不知道" in out
    assert "得分：" in out and "平均得分" in out
    assert "410727194411030515" not in out  # identity numbers stay masked


def test_interactive_session_ends_cleanly_at_end_of_input(capsys, examples_dir, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["train", "--case", str(examples_dir / "cooking.yaml")]) == 0
    assert "主要致贫原因" in capsys.readouterr().out


def test_unknown_case_is_a_usage_error(capsys):
    assert main(["train", "--case", "no-such-case"]) == 2
    assert "找不到案例" in capsys.readouterr().err
