"""Households through durable_rules: facts, sessions, strata of derived facts, findings with evidence."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import durable_rules_engine
import orjson
from durable import engine as durable_engine

from dangka import contract
from dangka.categories import ENGINE_FAILED
from dangka.dsl import ast
from dangka.engine.compile import (DERIVED_FACT, FILLED_FLAG, FIRST_OF_VIEW, GO, POLICY_VALUE, SLOT_VALUE,
                                   CompiledRule, RulesetPlan, fact_value, key_source)
from dangka.engine.fast import compile_condition
from dangka.engine.graph import ResponsibilityGraph
from dangka.engine.evaluate import TRUE, Evaluator, Household, Missing, Reads, json_value
from dangka.engine.knowledge import Knowledge
from dangka.errors import DangkaError
from dangka.i18n import tr

HOUSEHOLD = "household"


def _encode(facts: list[dict]) -> str:
    """Facts as the JSON text durable_rules parses, dates and sets as fact_value makes them."""
    text = orjson.dumps(facts, default=fact_value, option=orjson.OPT_PASSTHROUGH_DATETIME)
    if b"e+" in text or b"e-" in text:
        text = _BARE_EXPONENT.sub(_with_point, text)
    return text.decode()


# durable_rules 2.0.28 cannot read a number whose exponent follows a whole mantissa (1e+16, 1e-05):
# it stops reading the batch there, answers as if all were well, and the facts after it are never
# asserted. orjson writes floats from 1e16 up that way; 1.0e+16 is read right. Strings are matched
# whole by the first alternative, so text that looks like a number inside them is left alone.
_BARE_EXPONENT = re.compile(rb'"(?:[^"\\]|\\.)*"|(?<![\d.])(-?\d+)([eE][+-]?\d+)')


def _with_point(match: re.Match) -> bytes:
    return match.group() if match.group(1) is None else match.group(1) + b".0" + match.group(2)


@dataclass
class _FactKeys:
    """The keys a ruleset reads of one fact type: record values, policy values, first-of-view flags, slots,
    flags of fields filled in."""

    values: set[str] = field(default_factory=set)
    policy: list[tuple[str, str]] = field(default_factory=list)   # (key, parameter)
    first: list[tuple[str, str]] = field(default_factory=list)    # (key, view)
    slot: list[str] = field(default_factory=list)
    filled: list[tuple[str, str]] = field(default_factory=list)  # (key, field)


def _fact_keys(plan: RulesetPlan) -> list[tuple[str, _FactKeys]]:
    """Per fact type, the keys the plan reads, by where their values come from."""
    found = []
    for fact_type, keys in plan.fields.items():
        if fact_type == DERIVED_FACT:
            continue
        sources = _FactKeys()
        for key in sorted(keys):
            kind, name = key_source(key)
            if kind == POLICY_VALUE:
                sources.policy.append((key, name))
            elif kind == FIRST_OF_VIEW:
                sources.first.append((key, name))
            elif kind == SLOT_VALUE:
                sources.slot.append(key)
            elif kind == FILLED_FLAG:
                sources.filled.append((key, name))
            else:
                sources.values.add(key)
        found.append((fact_type, sources))
    return found


class EngineError(DangkaError):
    """The engine itself failed (durable_rules refused facts, or disagreed with the evaluator)."""

    code = ENGINE_FAILED


def _never_run(closure) -> None:
    """The action durable_rules asks every rule for; dangka takes the matches from the queue itself."""
    raise AssertionError("dangka runs no durable_rules action")


class _Host(durable_engine.Host):
    """A durable_rules host without the background dispatch threads.

    The stock Host starts timers that dispatch pending actions from another thread; this checker
    runs every action synchronously inside assert_facts, so those threads could only race it.
    """

    def _run(self):
        pass


_HOSTS: dict[str, "_Rulesets"] = {}


class _Rulesets:
    """The durable_rules rulesets of one knowledge digest in this process.

    durable_rules keeps rulesets in a process-wide registry that cannot replace a name, so
    rulesets are named by the knowledge digest and registered once per process (one host per
    worker process). After durable_rules failed part-way, the next generation is registered under
    new names and the old one, whose sessions may hold stray facts, is left unused.
    """

    def __init__(self, knowledge: Knowledge, generation: int = 0):
        self.knowledge = knowledge
        self.generation = generation
        self.host = _Host()
        self.rule_of_action: dict[str, int] = {}   # durable_rules rule name → index of the compiled rule
        self.names: list[str] = []
        self.rulesets: dict[str, durable_engine.Ruleset] = {}
        for plan in knowledge.plans:
            name = f"dangka_{knowledge.digest[:16]}_{plan.index}" + (f"_g{generation}" if generation else "")
            self.host.register_rulesets({name: self._definition(plan)})
            self.names.append(name)
            self.rulesets[name] = self.host.get_ruleset(name)

    def _definition(self, plan: RulesetPlan) -> dict:
        definition = {}
        for compiled in plan.rules:
            for number, rule_definition in enumerate(compiled.definitions):
                action = f"r{compiled.index}_{number}"
                definition[action] = dict(rule_definition, run=_never_run)
                self.rule_of_action[action] = compiled.index
        # Every fact must be observed by some rule, or durable_rules rejects the whole batch; this
        # rule observes all fact types and never fires (no fact has t == "_never").
        fact_types = sorted(set(plan.fields) | {GO, DERIVED_FACT, HOUSEHOLD})
        definition["observe"] = {"all": [{"o": {"$or": [{"t": fact_type} for fact_type in fact_types]}},
                                         {"z": {"t": "_never"}}], "run": _never_run}
        return definition

    def assert_and_run(self, name: str, facts: list[dict]) -> list[tuple[int, dict]]:
        """Assert facts of many sessions; every match they make, as (compiled rule index, matched facts).

        The facts go straight to the engine's C interface as orjson text (the stock host encodes
        with the json module and wraps each call in callbacks). The matches durable_rules queues
        are taken from its queue here, one after another until none is left, and completed:
        recording a match is all a rule's action would do, so no action function is called.
        """
        handle = self.rulesets[name]._handle
        firings = []
        try:
            text = _encode(facts)
        except (TypeError, OverflowError) as error:   # a value no fact can carry: nothing was asserted
            raise EngineError(tr(f"户的某个取值无法交给推理引擎（{error}）", f"a value cannot be given to the engine ({error})")) from None
        try:
            self._result(durable_rules_engine.assert_facts(handle, text), facts)
            while pending := durable_rules_engine.start_action(handle):
                message, action = pending[1], pending[2]
                while message:
                    action_name, matched = next(iter(orjson.loads(message).items()))
                    firings.append((self.rule_of_action[action_name], matched))
                    message = durable_rules_engine.complete_and_start_action(handle, action)
        except durable_rules_engine.error as error:
            raise self._failed(error, facts) from None
        return firings

    def retract(self, name: str, facts: list[dict]) -> None:
        """Retract facts asserted before (their sessions are then empty and can be reused).

        durable_rules finds a fact to retract by its session and id: the rest of it is not sent
        (a third cheaper; tests check that the sessions are empty and reused without a trace).
        """
        identities = [{"sid": fact["sid"], "id": fact["id"], "t": fact["t"]} for fact in facts]
        try:
            self._result(durable_rules_engine.retract_facts(self.rulesets[name]._handle, _encode(identities)), identities)
        except durable_rules_engine.error as error:
            raise self._failed(error, identities) from None

    def _result(self, result: tuple, facts: list[dict]) -> None:
        # durable_rules answers 1 when no rule observes a fact and 2 when a fact is already known.
        if result[0] in (1, 2):
            raise self._failed(f"代码 {result[0]}", facts)

    def _failed(self, error: object, facts: list[dict]) -> EngineError:
        """durable_rules failed part-way, its sessions may hold some of the facts: this process's later
        households go to a fresh generation of the rulesets, and the failure becomes a message. The
        rulesets are planned to keep durable_rules' limits (engine/alpha.py), so it is dangka's fault."""
        if _HOSTS.get(self.knowledge.digest) is self:
            _HOSTS[self.knowledge.digest] = _Rulesets(self.knowledge, self.generation + 1)
        return EngineError(tr(f"推理引擎 durable_rules 出错（{error}），请将此消息报告给 dangka 的维护者：{_encode(facts)[:300]}",
                              f"durable_rules failed ({error}); please report this to dangka's maintainers"))


@dataclass
class Finding:
    rule: CompiledRule
    scope: contract.Record | None
    reads: Reads
    message: str

    def to_json(self, knowledge: Knowledge) -> dict:
        rule = self.rule.rule
        return {
            "rule": rule.id,
            "category": rule.category,
            "severity": rule.severity,
            "title": rule.title,
            "message": self.message,
            "evidence": [{"path": path, "value": value} for path, value in self.reads.values.items()],
            "basis": rule.basis,
            "source": f"{rule.span.file}:{rule.span.line}",
            "recommend": list(rule.recommend),
        }


@dataclass
class HouseholdResult:
    household: Household
    findings: list[Finding] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)      # ids of every rule that fired, derivations included
    derived: set[str] = field(default_factory=set)


class Engine:
    """Checks households against one knowledge base on durable_rules."""

    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        if knowledge.digest not in _HOSTS:
            _HOSTS[knowledge.digest] = _Rulesets(knowledge)
        last_stratum = max((compiled.stratum for compiled in knowledge.rules), default=0)
        # Each ruleset once per stratum it has rules of (the first stratum always: it takes the facts).
        self._runs = [(stratum, plan) for stratum in range(last_stratum + 1)
                      for plan in knowledge.plans
                      if stratum == 0 or any(compiled.stratum == stratum for compiled in plan.rules)]
        # Per ruleset, worked out once: the keys each fact type carries, and the slots its rules read.
        self._keys_by_plan = {plan.index: _fact_keys(plan) for plan in knowledge.plans}
        self._slots_by_plan = {plan.index: list({slot.name: slot for compiled in plan.rules
                                                 for slot in compiled.slots}.values())
                               for plan in knowledge.plans}
        self.slot_conditions = {slot.name: compile_condition(slot.expr)
                                for compiled in knowledge.rules for slot in compiled.slots}

    # -- the household as the rules see it --
    def household(self, dossier: dict, links: dict | None = None) -> Household:
        """The household as the rules see it; without whole-run links, a graph of this household alone."""
        if links is None:
            graph = ResponsibilityGraph(None)
            graph.add_household(dossier)
            links = graph.links(dossier)
        records: dict[str, list[contract.Record]] = {}
        for record in contract.records(dossier, links):
            records.setdefault(record.entity, []).append(record)
        head = records.get(HOUSEHOLD, [None])[0]
        values = head.values if head is not None else {}
        year, province = values.get("year"), values.get("province")
        return Household(records, self.knowledge.policies.resolve(year, province), {}, self.knowledge.policies,
                         year=year, province=province)

    def facts(self, household: Household, plan: RulesetPlan, sid: str, slots: dict) -> list[dict]:
        """The household's facts for one ruleset: each record with the keys the ruleset reads."""
        facts = []
        for fact_type, keys in self._keys_by_plan[plan.index]:
            records = household.records.get(fact_type)
            if not records:
                continue
            shared = {"sid": sid, "t": fact_type}
            for key, name in keys.policy:
                value = household.policy.get(name)
                if value is not None:
                    shared[key] = value
            firsts = {key: household.first(view) for key, view in keys.first}
            for record in records:
                values = record.values
                fact = {key: values[key] for key in keys.values.intersection(values)}
                fact.update(shared)
                fact["id"] = record.id
                for key, first in firsts.items():
                    if first is record:
                        fact[key] = True
                for key in keys.slot:
                    value = slots[key].get(record.id)
                    if value is not None:
                        fact[key] = value
                for key, name in keys.filled:
                    if record.filled(name):
                        fact[key] = True
                facts.append(fact)
        return facts

    def slot_values(self, household: Household, plan: RulesetPlan,
                    values: dict[str, dict[str, bool]] | None = None) -> dict[str, dict[str, bool]]:
        """Each slot of the plan's rules: record id → value (absent when undecided).

        Slots already in `values` (computed for another plan: rules share slots) are not computed again.
        """
        values = {} if values is None else values
        for slot in self._slots_by_plan[plan.index]:
            if slot.name in values:
                continue
            condition = self.slot_conditions[slot.name]
            per_record = values[slot.name] = {}
            anchor = slot.anchor
            # One binding, rebound per record: the compiled conditions keep no reference to it.
            binding: dict = {}
            for record in household.of(anchor) if anchor is not None else household.records.get(HOUSEHOLD, ()):
                if anchor is not None:
                    binding[anchor] = record
                result = condition(household, binding)
                if result is not None:
                    per_record[record.id] = result
        return values

    # -- running --
    def check(self, dossier: dict, links: dict | None = None) -> HouseholdResult:
        return self.check_many([(dossier, links)])[0]

    def check_many(self, items: list[tuple[dict, dict | None]]) -> list[HouseholdResult]:
        """Check several households in one pass through each ruleset.

        Each household has its own durable_rules session (sid = its position in `items`), and
        all their facts go to the engine in one call per ruleset and stratum. (durable_rules' cost
        is per fact and rule, not per call: a batch is no faster per household than one alone.)
        The sessions are emptied afterwards and reused by the next batch.
        """
        households = [self.household(dossier, links) for dossier, links in items]
        results = [HouseholdResult(household) for household in households]
        active = [index for index, household in enumerate(households) if household.records.get(HOUSEHOLD)]
        firings: dict[int, list[tuple[int, dict]]] = {index: [] for index in active}
        rulesets = self.rulesets
        asserted: dict[str, list[dict]] = {name: [] for name in rulesets.names}
        sent_derived: dict[tuple[str, int], set[str]] = {}
        slots: dict[int, dict[str, dict[str, bool]]] = {index: {} for index in active}
        try:
            for stratum, plan in self._runs:
                name = rulesets.names[plan.index]
                batch = []
                for index in active:
                    batch.extend(self._stratum_facts(households[index], plan, str(index), stratum,
                                                     sent_derived.setdefault((name, index), set()), slots[index]))
                asserted[name].extend(batch)
                for rule_index, facts in rulesets.assert_and_run(name, batch):
                    index = int(next(iter(facts.values()))["sid"])
                    firings[index].append((rule_index, facts))
                    compiled = self.knowledge.rules[rule_index]
                    if compiled.rule.conclude:
                        households[index].derived.add(compiled.rule.conclude)
        finally:
            # durable_rules 2.0.28 corrupts its heap in delete_state once a session has held joined
            # facts (a double free); retracting the households' facts empties the sessions
            # instead, and they are reused, so live sessions never outnumber one batch. Rulesets
            # durable_rules failed in are left as they are: they have been replaced.
            if rulesets is self.rulesets:
                for name in rulesets.names:
                    if asserted[name]:
                        rulesets.retract(name, asserted[name])
        for index in active:
            results[index].derived = set(households[index].derived)
            self._findings(households[index], firings[index], results[index])
        return results

    @property
    def rulesets(self) -> _Rulesets:
        """This process's rulesets of the knowledge base (shared by its engines)."""
        return _HOSTS[self.knowledge.digest]

    def _stratum_facts(self, household: Household, plan: RulesetPlan, sid: str, stratum: int,
                       sent_derived: set[str], slots: dict[str, dict[str, bool]]) -> list[dict]:
        """A household's facts for one ruleset and stratum, ending with the fact that starts it."""
        batch = self.facts(household, plan, sid, self.slot_values(household, plan, slots)) if stratum == 0 else []
        for derived in sorted(household.derived - sent_derived):
            batch.append({"sid": sid, "id": f"_d_{derived}", "t": DERIVED_FACT, "name": derived})
            sent_derived.add(derived)
        batch.append({"sid": sid, "id": f"_go{stratum}", "t": GO, "k": stratum})
        return batch

    def _findings(self, household: Household, firings, result: HouseholdResult) -> None:
        evaluator = Evaluator(household, self.knowledge.derivations)
        by_id = {record.id: record for records in household.records.values() for record in records}
        seen = set()
        for rule_index, facts in firings:
            compiled = self.knowledge.rules[rule_index]
            rule = compiled.rule
            result.fired.add(rule.id)
            if rule.conclude:
                continue
            scope = by_id.get(facts["s"]["id"]) if "s" in facts else None
            key = (rule.id, scope.id if scope else None)
            if key in seen:
                continue
            seen.add(key)
            binding = {rule.scope_entity: scope} if scope is not None else {}
            reads = Reads()
            outcome = evaluator.condition(rule.condition, binding, reads)
            if outcome != TRUE:
                raise EngineError(tr(
                    f"规则 {rule.id} 在 durable_rules 中触发，但逐条求值结果为 {outcome}（{json.dumps(facts, ensure_ascii=False)[:300]}）",
                    f"rule {rule.id} fired in durable_rules but evaluates to {outcome}"))
            message = render_message(rule, evaluator, binding, reads)
            result.findings.append(Finding(compiled, scope, reads, message))
        # In knowledge-base order (file, then rule), then dossier order: not in the order durable_rules
        # happened to fire them, which changes whenever the rules are cut into rulesets differently.
        position = {record.id: number for number, record in enumerate(by_id.values())}
        result.findings.sort(key=lambda finding: (finding.rule.index,
                                                  position[finding.scope.id] if finding.scope else -1))


def render_message(rule: ast.Rule, evaluator: Evaluator, binding: dict, reads: Reads) -> str:
    """The rule's message with the values it matched; the title when it has no message."""
    if rule.message is None:
        return rule.title
    full_binding = {**reads.witnesses, **binding}
    parts = []
    for part in rule.message.parts:
        if isinstance(part, ast.Path):
            value = evaluator.eval(part, full_binding, Reads())
            written = None
            if isinstance(value, Missing) and part.entity not in (None, "policy", "derived"):
                record = evaluator.record(part.entity, full_binding)
                written = record.unreadable.get(part.field) if record is not None else None
            parts.append(format_value(value) if written is None else f"{written}（无法识别）")
        else:
            parts.append(part)
    return "".join(parts)


def format_value(value: object) -> str:
    """A value as a reviewer reads it in a message."""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(format_value(item) for item in sorted(value, key=str))
    if value is None or type(value).__name__ == "Missing":
        return "（空）"
    return str(json_value(value))

