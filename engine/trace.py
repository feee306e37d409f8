"""Records, rule by rule, what every condition read and concluded for one household (for `explain`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dangka.dsl import ast
from dangka.engine.evaluate import FALSE, TRUE, UNKNOWN, Evaluator, Household, Reads
from dangka.engine.knowledge import Knowledge

FIRED = "fired"
NOT_FIRED = "not_fired"
NOT_EVALUATED = "not_evaluated"


@dataclass
class ConditionTrace:
    text: str
    result: str                      # true | false | unknown
    values: dict[str, object]
    missing: list[str]


@dataclass
class BindingTrace:
    record: str | None               # dossier path of the record 对每个 binds, None for the household
    outcome: str
    conditions: list[ConditionTrace]


@dataclass
class RuleTrace:
    rule: ast.Rule
    outcome: str
    bindings: list[BindingTrace] = field(default_factory=list)
    applicable: ConditionTrace | None = None

    @property
    def conditions(self) -> list[ConditionTrace]:
        """The conditions of the binding that best answers "why": fired, else undecided, else the first."""
        if self.applicable is not None and self.applicable.result != TRUE:
            return [self.applicable]
        for wanted in (FIRED, NOT_EVALUATED, NOT_FIRED):
            for binding in self.bindings:
                if binding.outcome == wanted:
                    return binding.conditions
        return []


def _outcome(results: list[str]) -> str:
    if TRUE in results:
        return FIRED
    if UNKNOWN in results:
        return NOT_EVALUATED
    return NOT_FIRED


def conjuncts(condition: ast.Node) -> tuple[ast.Node, ...]:
    return condition.items if isinstance(condition, ast.And) else (condition,)


class Tracer:
    """Evaluates every rule on one household the way the engine decides, keeping what was read."""

    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge

    def trace(self, household: Household, rule_id: str | None = None) -> list[RuleTrace]:
        household.derived = set()
        ordered = sorted(self.knowledge.rules, key=lambda compiled: compiled.stratum)
        traces: dict[str, RuleTrace] = {}
        for compiled in ordered:
            trace = self.rule_trace(compiled.rule, household)
            traces[compiled.rule.id] = trace
            if compiled.rule.conclude and trace.outcome == FIRED:
                household.derived.add(compiled.rule.conclude)
        result = [traces[compiled.rule.id] for compiled in self.knowledge.rules]
        if rule_id is not None:
            result = [trace for trace in result if trace.rule.id == rule_id]
        return result

    def rule_trace(self, rule: ast.Rule, household: Household) -> RuleTrace:
        applicable = self.applicability(rule, household)
        if applicable is not None and applicable.result != TRUE:
            outcome = NOT_EVALUATED if applicable.result == UNKNOWN else NOT_FIRED
            return RuleTrace(rule, outcome, [], applicable)
        evaluator = Evaluator(household, self.knowledge.derivations)
        bindings = []
        if rule.scope_entity:
            targets = [(record.path, {rule.scope_entity: record}) for record in household.of(rule.scope_entity)]
        else:
            targets = [(None, {})]
        for path, binding in targets:
            conditions = []
            for part in conjuncts(rule.condition):
                reads = Reads()
                result = evaluator.condition(part, binding, reads)
                conditions.append(ConditionTrace(self.knowledge.source_text(part.span), result,
                                                 dict(reads.values), list(reads.missing)))
            outcome = _outcome([_and([condition.result for condition in conditions])])
            bindings.append(BindingTrace(path, outcome, conditions))
        return RuleTrace(rule, _outcome([_binding_result(binding) for binding in bindings]), bindings, applicable)

    def applicability(self, rule: ast.Rule, household: Household) -> ConditionTrace | None:
        if not rule.years and not rule.regions:
            return None
        head = household.records.get("household", [None])[0]
        values = head.values if head is not None else {}
        year = values.get("year")
        texts, results, read = [], [], {}
        if rule.years:
            start, end = rule.years
            texts.append(f"适用年度 {start or ''}–{end or ''}")
            read["year"] = year
            if year is None:
                results.append(UNKNOWN)
            else:
                results.append(TRUE if (start is None or year >= start) and (end is None or year <= end) else FALSE)
        if rule.regions:
            texts.append("适用地区 " + "、".join(rule.regions))
            places = {values.get("province"), values.get("county")} - {None}
            read["province"], read["county"] = values.get("province"), values.get("county")
            results.append(TRUE if places & set(rule.regions) else UNKNOWN if not places else FALSE)
        missing = ["year"] if year is None and rule.years else []
        return ConditionTrace("；".join(texts), _and(results), read, missing)


def _and(results: list[str]) -> str:
    if FALSE in results:
        return FALSE
    if UNKNOWN in results:
        return UNKNOWN
    return TRUE


def _binding_result(binding: BindingTrace) -> str:
    return {FIRED: TRUE, NOT_EVALUATED: UNKNOWN, NOT_FIRED: FALSE}[binding.outcome]
