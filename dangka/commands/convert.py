"""`dangka convert`: dossiers between YAML, JSON, JSON Lines and the national-system workbook layout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from dangka.commands.common import refuse_overwriting_inputs
from dangka.errors import DangkaError, Location, UsageError
from dangka.i18n import tr
from dangka.mask import mask_text
from dangka.output import output_target, write_atomic
from dangka.spreadsheet import iso_date, iter_inputs, write_workbook

HELP = {"convert": "在 YAML、JSON、JSON Lines 与工作簿（xlsx）之间转换档案，不丢失内容"}
OUTPUT_KINDS = {".xlsx": "xlsx", ".jsonl": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def add_arguments(name: str, parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="输入", help="档案文件或文件夹（.yaml .yml .json .jsonl .xlsx）")
    parser.add_argument("--out", required=True, metavar="文件", help="输出文件，按扩展名：.xlsx .jsonl .json .yaml")
    parser.add_argument("--no-mask", action="store_true", help="错误信息中不遮盖身份证号和电话号码")


def run(args) -> int:
    kind = OUTPUT_KINDS.get(Path(args.out).suffix.lower())
    if kind is None:
        raise UsageError(
            tr(
                f"不支持的输出格式：{args.out}（应为 .xlsx、.jsonl、.json 或 .yaml）",
                f"unsupported output format: {args.out} (use .xlsx, .jsonl, .json or .yaml)",
            )
        )
    refuse_overwriting_inputs(args.out, args, args.inputs)
    output_target(args.out)
    dossiers, unreadable = _read(args.inputs, mask=not args.no_mask)
    _write(dossiers, args.out, kind)
    count = len(dossiers)
    print(tr(f"已转换 {count} 户 → {args.out}", f"converted {count} households → {args.out}"), file=sys.stderr)
    if unreadable:
        print(
            tr(f"{unreadable} 项无法读取，未写入输出", f"{unreadable} inputs could not be read and were left out"),
            file=sys.stderr,
        )
    return 1 if unreadable else 0


def _read(paths: list[str], mask: bool) -> tuple[list[dict], int]:
    """The readable dossiers; each problem and each cell kept as written is told on standard error."""
    shown = mask_text if mask else str
    dossiers, unreadable = [], 0
    for loaded in iter_inputs(paths):
        for note in getattr(loaded, "notes", ()):
            print(shown(tr(f"提示：{loaded.source}：{note}", f"note: {loaded.source}: {note}")), file=sys.stderr)
        if loaded.error is not None:
            print(shown(str(loaded.error)), file=sys.stderr)
            unreadable += 1
        else:
            dossiers.append(loaded.dossier)
    return dossiers, unreadable


def _write(dossiers: list[dict], out: str, kind: str) -> None:
    if kind == "xlsx":
        write_workbook(dossiers, out)
        return
    if kind == "jsonl":
        text = "".join(json.dumps(dossier, ensure_ascii=False, default=iso_date) + "\n" for dossier in dossiers)
    elif kind == "json":
        text = json.dumps({"households": dossiers}, ensure_ascii=False, indent=2, default=iso_date) + "\n"
    else:
        text = yaml.safe_dump({"households": dossiers}, allow_unicode=True, sort_keys=False, width=120)
    try:
        write_atomic(out, text.encode("utf-8"))
    except OSError as error:
        message = tr(f"无法写入：{error.strerror or error}", f"cannot write: {error}")
        raise DangkaError(message, Location(out), code="output.unwritable") from error
