"""Benchmarks of dangka check: households per second, the parse and durable_rules floors, peak memory, rule compile time."""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "dangka-bench"
QUIET_LOAD = 0.7   # one-minute load average under which the machine counts as quiet


# ---- the machine and its quiet ------------------------------------------------------------------


def machine() -> dict:
    """What the figures were measured on: cores, CPU model, memory, Python."""
    model = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    memory_kib = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                       if line.startswith("MemTotal:")), 0)
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kib / 1024 ** 2, 1),
            "python": platform.python_version(), "system": platform.platform()}


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def wait_until_quiet(limit_seconds: float) -> float:
    """Wait (at most limit_seconds) for the one-minute load average to fall under QUIET_LOAD; the load seen."""
    deadline = time.monotonic() + limit_seconds
    load = os.getloadavg()[0]
    while load >= QUIET_LOAD and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


# ---- data ---------------------------------------------------------------------------------------


def dataset(workdir: Path, n: int, seed: int) -> tuple[Path, Path]:
    """Generated households (JSON Lines) and their registry, made once per size and seed."""
    workdir.mkdir(parents=True, exist_ok=True)
    households = workdir / f"households-{n}-s{seed}.jsonl"
    # JSON, not YAML: dangka reads YAML files of at most a few megabytes, and the registry of a
    # province's households is tens of megabytes.
    registry = workdir / f"registry-{n}-s{seed}.json"
    arguments = generate.run_arguments(generate.build_parser().parse_args(["--n", str(n), "--seed", str(seed)]))
    if not households.exists():
        partial = households.with_suffix(".partial")
        with open(partial, "w", encoding="utf-8") as out:
            generate.write_households(arguments, out, jobs=os.cpu_count() or 1)
        partial.replace(households)
    if not registry.exists():
        partial = registry.with_suffix(".partial.json")
        generate.write_registry(arguments, str(partial))
        partial.replace(registry)
    return households, registry


# ---- child processes ----------------------------------------------------------------------------


def measured(command: list[str]) -> dict:
    """Run a child process: wall seconds, peak resident memory (largest process, MiB), exit status, output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode("utf-8", errors="replace")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "status": child.returncode, "output": text}


def check_command(households: Path, registry: Path, jobs: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "dangka.cli", "check", str(households), "--registry", str(registry),
            "--format", "json", "--out", str(out), "--jobs", str(jobs)]


def run_check(households: Path, registry: Path, n: int, jobs: int, workdir: Path, quiet_wait: float,
              fixed_seconds: float = 0.0) -> dict:
    """End to end: households/s over the whole run, and after the fixed start-up cost (when measured)."""
    load = wait_until_quiet(quiet_wait)
    result = measured(check_command(households, registry, jobs, workdir / f"findings-{n}-j{jobs}.json"))
    if result["status"] not in (0, 1):
        raise SystemExit(f"dangka check failed ({result['status']}):\n{result['output']}")
    figures = {"households": n, "jobs": jobs, "seconds": round(result["seconds"], 2),
               "per_second": round(n / result["seconds"], 1), "peak_mib": round(result["peak_mib"], 1),
               "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}
    if fixed_seconds:
        figures["per_second_after_startup"] = round(n / max(result["seconds"] - fixed_seconds, 1e-9), 1)
    return figures


def in_child(what: str, *arguments: object, quiet_wait: float) -> tuple[dict, dict]:
    """Run one of this script's own measurements (`_parse`, `_engine`, ...) in a child process once the
    machine is quiet: the figures it prints as its last line, and the child's measured() result with the
    load seen before it ran."""
    load = wait_until_quiet(quiet_wait)
    result = measured([sys.executable, str(Path(__file__).resolve()), what, *map(str, arguments)])
    if result["status"] != 0:
        raise SystemExit(f"benchmark {what} failed:\n{result['output']}")
    return json.loads(result["output"].strip().splitlines()[-1]), {**result, "load_before": round(load, 2)}


def run_parse(households: Path, n: int, quiet_wait: float) -> dict:
    """The parse floor, timed inside the child (without starting Python and importing dangka)."""
    figures, child = in_child("_parse", households, quiet_wait=quiet_wait)
    seconds = figures["seconds"]
    return {"households": n, "seconds": round(seconds, 2), "per_second": round(n / seconds, 1),
            "peak_mib": round(child["peak_mib"], 1), "load_before": child["load_before"]}


def run_engine_floor(households: Path, registry: Path, quiet_wait: float) -> dict:
    """durable_rules alone on the facts of the households, timed inside the child."""
    figures, child = in_child("_engine", households, registry, quiet_wait=quiet_wait)
    seconds, count = figures["seconds"], figures["households"]
    return {"households": count, "seconds": round(seconds, 2), "per_second": round(count / seconds, 1),
            "ms_per_household": round(seconds / count * 1000, 3),
            "facts_per_household": figures["facts_per_household"], "load_before": child["load_before"]}


def run_passes(households: Path, registry: Path, n: int, quiet_wait: float) -> dict:
    """Peak memory of a check's passes without the rules: minutes where a whole check of a million takes an hour."""
    figures, child = in_child("_passes", households, registry, quiet_wait=quiet_wait)
    return {"households": n, **figures, "peak_mib": round(child["peak_mib"], 1), "load_before": child["load_before"]}


