"""The case library: households with the findings they must and must not produce (tests, reference, training)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


from dangka.engine.batch import recommendations_for
from dangka.engine.graph import ResponsibilityGraph
from dangka.engine.knowledge import Knowledge
from dangka.engine.run import Engine, HouseholdResult
from dangka.errors import DangkaError, InputError, Location
from dangka.i18n import tr
from dangka.load import iter_dossiers, load_registry, load_yaml_document

CASE_KEYS = {"title", "story", "dossier", "dossier_file", "dossiers", "registry", "registry_file", "expect",
             "expect_households", "topic", "training"}
EXPECT_KEYS = {"findings", "no_findings", "clean"}


class CaseError(DangkaError):
    """A case file that does not fit the case schema."""

    code = "case.invalid"


@dataclass
class Expectation:
    findings: tuple[str, ...] = ()     # rule ids or categories that must appear
    no_findings: tuple[str, ...] = ()  # rule ids or categories that must not appear
    clean: bool = False                # no finding at all


@dataclass
class Case:
    path: Path
    title: str
    story: str
    dossiers: list[dict]
    registry: dict | None
    expect: Expectation | None
    expect_households: dict[str, Expectation]

    @property
    def topic(self) -> str:
        return self.path.parent.name

    def expectation(self, household_id: str) -> Expectation | None:
        return self.expect_households.get(household_id, self.expect)


@dataclass
class CaseResult:
    case: Case
    differences: list[str]
    results: dict[str, HouseholdResult] = field(default_factory=dict)
    fired: dict[str, set[str]] = field(default_factory=dict)   # household id → rule ids fired

    @property
    def passed(self) -> bool:
        return not self.differences


def _expectation(data: object, where: Location) -> Expectation:
    if not isinstance(data, dict) or set(data) - EXPECT_KEYS:
        raise CaseError(tr(f"expect 只能有 {', '.join(sorted(EXPECT_KEYS))}", f"expect takes {', '.join(sorted(EXPECT_KEYS))}"),
                        where)
    lists = {}
    for key in ("findings", "no_findings"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise CaseError(tr(f"{key} 应为规则编号或类别的列表", f"{key} must be a list of rule ids or categories"), where)
        lists[key] = tuple(value)
    return Expectation(lists["findings"], lists["no_findings"], bool(data.get("clean", False)))


def _dossiers_from_file(path: Path, where: Location) -> list[dict]:
    dossiers = []
    for loaded in iter_dossiers([str(path)]):
        if loaded.error is not None:
            raise CaseError(tr(f"案例引用的档案无法读取：{loaded.error}", f"the case's dossier cannot be read: {loaded.error}"), where)
        dossiers.append(loaded.dossier)
    return dossiers


def load_case(path: Path) -> Case:
    """One case file; raises CaseError naming the file when it does not fit the schema."""
    where = Location(str(path))
    try:
        data = load_yaml_document(str(path))
    except InputError as error:
        raise CaseError(tr(f"案例文件无法读取：{error.message}", f"case file cannot be read: {error.message}"),
                        error.location) from None
    if not isinstance(data, dict) or "title" not in data:
        raise CaseError(tr("案例文件应是含 title 的映射", "a case file is a mapping with a title"), where)
    unknown = set(data) - CASE_KEYS
    if unknown:
        raise CaseError(tr(f"不认识的键：{'、'.join(sorted(unknown))}", f"unknown keys: {', '.join(sorted(unknown))}"), where)
    if "dossier" in data:
        dossiers = [data["dossier"]]
    elif "dossiers" in data:
        dossiers = data["dossiers"]
    elif "dossier_file" in data:
        dossiers = _dossiers_from_file(path.parent / data["dossier_file"], where)
    else:
        raise CaseError(tr("案例缺少 dossier、dossiers 或 dossier_file", "a case needs dossier, dossiers or dossier_file"), where)
    if not isinstance(dossiers, list) or not dossiers or not all(isinstance(item, dict) for item in dossiers):
        raise CaseError(tr("案例的档案应是映射（或映射的列表）", "a case's dossiers must be mappings"), where)
    registry = data.get("registry")
    if "registry_file" in data:
        registry = load_registry(str(path.parent / data["registry_file"]))
    expect = _expectation(data["expect"], where) if "expect" in data else None
    per_household = {str(key): _expectation(value, where) for key, value in (data.get("expect_households") or {}).items()}
    if expect is None and not per_household:
        raise CaseError(tr("案例缺少 expect 或 expect_households", "a case needs expect or expect_households"), where)
    return Case(path, str(data["title"]), str(data.get("story") or ""), dossiers, registry, expect, per_household)


def is_case_file(path: Path) -> bool:
    """A YAML file under cases/ that is a case (it has `expect`), not a plain dossier or a registry."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # load_case reports it
    return any(line.startswith(("expect:", "expect_households:")) for line in text.splitlines())


