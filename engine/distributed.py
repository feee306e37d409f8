"""The same two-pass check on a Dask cluster: partitions by county, loads merged between the passes.

The client reads the input (errors stay with it), groups households into partitions by county and
scatters them to the workers, where they stay for both passes:

1. each partition counts its helpers' households (`household_loads`); the client adds them up;
2. each partition is checked with the merged loads, by a durable_rules host per worker process.

With a cache, pass 2 first returns each household's cache key; the client serves the hits and
sends only the misses to be checked. Results come back to the client in input order; partitions
finish in input order when the input is grouped by county (as exports are), so the client holds
few results at a time.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dangka.engine.batch import Outcome, checked_outcome, error_entry, household_loads
from dangka.engine.cache import ResultCache, entry_key
from dangka.engine.graph import ResponsibilityGraph
from dangka.engine.knowledge import Knowledge
from dangka.engine.run import Engine

from dangka.errors import DangkaError, UsageError
from dangka.i18n import tr
from dangka.spreadsheet import iter_inputs

PARTITION_HOUSEHOLDS = 2_000   # a county larger than this is split; its parts still share the merged loads
CONNECT_SECONDS = 30
OPEN_HOUSEHOLDS = 20_000       # households the client holds in unfinished partitions before sending the largest


class ClusterError(DangkaError):
    """The cluster cannot be reached or a worker cannot check (another knowledge base, dangka missing)."""

    code = "cluster"


@dataclass(frozen=True)
class KnowledgeSpec:
    """How a worker loads the client's knowledge: the same files, verified by digest.

    Workers run the same dangka installation (the shipped rules) and see rule files given with
    --rules at the same paths (a shared folder); a mismatch is refused, never checked silently.
    """

    rules: tuple[str, ...] | None
    policies: str | None
    digest: str

    @classmethod
    def of(cls, knowledge: Knowledge, rules: list[str] | None, policies: str | None) -> KnowledgeSpec:
        absolute = tuple(str(Path(path).resolve()) for path in rules) if rules else None
        return cls(absolute, str(Path(policies).resolve()) if policies else None, knowledge.digest)


@dataclass
class Partition:
    """Households of one county (or part of one), with their place in the input."""

    county: str
    indexes: list[int]
    sources: list[str]
    dossiers: list[dict]


# ---- on the workers ----------------------------------------------------------------------------

_ENGINES: dict[str, Engine] = {}
# durable_rules hosts are not thread-safe, and a Dask worker may run several tasks at once.
_ENGINE_LOCK = threading.Lock()


def _engine(spec: KnowledgeSpec) -> Engine:
    """This process's engine for the knowledge: compiled and registered once per process."""
    engine = _ENGINES.get(spec.digest)
    if engine is None:
        knowledge = Knowledge.load(list(spec.rules) if spec.rules else None, spec.policies)
        if knowledge.digest != spec.digest:
            raise ClusterError(tr("工作节点上的规则或政策文件与本机不同（摘要不一致），无法在集群上核查",
                                  "the rule or policy files on a worker differ from the client's (digest mismatch)"))
        engine = _ENGINES[spec.digest] = Engine(knowledge)
    return engine


def partition_loads(partition: Partition) -> dict[str, int]:
    """Pass 1 of a partition."""
    return household_loads(partition.dossiers)


def partition_keys(partition: Partition, graph: ResponsibilityGraph, digest: str) -> list[tuple[int, str, str]]:
    """(input index, source, cache key) of each household of a partition, under the whole run's loads."""
    return [(index, source, entry_key(dossier, graph.links(dossier), digest))
            for index, source, dossier in zip(partition.indexes, partition.sources, partition.dossiers)]


def check_partition(partition: Partition, graph: ResponsibilityGraph, spec: KnowledgeSpec,
                    positions: list[int] | None) -> list[Outcome]:
    """Pass 2 of a partition: the outcomes of the households at `positions` (all when None), without
    the engine's results (they hold whole households)."""
    chosen = range(len(partition.dossiers)) if positions is None else positions
    outcomes = []
    with _ENGINE_LOCK:
        engine = _engine(spec)
        for position in chosen:
            dossier = partition.dossiers[position]
            outcome = checked_outcome(engine, partition.indexes[position], dossier, partition.sources[position],
                                      None, graph.links(dossier))
            outcome.result = None
            outcomes.append(outcome)
    return outcomes


# ---- on the client -----------------------------------------------------------------------------


