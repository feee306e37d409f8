"""A run over many households: registry and graph first (whole-run facts), then each household."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from dangka.engine.graph import ResponsibilityGraph
from dangka.engine.knowledge import Knowledge
from dangka.engine.evaluate import Household
from dangka.engine.recommend import recommend, to_json
from dangka.engine.run import Engine, HouseholdResult
from dangka.load import Loaded
from dangka.spreadsheet import iter_inputs


@dataclass
class Outcome:
    """One input item of a run: a checked household's entry, or an input error."""

    index: int
    entry: dict | None = None
    error: dict | None = None
    result: HouseholdResult | None = None


def recommendations_for(household: Household) -> tuple[list[dict], list[dict]]:
    """The measures that fit the household and those ruled out, as JSON."""
    return to_json(*recommend(household))


def household_entry(dossier: dict, source: str, result: HouseholdResult, knowledge: Knowledge) -> dict:
    """The household's part of the findings document (shared/spec/findings.md)."""
    region = dossier.get("region") if isinstance(dossier.get("region"), dict) else {}
    head = result.household.first("head")
    recommended, ruled_out = recommendations_for(result.household)
    return {
        "id": str(dossier.get("id")),
        "region": {level: region.get(level) for level in ("county", "township", "village")},
        "source": source,
        "head": head.values.get("name") if head is not None else None,
        "findings": [finding.to_json(knowledge) for finding in result.findings],
        "recommendations": recommended,
        "ruled_out": ruled_out,
    }


def error_entry(loaded: Loaded) -> dict:
    location = loaded.error.location
    return {"source": location.file if location and location.file else loaded.source,
            "line": location.line if location and location.line else loaded.line,
            "category": "input.invalid", "message": loaded.error.message}


def build_graph(paths: Iterable[str], registry: dict | None) -> ResponsibilityGraph:
    """Pass 1: every household of the run linked to its helpers, so loads cover the whole run."""
    graph = ResponsibilityGraph(registry)
    for loaded in iter_inputs(paths):
        if loaded.dossier is not None:
            graph.add_household(loaded.dossier)
    return graph


def check_paths(paths: list[str], registry: dict | None, knowledge: Knowledge,
                progress: Callable[[int], None] | None = None, jobs: int = 1) -> Iterator[Outcome]:
    """Pass 2: each household checked with the whole-run graph, in input order; bad input as errors.

    With jobs > 1, worker processes (each with its own durable_rules host) check windows of
    households while this process reads the next; results come back in input order and memory
    stays bounded by the window.
    """
    graph = build_graph(paths, registry)
    if jobs <= 1:
        engine = Engine(knowledge)
        for loaded in iter_inputs(paths):
            if progress is not None:
                progress(loaded.index)
            if loaded.error is not None:
                yield Outcome(loaded.index, error=error_entry(loaded))
                continue
            result = engine.check(loaded.dossier, graph.links(loaded.dossier))
            yield Outcome(loaded.index, entry=household_entry(loaded.dossier, loaded.source, result, knowledge),
                          result=result)
        return
    yield from _check_in_workers(paths, graph, knowledge, progress, jobs)


_WORKER_KNOWLEDGE: Knowledge | None = None
_WORKER_ENGINE: Engine | None = None
WINDOW = 512


def _worker_check(item: tuple[int, str, dict, dict]) -> Outcome:
    global _WORKER_ENGINE
    if _WORKER_ENGINE is None:
        _WORKER_ENGINE = Engine(_WORKER_KNOWLEDGE)
    index, source, dossier, links = item
    result = _WORKER_ENGINE.check(dossier, links)
    return Outcome(index, entry=household_entry(dossier, source, result, _WORKER_KNOWLEDGE))


def _check_in_workers(paths, graph, knowledge, progress, jobs) -> Iterator[Outcome]:
    global _WORKER_KNOWLEDGE
    # Workers are forked after the knowledge is compiled, so each inherits it without pickling;
    # each builds its own durable_rules host on first use (rulesets are per process).
    _WORKER_KNOWLEDGE = knowledge
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs) as pool:
        window: list = []
        for loaded in iter_inputs(paths):
            window.append(loaded)
            if len(window) >= WINDOW:
                yield from _run_window(pool, window, graph, progress)
                window = []
        if window:
            yield from _run_window(pool, window, graph, progress)


def _run_window(pool, window: list[Loaded], graph, progress) -> Iterator[Outcome]:
    work = [(loaded.index, loaded.source, loaded.dossier, graph.links(loaded.dossier))
            for loaded in window if loaded.error is None]
    checked = iter(pool.map(_worker_check, work, chunksize=max(len(work) // (4 * (pool._processes or 1)), 1)))
    for loaded in window:
        if progress is not None:
            progress(loaded.index)
        if loaded.error is not None:
            yield Outcome(loaded.index, error=error_entry(loaded))
        else:
            yield next(checked)
