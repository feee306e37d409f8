"""A run over many households: registry and graph first (whole-run facts), then each household."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

from dangka.engine.cache import ResultCache, entry_key
from dangka.engine.evaluate import Household
from dangka.engine.graph import ResponsibilityGraph
from dangka.engine.knowledge import Knowledge
from dangka.engine.recommend import recommend, to_json
from dangka.engine.run import Engine, EngineError, HouseholdResult

from dangka.load import Loaded
from dangka.spreadsheet import RunInputs, iter_inputs


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
            "category": loaded.error.code, "message": loaded.error.message}


def build_graph(paths: Iterable[str], registry: dict | None) -> ResponsibilityGraph:
    """Pass 1 for a few households: every household of the run linked to its helpers (for explain)."""
    graph = ResponsibilityGraph(registry)
    for loaded in iter_inputs(paths):
        if loaded.dossier is not None:
            graph.add_household(loaded.dossier)
    return graph


def household_loads(dossiers: Iterable[dict]) -> dict[str, int]:
    """Pass 1 of one part of a run: its helpers' household counts (ResponsibilityGraph.loads)."""
    part = ResponsibilityGraph(None)
    for dossier in dossiers:
        part.add_household(dossier)
    return part.loads()


def run_graph(paths: Iterable[str] | RunInputs, registry: dict | None, *,
              consume_registry: bool = False) -> ResponsibilityGraph:
    """Pass 1 of a whole run with flat memory: the registry's graph with every helper's load of the run.

    Households are linked in throwaway parts of LOAD_PART households whose counts are merged, so the
    graph keeps the registry and the counts, not a node per household; `links` is the same as
    `build_graph`'s (input already refuses a repeated household id, so no part sees one twice).
    With `consume_registry`, the registry's lists are emptied as the graph is built from them.
    """
    graph = ResponsibilityGraph(registry, consume=consume_registry)
    inputs = paths if isinstance(paths, RunInputs) else RunInputs(paths)
    dossiers = (loaded.dossier for loaded in inputs if loaded.dossier is not None)
    while loads := household_loads(islice(dossiers, LOAD_PART)):
        graph.merge_loads(loads)
    return graph


