"""`dangka fmt`: rewrite rule files in one canonical layout (or, with --check, say which differ)."""

from __future__ import annotations

from pathlib import Path

from dangka.dsl.format import format_text
from dangka.dsl.parse import RuleError, RuleErrors, read_rule_file
from dangka.engine.knowledge import rule_files
from dangka.i18n import tr
from dangka.output import write_atomic

HELP = {"fmt": "把规则文件整理成统一格式"}


def add_arguments(name: str, parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="路径", help="规则文件或文件夹")
    parser.add_argument("--check", action="store_true", help="只检查格式，不改写文件（格式不一致时退出码 1）")


def run(args) -> int:
    differing = []
    errors = []
    for path in rule_files([Path(p) for p in args.paths]):
        try:
            text = read_rule_file(str(path))
            formatted = format_text(text, str(path))
        except RuleError as problem:   # a file that cannot be read: the others are still formatted
            errors.append(problem)
            continue
        except RuleErrors as problem:
            errors.extend(problem.errors)
            continue
        if formatted != text:
            differing.append(path)
            if not args.check:
                write_atomic(str(path), formatted.encode("utf-8"))
    for error in errors:
        print(error.render())
    for path in differing:
        print(tr(f"{'格式不一致' if args.check else '已整理'}：{path}", f"{'would reformat' if args.check else 'reformatted'}: {path}"))
    if errors:
        return 2
    return 1 if args.check and differing else 0
