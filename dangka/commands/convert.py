"""`dangka convert`: dossiers between YAML, JSON, JSON Lines and the national-system workbook layout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from dangka.commands.common import check_out
from dangka.errors import InputError, Location, UsageError
from dangka.i18n import tr
from dangka.load import Loaded
from dangka.mask import mask_text
from dangka.output import write_atomic
from dangka import spreadsheet
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
    check_out(args.out, args, args.inputs)
    shown = str if args.no_mask else mask_text
    loaded, unreadable = _read(args.inputs, shown)
    if kind == "xlsx" and len(loaded) > spreadsheet.MAX_HOUSEHOLDS:
        raise UsageError(tr(f"共 {len(loaded)} 户，超过一个工作簿的上限 {spreadsheet.MAX_HOUSEHOLDS} 户；"
                            "请输出为 JSON Lines（--out 文件.jsonl）",
                            f"{len(loaded)} households are more than one workbook holds "
                            f"({spreadsheet.MAX_HOUSEHOLDS}): write JSON Lines (--out FILE.jsonl)"))
    left_out = _write([item.dossier for item in loaded], args.out, kind)
    for place, reason in left_out:
        _tell_left_out(loaded[place], reason, shown)
    count = len(loaded) - len(left_out)
    print(tr(f"已转换 {count} 户 → {args.out}", f"converted {count} households → {args.out}"), file=sys.stderr)
    if unreadable:
        print(
            tr(f"{unreadable} 项无法读取，未写入输出", f"{unreadable} inputs could not be read and were left out"),
            file=sys.stderr,
        )
    if left_out:
        print(tr(f"{len(left_out)} 户不能写入工作簿，未写入输出",
                 f"{len(left_out)} households cannot be held by a workbook and were left out"), file=sys.stderr)
    return 1 if unreadable or left_out else 0


def _read(paths: list[str], shown) -> tuple[list[Loaded], int]:
    """The readable dossiers; each problem and each cell kept as written is told on standard error."""
    readable, unreadable = [], 0
    for loaded in iter_inputs(paths):
        for note in getattr(loaded, "notes", ()):
            print(shown(tr(f"提示：{loaded.source}：{note}", f"note: {loaded.source}: {note}")), file=sys.stderr)
        if loaded.error is not None:
            print(shown(str(loaded.error)), file=sys.stderr)
            unreadable += 1
        else:
            readable.append(loaded)
    return readable, unreadable


def _tell_left_out(loaded: Loaded, reason: str, shown) -> None:
    household_id = loaded.dossier.get("id")
    message = tr(f"户 {household_id} 没有写入工作簿：{reason}", f"household {household_id} is not in the workbook: {reason}")
    print(shown(str(InputError(message, Location(loaded.source, loaded.line)))), file=sys.stderr)


def _write(dossiers: list[dict], out: str, kind: str) -> list[tuple[int, str]]:
    """Write the dossiers; returned are those a workbook cannot hold (place, why), which were left out."""
    if kind == "xlsx":
        return write_workbook(dossiers, out)
    if kind == "jsonl":
        text = "".join(json.dumps(dossier, ensure_ascii=False, default=iso_date) + "\n" for dossier in dossiers)
    elif kind == "json":
        text = json.dumps({"households": dossiers}, ensure_ascii=False, indent=2, default=iso_date) + "\n"
    else:
        text = yaml.safe_dump({"households": dossiers}, allow_unicode=True, sort_keys=False, width=120)
    write_atomic(out, text.encode("utf-8"))   # DangkaError output.unwritable when it cannot
    return []