def check_paths(paths: list[str], registry: dict | None, knowledge: Knowledge,
                progress: Callable[[int], None] | None = None, jobs: int = 1,
                cache: ResultCache | None = None, *, consume_registry: bool = False) -> Iterator[Outcome]:
    """Pass 2: each household checked with the whole run's loads, in input order; bad input as errors.

    With jobs > 1, worker processes (each with its own durable_rules host) check windows of
    households while this process reads the next; results come back in input order and memory
    stays bounded by the window. With a cache, households whose entry is cached are not checked.
    With `consume_registry` (the caller gives the registry up), the
    registry's lists are emptied while pass 1 builds the graph from them: a province's parsed
    registry and its graph are then never both whole in memory.
    """
    # Pass 1 finds the repeated household ids; pass 2 reads the same items without the table of ids.
    inputs = RunInputs(paths)
    graph = run_graph(inputs, registry, consume_registry=consume_registry)
    # The graph keeps what links need; a province's registry as parsed is hundreds of megabytes.
    del registry
    with _long_lived():
        if jobs <= 1:
            engine = Engine(knowledge)
            yield from _checked_windows(inputs, graph, knowledge,
                                        lambda work: [_check_here(engine, item) for item in work],
                                        progress, cache, LOCAL_WINDOW)
            return
        global _WORKER_KNOWLEDGE
        # Workers are forked after the knowledge is compiled, so each inherits it without pickling;
        # each builds its own durable_rules host on first use (rulesets are per process).
        _WORKER_KNOWLEDGE = knowledge
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            def check_in_pool(work: list[_Work]) -> list[Outcome]:
                return pool.map(_worker_check, work, chunksize=max(len(work) // (4 * jobs), 1))
            yield from _checked_windows(inputs, graph, knowledge, check_in_pool, progress, cache, WINDOW)


@contextmanager
def _long_lived() -> Iterator[None]:
    """Pass 2 with the collector told what lives for the whole run.

    The knowledge base, the graph of pass 1 (a province's registry) and whatever else exists now
    stay until the run ends, yet each full collection walked all of them again: 7% of a run of
    10,000 households went to the collector. They are moved out of its sight (gc.freeze, which also
    keeps forked workers from copying their pages), and collections start after 50,000 new objects
    instead of 700: one household makes a few thousand, and their cycles are freed a little later.
    Both are undone when the run ends, or is abandoned.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(PASS_2_COLLECTION_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@dataclass
class _Work:
    """One household to check: what a worker needs, and the cache key its entry is stored under."""

    index: int
    source: str
    line: int | None
    dossier: dict
    links: dict
    key: str | None = None


_WORKER_KNOWLEDGE: Knowledge | None = None
_WORKER_ENGINE: Engine | None = None
WINDOW = 512         # input items in flight to the worker processes
# Input items in flight when this process checks them itself: each holds its dossier and the engine's
# whole result until written, so 512 held ~30 MB more than 64, and a smaller window is no slower here.
LOCAL_WINDOW = 64
CACHE_COMMIT = 512   # cache entries written per commit
PASS_2_COLLECTION_THRESHOLD = 50_000   # new container objects between collections of the youngest generation
LOAD_PART = 500   # households linked in one throwaway graph of pass 1 (about 1.5 MB; 2000 took 5 MB more at the peak)


def checked_outcome(engine: Engine, index: int, dossier: dict, source: str, line: int | None,
                    links: dict) -> Outcome:
    """One household checked with its graph links: its entry and the engine's result, or, when the
    engine failed on it, an error like an unreadable dossier's, so that the run goes on."""
    try:
        result = engine.check(dossier, links)
    except EngineError as error:
        return Outcome(index, error={"source": source, "line": line, "category": error.code,
                                     "message": f"户 {dossier.get('id')} 未能核查：{error.message}"})
    return Outcome(index, entry=household_entry(dossier, source, result, engine.knowledge), result=result)


def _check_here(engine: Engine, work: _Work) -> Outcome:
    return checked_outcome(engine, work.index, work.dossier, work.source, work.line, work.links)


def _worker_check(work: _Work) -> Outcome:
    global _WORKER_ENGINE
    if _WORKER_ENGINE is None:
        _WORKER_ENGINE = Engine(_WORKER_KNOWLEDGE)
    outcome = _check_here(_WORKER_ENGINE, work)
    # Only the entry goes back to the parent: the engine's result holds the whole household.
    outcome.result = None
    return outcome


def _checked_windows(run_inputs: RunInputs, graph: ResponsibilityGraph, knowledge: Knowledge,
                     check: Callable[[list[_Work]], list[Outcome]], progress, cache,
                     window_size: int) -> Iterator[Outcome]:
    """Windows of input items: cached entries taken, the rest checked by `check`, all in input order."""
    inputs = iter(run_inputs)
    uncommitted = 0
    while window := list(islice(inputs, window_size)):
        done: dict[int, Outcome] = {}
        work = []
        for loaded in window:
            if loaded.error is not None:
                done[loaded.index] = Outcome(loaded.index, error=error_entry(loaded))
                continue
            item = _Work(loaded.index, loaded.source, loaded.line, loaded.dossier, graph.links(loaded.dossier))
            if cache is not None:
                item.key = entry_key(item.dossier, item.links, knowledge.digest)
                entry = cache.get(item.key, item.source)
                if entry is not None:
                    done[loaded.index] = Outcome(loaded.index, entry=entry)
                    continue
            work.append(item)
        for item, outcome in zip(work, check(work)):
            if cache is not None and outcome.entry is not None:
                cache.put(item.key, outcome.entry)
            done[outcome.index] = outcome
        uncommitted += len(work)
        if cache is not None and uncommitted >= CACHE_COMMIT:
            cache.commit()
            uncommitted = 0
        for loaded in window:
            if progress is not None:
                progress(loaded.index)
            yield done[loaded.index]
    if cache is not None:
        cache.commit()
