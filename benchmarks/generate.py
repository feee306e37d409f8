"""Write generated households as JSON Lines (and their registry as YAML) for benchmarks and tests."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext

import yaml

from dangka import synth

# Households per task when generating in parallel: whole blocks, so that no helper team is cut
# (a cut team would lose its overload) and each part equals the same stretch of a single run.
CHUNK = synth.BLOCK * 100


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="生成模拟的建档立卡户档案（JSON Lines）及帮扶责任体系登记表")
    parser.add_argument("--n", type=int, help="户数")
    parser.add_argument("--seed", type=int, default=0, help="随机种子（相同种子生成逐字节相同的数据）")
    parser.add_argument("--defect-rate", type=float, default=0.3, help="含问题户的比例，0 到 1（默认 0.3）")
    parser.add_argument("--counties", type=int, help=f"县的个数（默认每 {synth.HOUSEHOLDS_PER_COUNTY} 户一个县）")
    parser.add_argument("--only-defects", help="只注入这些问题，逗号分隔（见 --list-defects）")
    parser.add_argument("--out", help="输出的 .jsonl 文件，- 为标准输出")
    parser.add_argument("--registry-out",
                        help="同时写出帮扶责任体系登记表：.json 为 JSON，其他为 YAML（YAML 登记表超过 2 MB 时核查工具不读，大数据量请用 .json）")
    parser.add_argument("--jobs", type=int, default=1, help="并行进程数（输出与单进程相同）")
    parser.add_argument("--list-defects", action="store_true", help="列出可注入的问题类型后退出")
    return parser


def run_arguments(args: argparse.Namespace) -> dict:
    """The keyword arguments of synth.generate / generate_registry for this command line."""
    only = [key.strip() for key in args.only_defects.split(",") if key.strip()] if args.only_defects else None
    return {"n": args.n, "seed": args.seed, "defect_rate": args.defect_rate,
            "counties": args.counties or synth.county_count(args.n), "only_defects": only}


def _chunk_text(task: tuple[dict, int, int]) -> str:
    arguments, start, size = task
    households = synth.generate(**{**arguments, "n": size, "start_index": start})
    # Households are trees of dicts and lists that reference counting frees as soon as they are
    # written: the cyclic collector's scans would find nothing and only cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return "".join(json.dumps(household, ensure_ascii=False) + "\n" for household in households)
    finally:
        if collecting:
            gc.enable()


def write_households(arguments: dict, out, jobs: int) -> None:
    total = arguments["n"]
    tasks = [(arguments, start, min(CHUNK, total - start)) for start in range(0, total, CHUNK)]
    if jobs <= 1 or len(tasks) == 1:
        for task in tasks:
            out.write(_chunk_text(task))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for text in pool.map(_chunk_text, tasks):
            out.write(text)


def write_registry(arguments: dict, path: str) -> None:
    registry = synth.generate_registry(**arguments)
    with open(path, "w", encoding="utf-8") as out:
        if path.lower().endswith(".json"):
            json.dump(registry, out, ensure_ascii=False, separators=(",", ":"))
            return
        out.write("# 帮扶责任体系登记表（由 benchmarks/generate.py 生成，与同参数生成的档案对应）\n")
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        yaml.dump(registry, out, Dumper=dumper, allow_unicode=True, sort_keys=False, width=1000)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_defects:
        for key, description in synth.DEFECTS.items():
            print(f"{key}\t{'、'.join(synth.DEFECT_CATEGORIES[key])}\t{description}")
        return 0
    if args.n is None or not args.out:
        print("错误：请用 --n 指定户数、--out 指定输出文件（- 为标准输出）", file=sys.stderr)
        return 2
    try:
        arguments = run_arguments(args)
        synth.generate(**arguments)   # checks the arguments before any file is opened
        target = nullcontext(sys.stdout) if args.out == "-" else open(args.out, "w", encoding="utf-8")
        with target as out:
            write_households(arguments, out, args.jobs)
        if args.registry_out:
            write_registry(arguments, args.registry_out)
    except ValueError as error:
        print(f"错误：{error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"错误：无法写入 {error.filename}：{error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