def case_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.y*ml") if is_case_file(path))


def default_cases_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "cases"


def run_case(case: Case, engine: Engine) -> CaseResult:
    graph = ResponsibilityGraph(case.registry)
    for dossier in case.dossiers:
        graph.add_household(dossier)
    result = CaseResult(case, [])
    for dossier in case.dossiers:
        household_id = str(dossier.get("id"))
        outcome = engine.check(dossier, graph.links(dossier))
        result.results[household_id] = outcome
        result.fired[household_id] = set(outcome.fired)
        expectation = case.expectation(household_id)
        if expectation is not None:
            result.differences.extend(compare(household_id, outcome, expectation))
    return result


def compare(household_id: str, outcome: HouseholdResult, expectation: Expectation) -> list[str]:
    """What differs between the findings and the expectation, one sentence each."""
    found_rules = {finding.rule.rule.id for finding in outcome.findings}
    found_categories = {finding.rule.rule.category for finding in outcome.findings}
    differences = []
    for wanted in expectation.findings:
        if wanted not in found_rules and wanted not in found_categories:
            differences.append(tr(f"户 {household_id}：应出现 {wanted}，实际没有（出现的是：{'、'.join(sorted(found_rules)) or '无'}）",
                                  f"household {household_id}: expected {wanted}, not found (found: {', '.join(sorted(found_rules)) or 'none'})"))
    for unwanted in expectation.no_findings:
        hits = [finding for finding in outcome.findings
                if unwanted in (finding.rule.rule.id, finding.rule.rule.category)]
        for finding in hits:
            differences.append(tr(f"户 {household_id}：不应出现 {unwanted}，却出现了 {finding.rule.rule.id}：{finding.message}",
                                  f"household {household_id}: {unwanted} must not appear, but {finding.rule.rule.id}: {finding.message}"))
    if expectation.clean:
        for finding in outcome.findings:
            differences.append(tr(f"户 {household_id}：应没有问题，却出现了 {finding.rule.rule.id}：{finding.message}",
                                  f"household {household_id}: expected clean, got {finding.rule.rule.id}: {finding.message}"))
    return differences


@dataclass
class SuiteReport:
    results: list[CaseResult]
    errors: list[CaseError]
    knowledge: Knowledge

    def coverage(self) -> tuple[list[str], list[str]]:
        """Rules no case fires; rules no case proves silent (a clean case, or named in no_findings)."""
        fired: set[str] = set()
        silent: set[str] = set()
        for result in self.results:
            for household_id, rules in result.fired.items():
                fired |= rules
                expectation = result.case.expectation(household_id)
                if expectation is None or not result.passed:
                    continue
                for compiled in self.knowledge.rules:
                    rule = compiled.rule
                    if compiled.rule.conclude:
                        if rule.id not in rules:
                            silent.add(rule.id)
                        continue
                    named = rule.id in expectation.no_findings or rule.category in expectation.no_findings
                    if expectation.clean or named:
                        silent.add(rule.id)
        all_rules = [compiled.rule.id for compiled in self.knowledge.rules]
        return [rule for rule in all_rules if rule not in fired], [rule for rule in all_rules if rule not in silent]

    def to_json(self) -> dict:
        not_fired, not_silent = self.coverage()
        failures = [{"file": str(result.case.path), "case": result.case.title, "differences": result.differences}
                    for result in self.results if not result.passed]
        failures += [{"file": error.location.file if error.location else "", "case": None, "differences": [error.message]}
                     for error in self.errors]
        rules_total = len(self.knowledge.rules)
        return {"cases": len(self.results) + len(self.errors),
                "passed": sum(1 for result in self.results if result.passed),
                "failed": len(failures), "rules_total": rules_total, "rules_fired": rules_total - len(not_fired),
                "rules_never_fired": not_fired, "rules_never_proven_silent": not_silent, "failures": failures}


def run_suite(folder: Path, knowledge: Knowledge) -> SuiteReport:
    engine = Engine(knowledge)
    results, errors = [], []
    for path in case_files(folder):
        try:
            case = load_case(path)
        except DangkaError as error:
            errors.append(error if isinstance(error, CaseError) else CaseError(error.message, Location(str(path))))
            continue
        results.append(run_case(case, engine))
    return SuiteReport(results, errors, knowledge)


def recommendations_of(result: HouseholdResult) -> tuple[list[dict], list[dict]]:
    return recommendations_for(result.household)