def startup(households: Path, registry: Path, workdir: Path, quiet_wait: float) -> float:
    """Seconds of a check of one household: starting Python, compiling the knowledge, reading the registry."""
    one = workdir / "one-household.jsonl"
    with open(households, encoding="utf-8") as source:
        one.write_text(source.readline(), encoding="utf-8")
    wait_until_quiet(quiet_wait)
    return measured(check_command(one, registry, 1, workdir / "findings-one.json"))["seconds"]


def run_rules(count: int, households: Path, sample: int, quiet_wait: float) -> dict:
    figures, child = in_child("_rules", count, households, sample, quiet_wait=quiet_wait)
    return {**figures, "load_before": child["load_before"]}


# ---- what the children run -----------------------------------------------------------------------


def parse_only(households: str) -> None:
    """The floor: reading and validating every dossier, nothing else."""
    from dangka.load import iter_dossiers

    started = time.perf_counter()
    count = sum(1 for loaded in iter_dossiers([households]) if loaded.dossier is not None)
    print(json.dumps({"households": count, "seconds": time.perf_counter() - started}))


def passes_figures(households: str, registry: str) -> None:
    """What `dangka check` does but run the rules: the registry read and consumed into the graph, pass 1
    (loads, the table of household ids), then pass 2's reading and each household's links.
    Prints the peak resident memory (MiB) after each stage."""
    import resource

    from dangka.engine.batch import run_graph
    from dangka.engine.knowledge import Knowledge
    from dangka.load import load_registry
    from dangka.spreadsheet import RunInputs

    def peak() -> float:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    Knowledge.load()
    figures = {"started_mib": peak()}
    parsed = load_registry(registry)
    figures["registry_mib"] = peak()
    inputs = RunInputs([households])
    started = time.perf_counter()
    graph = run_graph(inputs, parsed, consume_registry=True)
    del parsed
    figures["pass1_mib"], figures["pass1_seconds"] = peak(), round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    for loaded in inputs:
        if loaded.dossier is not None:
            graph.links(loaded.dossier)
    figures["pass2_mib"], figures["pass2_seconds"] = peak(), round(time.perf_counter() - started, 1)
    print(json.dumps(figures))


