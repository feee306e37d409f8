"""The findings document of shared/spec/findings.md: assembled from a run's outcomes."""

from __future__ import annotations

from collections import Counter

from dangka.engine.knowledge import Knowledge

VERSION = 1


def document(entries: list[dict], errors: list[dict], knowledge: Knowledge) -> dict:
    """The whole JSON document: knowledge header, households, errors, summary."""
    by_category: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    for entry in entries:
        for finding in entry["findings"]:
            by_category[finding["category"]] += 1
            by_severity[finding["severity"]] += 1
    by_category["input.invalid"] += len(errors)
    if not by_category["input.invalid"]:
        del by_category["input.invalid"]
    return {
        "version": VERSION,
        "knowledge": {
            "rules": sum(1 for compiled in knowledge.rules if not compiled.rule.conclude),
            "derivations": sum(1 for compiled in knowledge.rules if compiled.rule.conclude),
            "policies": knowledge.policy_names,
            "digest": knowledge.digest,
        },
        "households": entries,
        "errors": errors,
        "summary": {
            "households": len(entries),
            "with_findings": sum(1 for entry in entries if entry["findings"]),
            "errors": len(errors),
            "by_category": dict(sorted(by_category.items())),
            "by_severity": dict(by_severity),
        },
    }