def partitions(loaded_items: Iterable, errors: list[Outcome]) -> Iterator[Partition]:
    """Partitions by county in the order they fill; input errors are appended to `errors` as they are read."""
    open_parts: dict[str, Partition] = {}
    held = 0
    for loaded in loaded_items:
        if loaded.error is not None:
            errors.append(Outcome(loaded.index, error=error_entry(loaded)))
            continue
        region = loaded.dossier.get("region")
        county = str(region.get("county")) if isinstance(region, dict) else ""
        part = open_parts.setdefault(county, Partition(county, [], [], []))
        part.indexes.append(loaded.index)
        part.sources.append(loaded.source)
        part.dossiers.append(loaded.dossier)
        held += 1
        if len(part.dossiers) >= PARTITION_HOUSEHOLDS or held >= OPEN_HOUSEHOLDS:
            largest = max(open_parts.values(), key=lambda candidate: len(candidate.dossiers))
            held -= len(largest.dossiers)
            yield open_parts.pop(largest.county)
    yield from open_parts.values()


def check_on_cluster(paths: list[str], registry: dict | None, spec: KnowledgeSpec, scheduler: str,
                     progress: Callable[[int], None] | None = None,
                     cache: ResultCache | None = None) -> Iterator[Outcome]:
    """Every input item's outcome, in input order, checked on the cluster at `scheduler`.

    Connects at once, so that an unreachable scheduler is reported before any output is written.
    """
    client = _connect(scheduler)
    return _closing(client, _run(client, paths, registry, spec, progress, cache))


def _closing(client, outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
    try:
        yield from outcomes
    finally:
        client.close()


def _connect(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(tr("--engine dask 需要安装 dask：pip install 'dangka[dask]'",
                            "--engine dask needs dask: pip install 'dangka[dask]'")) from None
    try:
        return Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
    # distributed refuses an address it cannot parse ("garbage://x", "tcp://host:port:9") with ValueError.
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(tr(f"无法连接 Dask 调度器 {scheduler}：{error}",
                              f"cannot reach the Dask scheduler {scheduler}: {error}")) from None


def _run(client, paths, registry, spec: KnowledgeSpec, progress, cache: ResultCache | None) -> Iterator[Outcome]:
    from distributed import as_completed

    errors: list[Outcome] = []
    parts, first_pass = [], []
    for partition in partitions(iter_inputs(paths), errors):
        part = client.scatter(partition, hash=False)
        parts.append(part)
        first_pass.append(client.submit(partition_loads, part, pure=False))
    graph = ResponsibilityGraph(registry, consume=True)
    for loads in client.gather(first_pass):
        graph.merge_loads(loads)
    shared_graph = client.scatter(graph, broadcast=True, hash=False)
    ordered = _InputOrder(errors, progress)
    if cache is None:
        tasks = as_completed([client.submit(check_partition, part, shared_graph, spec, None, pure=False)
                              for part in parts], loop=client.loop)
    else:
        keyed = {client.submit(partition_keys, part, shared_graph, spec.digest, pure=False): part for part in parts}
        tasks = as_completed(list(keyed), loop=client.loop)
    del parts, first_pass
    missing_keys: dict = {}   # check future → cache keys of the households it checks
    for future in tasks:
        if cache is not None and future in keyed:
            hits, positions, keys = _lookup(cache, future.result())
            ordered.add(hits)
            part = keyed.pop(future)
            if positions:
                check = client.submit(check_partition, part, shared_graph, spec, positions, pure=False)
                missing_keys[check] = keys
                tasks.add(check)
        else:
            outcomes = future.result()
            if cache is not None:
                for key, outcome in zip(missing_keys.pop(future), outcomes):
                    if outcome.entry is not None:
                        cache.put(key, outcome.entry)
                cache.commit()
            ordered.add(outcomes)
        future.release()
        yield from ordered.ready()
    yield from ordered.ready()


def _lookup(cache: ResultCache, keyed: list[tuple[int, str, str]]) -> tuple[list[Outcome], list[int], list[str]]:
    """The cached entries of a partition, and the positions and keys of the households to check."""
    hits, positions, keys = [], [], []
    for position, (index, source, key) in enumerate(keyed):
        entry = cache.get(key, source)
        if entry is None:
            positions.append(position)
            keys.append(key)
        else:
            hits.append(Outcome(index, entry=entry))
    return hits, positions, keys


class _InputOrder:
    """Outcomes that arrive out of order, handed on in input order (input errors are known from the start)."""

    def __init__(self, errors: list[Outcome], progress: Callable[[int], None] | None):
        self.waiting: list[tuple[int, Outcome]] = []
        self.next_index = 0
        self.progress = progress
        for outcome in errors:
            heapq.heappush(self.waiting, (outcome.index, outcome))

    def add(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            heapq.heappush(self.waiting, (outcome.index, outcome))

    def ready(self) -> Iterator[Outcome]:
        while self.waiting and self.waiting[0][0] == self.next_index:
            outcome = heapq.heappop(self.waiting)[1]
            if self.progress is not None:
                self.progress(outcome.index)
            self.next_index += 1
            yield outcome