def engine_floor(households: str, registry: str) -> None:
    """The floor of durable_rules itself: the facts `dangka check` gives it, replayed with no other work.

    Every household is checked once as usual while the batches the engine asserts are recorded
    (the facts of each ruleset and stratum, derivations included); then the same batches go to the
    same rulesets again, timed: assert, take every match, retract, as Engine.check_many does. What
    is left out is everything dangka computes in Python: reading, records, slots, facts and their
    JSON, findings with evidence, recommendations and output. One worker cannot check faster than this.
    """
    import durable_rules_engine

    from dangka.engine.batch import run_graph
    from dangka.engine.knowledge import Knowledge
    from dangka.engine.run import Engine, _encode
    from dangka.load import iter_dossiers, load_registry

    engine = Engine(Knowledge.load())
    graph = run_graph([households], load_registry(registry))
    rulesets = engine.rulesets
    recorded: list[tuple[str, list[dict]]] = []
    assert_and_run = rulesets.assert_and_run
    fired = 0

    def recording(name: str, facts: list[dict]):
        nonlocal fired
        recorded.append((name, [dict(fact) for fact in facts]))
        firings = assert_and_run(name, facts)
        fired += len(firings)
        return firings

    rulesets.assert_and_run = recording
    replays = []   # per household: its batches, and per ruleset the identities to retract
    count = 0
    for loaded in iter_dossiers([households]):
        if loaded.dossier is None:
            continue
        count += 1
        recorded.clear()
        engine.check(loaded.dossier, graph.links(loaded.dossier))
        identities: dict[str, list[dict]] = {}
        for name, facts in recorded:
            identities.setdefault(name, []).extend({"sid": f["sid"], "id": f["id"], "t": f["t"]} for f in facts)
        replays.append(([(rulesets.rulesets[name]._handle, _encode(facts)) for name, facts in recorded],
                        [(rulesets.rulesets[name]._handle, _encode(kept)) for name, kept in identities.items()]))
    del rulesets.assert_and_run
    assert_facts, retract_facts = durable_rules_engine.assert_facts, durable_rules_engine.retract_facts
    start_action, complete = durable_rules_engine.start_action, durable_rules_engine.complete_and_start_action
    matches = 0
    started = time.perf_counter()
    for batches, retractions in replays:
        for handle, text in batches:
            assert_facts(handle, text)
            while pending := start_action(handle):
                message, action = pending[1], pending[2]
                while message:
                    matches += 1
                    message = complete(handle, action)
        for handle, text in retractions:
            retract_facts(handle, text)
    seconds = time.perf_counter() - started
    if matches != fired:
        raise SystemExit(f"the replay made {matches} matches, the check {fired}: it did not repeat durable_rules' work")
    facts = sum(text.count('"sid"') for batches, _ in replays for _, text in batches)
    print(json.dumps({"households": count, "seconds": seconds, "facts_per_household": round(facts / max(count, 1), 1),
                      "matches": matches}))


def generated_rules(count: int) -> str:
    """tests/test_compile.py's generator of valid rules (one generator for the tests and the benchmark)."""
    # The test module imports its neighbours (tests/durable_host.py) as pytest lets it.
    sys.path.insert(0, str(ROOT / "tests"))
    spec = importlib.util.spec_from_file_location("dangka_test_compile", ROOT / "tests" / "test_compile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generated_rules(count)


def rules_figures(count: int, households: str, sample: int) -> None:
    """Compile `count` generated rules (parse, check, compile, register with durable_rules) and check households."""
    from itertools import islice

    from dangka.engine.batch import run_graph
    from dangka.engine.knowledge import Knowledge
    from dangka.engine.run import Engine

    from dangka.load import iter_dossiers

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "generated.rules").write_text(generated_rules(count), encoding="utf-8")
        started = time.perf_counter()
        knowledge = Knowledge.load([folder])
        engine = Engine(knowledge)
        compile_seconds = time.perf_counter() - started
    dossiers = [loaded.dossier for loaded in islice(iter_dossiers([households]), sample) if loaded.dossier]
    graph = run_graph([households], None)
    links = [graph.links(dossier) for dossier in dossiers]
    started = time.perf_counter()
    for dossier, household_links in zip(dossiers, links):
        engine.check(dossier, household_links)
    check_seconds = time.perf_counter() - started
    print(json.dumps({"rules": count, "rulesets": len(knowledge.plans), "compile_seconds": round(compile_seconds, 2),
                      "households": len(dossiers), "per_second": round(len(dossiers) / check_seconds, 1)}))


def profile(households: Path, registry: Path, n: int, top: int) -> None:
    """cProfile of pass 2 (check and entry) for n households with the shipped knowledge, by own time."""
    from itertools import islice

    from dangka.engine.batch import household_entry, run_graph
    from dangka.engine.knowledge import Knowledge
    from dangka.engine.run import Engine

    from dangka.load import iter_dossiers, load_registry

    knowledge = Knowledge.load()
    engine = Engine(knowledge)
    graph = run_graph([str(households)], load_registry(str(registry)))
    dossiers = [loaded.dossier for loaded in islice(iter_dossiers([str(households)]), n) if loaded.dossier]
    profiler = cProfile.Profile()
    profiler.enable()
    for dossier in dossiers:
        household_entry(dossier, "bench", engine.check(dossier, graph.links(dossier)), knowledge)
    profiler.disable()
    total = pstats.Stats(profiler).total_tt
    print(f"{len(dossiers)} 户，{total / len(dossiers) * 1000:.2f} 毫秒/户（含 cProfile 开销）")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


