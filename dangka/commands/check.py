"""`dangka check`: check dossiers and write the findings (text, JSON, HTML or a workbook)."""

from __future__ import annotations

import json
import os
import sys

from dangka.commands.common import Progress, add_knowledge_arguments, load_knowledge, registry_for, require_paths
from dangka.engine.batch import check_paths
from dangka.findings import document
from dangka.output import write_text
from dangka.report import masked_report
from dangka.report.text import render_text, use_colour

HELP = {"check": "核查档案，列出每户的问题、依据和建议措施"}


def add_arguments(name: str, parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="路径", help="档案文件或文件夹（YAML、JSON、JSON Lines）")
    parser.add_argument("--registry", metavar="文件", help="帮扶责任体系登记表（默认：所查文件夹中的 registry.yaml）")
    parser.add_argument("--format", choices=["text", "json", "html", "xlsx"], default="text", help="输出格式")
    parser.add_argument("--out", metavar="文件", help="写入文件（默认输出到屏幕；xlsx 必须给出）")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="并行进程数（默认：全部核心）")
    parser.add_argument("--no-mask", action="store_true", help="不遮盖身份证号和电话号码")
    add_knowledge_arguments(parser)


def run(args) -> int:
    require_paths(args.paths)
    if args.format == "xlsx" and not args.out:
        from dangka.errors import UsageError
        from dangka.i18n import tr
        raise UsageError(tr("xlsx 格式需要用 --out 指定文件", "--format xlsx needs --out FILE"))
    knowledge = load_knowledge(args)
    registry = registry_for(args, args.paths)
    progress = Progress(enabled=args.out is not None or args.format != "text")
    entries, errors = [], []
    for outcome in check_paths(args.paths, registry, knowledge, progress, jobs=args.jobs):
        if outcome.error is not None:
            errors.append(outcome.error)
        else:
            entries.append(outcome.entry)
    progress.done()
    report = document(entries, errors, knowledge)
    if not args.no_mask:
        report = masked_report(report)
    emit(report, args)
    return 1 if errors else 0


def emit(report: dict, args) -> None:
    if args.format == "json":
        write_text(json.dumps(report, ensure_ascii=False, indent=2), args.out)
    elif args.format == "html":
        from dangka.report.html import render_html
        write_text(render_html(report, mask=not args.no_mask), args.out)
    elif args.format == "xlsx":
        from dangka.report.xlsx import write_xlsx
        write_xlsx(report, args.out, mask=not args.no_mask)
    else:
        colour = args.out is None and use_colour(sys.stdout)
        write_text(render_text(report, colour=colour), args.out)
