"""The knowledge base as loaded for a run: rule files parsed, checked and compiled, policies read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from dangka.dsl import ast
from dangka.dsl.check import CheckedRules, check_rules, strata
from dangka.dsl.parse import RuleError, RuleErrors, read_rule_file
from dangka.dsl.transform import parse_rules
from dangka.engine.compile import CompiledRule, CompileError, RulesetPlan, SlotNames, compile_rule, plan_rulesets
from dangka.errors import Location
from dangka.i18n import tr
from dangka.policy import Policies


def default_rules_dir() -> Path:
    return Path(str(resources.files("dangka.knowledge").joinpath("rules")))


def rule_files(paths: list[str | Path] | None) -> list[Path]:
    """The .rules files named, or found below the folders named (default: the shipped rules)."""
    roots = [Path(p) for p in paths] if paths else [default_rules_dir()]
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            inside = sorted(root.rglob("*.rules"))
            if not inside:
                # Checking with no rules would find nothing and look like a clean bill of health.
                raise RuleError("file.none", tr(f"文件夹 {root} 中没有规则文件（.rules）", f"no rule files (.rules) in the folder {root}"),
                                Location(str(root)))
            found.extend(inside)
        else:
            found.append(root)
    return found


def display_path(path: Path) -> str:
    """How a rule file is named in findings: knowledge/rules/x.rules for shipped ones."""
    shipped = default_rules_dir()
    try:
        return str(Path("knowledge") / "rules" / path.resolve().relative_to(shipped.resolve()))
    except ValueError:
        pass
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_and_check(paths: list[Path], policies: Policies) -> tuple[list[ast.RuleFile], CheckedRules, list[RuleError]]:
    """Every error of every file, sorted by place; rules bound where they could be."""
    files: list[ast.RuleFile] = []
    errors: list[RuleError] = []
    for path in paths:
        name = display_path(path)
        try:
            text = read_rule_file(str(path))
        except RuleError as error:
            error.location = Location(name, error.location.line, error.location.col)
            errors.append(error)
            continue
        rule_file, syntax_errors = parse_rules(text, name)
        files.append(rule_file)
        errors.extend(syntax_errors)
    checked = check_rules(files, policies)
    errors.extend(checked.errors)
    return files, checked, errors


@dataclass
class Knowledge:
    """Compiled rules with their metadata, the policies, and the digest naming this knowledge."""

    rules: list[CompiledRule]
    plans: list[RulesetPlan]
    policies: Policies
    files: list[ast.RuleFile]
    digest: str
    sources: dict[str, str]  # display path → text, for explanations that quote conditions

    @classmethod
    def load(cls, rules: list[str | Path] | None = None, policies_dir: str | Path | None = None) -> "Knowledge":
        """Parse, check and compile; raises RuleErrors listing every problem, sorted by place."""
        policies = Policies.load(policies_dir)
        paths = rule_files(rules)
        missing = [path for path in paths if not path.exists()]
        if missing:
            raise RuleErrors([RuleError("file.missing", tr("找不到规则文件或文件夹", "no such rule file or folder"),
                                        Location(str(path))) for path in missing])
        files, checked, errors = parse_and_check(paths, policies)
        compiled: list[CompiledRule] = []
        if not errors:
            compiled, errors = _compile_all(checked)
        plans: list[RulesetPlan] = []
        if not errors:
            try:
                plans = plan_rulesets(compiled)
            except CompileError as error:
                errors.append(_compile_rule_error(error, files))
        if errors:
            raise RuleErrors(errors)
        digest = hashlib.sha256()
        for path in paths:
            digest.update(path.read_bytes())
        digest.update(policies.digest().encode())
        return cls(compiled, plans, policies, files, digest.hexdigest(),
                   {rule_file.path: rule_file.source for rule_file in files})

    @cached_property
    def derivations(self) -> dict[str, tuple[ast.Rule, ...]]:
        """Each conclusion (推出的事实) → the rules that conclude it, for the evidence of rules that read it."""
        found: dict[str, list[ast.Rule]] = {}
        for compiled in self.rules:
            if compiled.rule.conclude:
                found.setdefault(compiled.rule.conclude, []).append(compiled.rule)
        return {conclusion: tuple(rules) for conclusion, rules in found.items()}

    def rule(self, rule_id: str) -> CompiledRule | None:
        return next((compiled for compiled in self.rules if compiled.rule.id == rule_id), None)

    def source_text(self, span: ast.Span) -> str:
        """The rule text a span covers, on one line."""
        lines = self.sources.get(span.file, "").split("\n")
        if not 0 < span.line <= len(lines):
            return ""
        if span.line == span.end_line:
            return lines[span.line - 1][span.col - 1: span.end_col - 1].strip()
        parts = [lines[span.line - 1][span.col - 1:]]
        parts.extend(lines[span.line: span.end_line - 1])
        parts.append(lines[span.end_line - 1][: span.end_col - 1])
        return " ".join(part.strip() for part in parts if part.strip())

    @property
    def policy_names(self) -> list[str]:
        return [path.name for path in self.policies.files()]


def _compile_all(checked: CheckedRules) -> tuple[list[CompiledRule], list[RuleError]]:
    levels = strata(checked, lambda rule: _derived_reads(rule))
    slot_names = SlotNames()
    compiled = []
    errors = []
    for index, rule in enumerate(checked.rules):
        try:
            compiled.append(compile_rule(rule, index, levels[rule.id], slot_names))
        except CompileError as error:
            errors.append(RuleError("compile.unsupported", tr(error.message_zh, error.message_en),
                                    Location(error.span.file, error.span.line, error.span.col)))
    return compiled, errors


def _derived_reads(rule: ast.Rule) -> set[str]:
    if rule.condition is None:
        return set()
    return {node.field for node in ast.walk(rule.condition) if isinstance(node, ast.Path) and node.entity == "derived"}


def _compile_rule_error(error: CompileError, files: list[ast.RuleFile]) -> RuleError:
    return RuleError("compile.unsupported", tr(error.message_zh, error.message_en),
                     Location(error.span.file, error.span.line, error.span.col))