# ---- the command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="dangka check 的性能基准（数据由 dangka.synth 按种子生成）")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="生成数据和结果的文件夹")
    parser.add_argument("--seed", type=int, default=1, help="数据的随机种子")
    parser.add_argument("--quiet-wait", type=float, default=600,
                        help=f"每项测量前最多等待多少秒，直到 1 分钟负载低于 {QUIET_LOAD}（默认 600）")
    parser.add_argument("--json", type=Path, help="另将结果写入此 JSON 文件")
    commands = parser.add_subparsers(dest="command", required=True)
    throughput = commands.add_parser("throughput", help="端到端每秒核查户数（JSON Lines、完整知识库、JSON 输出）及仅解析的下限")
    throughput.add_argument("--n", type=int, default=2000, help="户数（默认 2000）")
    throughput.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="进程数（默认 1 2）")
    memory = commands.add_parser("memory", help="核查 N 户时的峰值内存（子进程的 ru_maxrss）")
    memory.add_argument("--n", type=int, nargs="+", default=[10_000], help="户数（默认 10000；100 万户耗时很长）")
    memory.add_argument("--jobs", type=int, default=1, help="进程数（默认 1）")
    memory.add_argument("--without-rules", action="store_true",
                        help="不运行规则：只测读登记表、第一遍和第二遍的读取与关系，分段给出峰值（100 万户几分钟）")
    rules = commands.add_parser("rules", help="生成的 60、200、600 条规则的编译时间和核查速度")
    rules.add_argument("--counts", type=int, nargs="+", default=[60, 200, 600], help="规则条数")
    rules.add_argument("--households", type=int, default=300, help="用来测速的户数（默认 300）")
    profile_command = commands.add_parser("profile", help="用 cProfile 分析逐户核查的耗时")
    profile_command.add_argument("--n", type=int, default=300, help="户数（默认 300）")
    profile_command.add_argument("--top", type=int, default=30, help="列出耗时最多的函数个数")
    child = commands.add_parser("_parse")
    child.add_argument("households")
    child = commands.add_parser("_engine")
    child.add_argument("households")
    child.add_argument("registry")
    child = commands.add_parser("_passes")
    child.add_argument("households")
    child.add_argument("registry")
    child = commands.add_parser("_rules")
    child.add_argument("count", type=int)
    child.add_argument("households")
    child.add_argument("sample", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "_parse":
        parse_only(args.households)
        return 0
    if args.command == "_rules":
        rules_figures(args.count, args.households, args.sample)
        return 0
    if args.command == "_engine":
        engine_floor(args.households, args.registry)
        return 0
    if args.command == "_passes":
        passes_figures(args.households, args.registry)
        return 0
    if args.command == "profile":
        households, registry = dataset(args.workdir, args.n, args.seed)
        profile(households, registry, args.n, args.top)
        return 0
    results = {"machine": machine(), "command": args.command}
    if args.command == "throughput":
        households, registry = dataset(args.workdir, args.n, args.seed)
        results["parse"] = run_parse(households, args.n, args.quiet_wait)
        results["engine_floor"] = run_engine_floor(households, registry, args.quiet_wait)
        # One worker reads every dossier and gives durable_rules its facts: with nothing else, it could
        # check no faster than this.
        results["ceiling_per_second"] = round(1 / (1 / results["parse"]["per_second"]
                                                   + 1 / results["engine_floor"]["per_second"]), 1)
        results["startup_seconds"] = round(startup(households, registry, args.workdir, args.quiet_wait), 2)
        results["check"] = [run_check(households, registry, args.n, jobs, args.workdir, args.quiet_wait,
                                      results["startup_seconds"]) for jobs in args.jobs]
    elif args.command == "memory":
        results["check"] = []
        for n in args.n:
            households, registry = dataset(args.workdir, n, args.seed)
            if args.without_rules:
                results["check"].append(run_passes(households, registry, n, args.quiet_wait))
            else:
                results["check"].append(run_check(households, registry, n, args.jobs, args.workdir, args.quiet_wait))
    else:
        households, _ = dataset(args.workdir, args.households, args.seed)
        results["rules"] = [run_rules(count, households, args.households, args.quiet_wait) for count in args.counts]
    text = json.dumps(results, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
