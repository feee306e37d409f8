"""The findings document of shared/spec/findings.md: assembled from a run's outcomes."""

from __future__ import annotations

from collections import Counter

from dangka.categories import UNREADABLE
from dangka.engine.knowledge import Knowledge

VERSION = 1


def document(entries: list[dict], errors: list[dict], knowledge: Knowledge) -> dict:
    """The whole JSON document: knowledge header, households, errors, summary."""
    tally = Tally()
    for entry in entries:
        tally.add(entry)
    tally.errors = errors
    return {**header(knowledge), "households": entries, "errors": errors, "summary": tally.summary()}


def header(knowledge: Knowledge) -> dict:
    """The document's first fields: its version and the knowledge base that checked it."""
    return {
        "version": VERSION,
        "knowledge": {
            "rules": sum(1 for compiled in knowledge.rules if not compiled.rule.conclude),
            "derivations": sum(1 for compiled in knowledge.rules if compiled.rule.conclude),
            "policies": knowledge.policy_names,
            "digest": knowledge.digest,
        },
    }


class Tally:
    """The document's summary, counted as households go by (a streamed document keeps no list of them)."""

    def __init__(self) -> None:
        self.households = 0
        self.with_findings = 0
        self.by_category: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.errors: list[dict] = []

    def add(self, entry: dict) -> None:
        self.households += 1
        self.with_findings += bool(entry["findings"])
        for finding in entry["findings"]:
            self.by_category[finding["category"]] += 1
            self.by_severity[finding["severity"]] += 1

    def summary(self) -> dict:
        by_category = Counter(self.by_category)
        by_category.update(error.get("category", UNREADABLE) for error in self.errors)
        return {
            "households": self.households,
            "with_findings": self.with_findings,
            "errors": len(self.errors),
            "by_category": dict(sorted(by_category.items())),
            "by_severity": dict(self.by_severity),
        }
