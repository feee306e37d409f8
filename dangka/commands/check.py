"""`dangka check`: check dossiers and write the findings (text, JSON, HTML or a workbook)."""

from __future__ import annotations

import argparse
import codecs
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from dangka.commands.common import (
    Progress,
    add_knowledge_arguments,
    check_out,
    load_knowledge,
    registry_for,
    require_paths,
)
from dangka.engine.batch import Outcome, check_paths
from dangka.engine.cache import ResultCache
from dangka.engine.knowledge import Knowledge
from dangka.errors import UsageError
from dangka.findings import Tally, document, header
from dangka.i18n import tr
from dangka.mask import mask_value
from dangka.output import json_piece, json_text, opened_output, terminal_safe, write_text
from dangka.report import masked_household, masked_layout, masked_report, needs_masking, walked_household

# The text report's pieces for one household, to write households one by one.
from dangka.report.text import (
    household_lines,
    Paint,
    village_key,
    render_text,
    use_colour,
)

HELP = {"check": "核查档案，列出每户的问题、依据和建议措施"}

# Formats written household by household (memory stays flat); the others need the whole document.
STREAMED_FORMATS = ("text", "json")


def add_arguments(name: str, parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="路径", help="档案文件或文件夹（YAML、JSON、JSON Lines）")
    parser.add_argument("--registry", metavar="文件", help="帮扶责任体系登记表（默认：所查文件夹中的 registry.yaml）")
    parser.add_argument("--format", choices=["text", "json", "html", "xlsx"], default="text",
                        help="输出格式（text、json 逐户写出，内存不随户数增长；html、xlsx 需先汇总全部结果）")
    parser.add_argument("--out", metavar="文件", help="写入文件（默认输出到屏幕；xlsx 必须给出）")
    parser.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1, metavar="N",
                        help="并行进程数（默认：全部核心；多于核心数时按核心数）")
    parser.add_argument("--engine", choices=["local", "dask"], default="local",
                        help="核查引擎：local 为本机进程（默认），dask 为 Dask 集群（需 --scheduler）")
    parser.add_argument("--scheduler", metavar="地址", help="Dask 调度器地址，如 tcp://10.0.0.1:8786（与 --engine dask 同用）")
    parser.add_argument("--cache", metavar="文件夹", help="结果缓存：档案、知识库和帮扶负担都未变的户不再重新核查")
    parser.add_argument("--no-mask", action="store_true", help="不遮盖身份证号和电话号码")
    add_knowledge_arguments(parser)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(tr(f"应为正整数，而不是“{text}”", f"must be a positive whole number, not '{text}'"))
    return value


def _workers(jobs: int) -> int:
    """The worker processes to start: the checking is CPU-bound, so more processes than cores only cost memory."""
    cores = os.cpu_count() or 1
    if jobs > cores:
        sys.stderr.write(tr(f"--jobs {jobs} 多于本机的 {cores} 个核心，按 {cores} 个进程核查\n",
                            f"--jobs {jobs} is more than this machine's {cores} cores: checking with {cores} processes\n"))
    return min(jobs, cores)


def run(args) -> int:
    require_paths(args.paths)
    check_out(args.out, args, args.paths)
    if args.format == "xlsx" and not args.out:
        raise UsageError(tr("xlsx 格式需要用 --out 指定文件", "--format xlsx needs --out FILE"))
    if args.scheduler and args.engine != "dask":
        raise UsageError(tr("--scheduler 需与 --engine dask 一起使用", "--scheduler goes with --engine dask"))
    knowledge = load_knowledge(args)
    grading = None
    if args.format not in STREAMED_FORMATS:
        # The reports rank counties by grading.yaml, read now: a missing or broken one is told before the run.
        from dangka.report.grade import load_grading_policy
        grading = load_grading_policy(args.policies)
    progress = Progress(enabled=args.out is not None or args.format != "text")
    cache = ResultCache(args.cache) if args.cache else None
    try:
        # The registry is not kept here: pass 1 turns it into the graph and lets it go.
        outcomes = _outcomes(args, registry_for(args, args.paths), knowledge, progress, cache)
        if args.format in STREAMED_FORMATS:
            errors = stream(outcomes, knowledge, args)
        else:
            errors = collect_and_emit(outcomes, knowledge, args, grading)
    finally:
        if cache is not None:
            cache.close()
    progress.done()
    if cache is not None:
        sys.stderr.write(tr(f"缓存：{cache.hits} 户取自缓存，{cache.misses} 户重新核查\n",
                            f"cache: {cache.hits} households from the cache, {cache.misses} checked\n"))
    return 1 if errors else 0


def _outcomes(args, registry, knowledge: Knowledge, progress, cache) -> Iterator[Outcome]:
    if args.engine == "dask" and args.scheduler:
        from dangka.engine.distributed import KnowledgeSpec, check_on_cluster
        spec = KnowledgeSpec.of(knowledge, args.rules, args.policies)
        return check_on_cluster(args.paths, registry, spec, args.scheduler, progress, cache)
    if args.engine == "dask":
        sys.stderr.write(tr("未给出 --scheduler，使用本机引擎核查\n", "no --scheduler given: checking with the local engine\n"))
    # Nothing else reads the registry: pass 1 empties its lists as it builds the graph from them.
    return check_paths(args.paths, registry, knowledge, progress, jobs=_workers(args.jobs), cache=cache,
                       consume_registry=True)


def collect_and_emit(outcomes: Iterator[Outcome], knowledge: Knowledge, args, grading) -> list[dict]:
    """HTML and workbook reports: the whole document first, then the report."""
    entries, errors = [], []
    for outcome in outcomes:
        if outcome.error is not None:
            errors.append(outcome.error)
        else:
            entries.append(outcome.entry)
    report = document(entries, errors, knowledge)
    if not args.no_mask:
        report = masked_report(report)
    from dangka.report.grade import grade
    # 评比: counties and townships scored by findings per household, thresholds in grading.yaml.
    grades = grade(report, grading)
    if args.format == "html":
        from dangka.report.html import render_html
        write_text(render_html(report, mask=not args.no_mask, grades=grades), args.out)
    else:
        from dangka.report.xlsx import write_xlsx
        write_xlsx(report, args.out, mask=not args.no_mask, grades=grades)
    return errors


def stream(outcomes: Iterator[Outcome], knowledge: Knowledge, args) -> list[dict]:
    """Text or JSON written household by household; the input errors (few) are kept for the end."""
    mask = not args.no_mask
    with open_output(args.out) as out:
        colour = args.out is None and use_colour(sys.stdout)
        writer = JsonWriter(out, knowledge, mask) if args.format == "json" else TextWriter(out, colour, mask)
        for outcome in outcomes:
            if outcome.error is not None:
                writer.tally.errors.append(outcome.error)
            else:
                writer.household(outcome.entry)
        writer.finish()
    return writer.tally.errors


class JsonWriter:
    """The findings document, byte for byte as json.dumps(document, ensure_ascii=False, indent=2) writes it."""

    def __init__(self, out: IO[str], knowledge: Knowledge, mask: bool):
        self.out = Utf8Output(out)
        self.mask = mask
        self.tally = Tally()
        # The header's text without its closing "\n}", continued by the households list. It holds the
        # version and the knowledge block, no personal data (masked_report leaves it as it is too).
        self.out.write(json_text(header(knowledge))[:-2] + ',\n  "households": [')

    def household(self, entry: dict) -> None:
        self.out.write(",\n    " if self.tally.households else "\n    ")
        self.tally.add(entry)
        self.out.write(self._entry_json(entry))

    def _entry_json(self, entry: dict) -> bytes | str:
        if not self.mask:
            return _in_households(entry)
        # The layout's JSON is the masked entry's whenever masking would change nothing (most households).
        piece = _in_households(masked_layout(entry))
        utf8 = piece if isinstance(piece, bytes) else piece.encode("utf-8", "surrogatepass")
        return _in_households(walked_household(entry)) if needs_masking(entry, utf8) else piece

    def finish(self) -> None:
        self.out.write("\n  ]" if self.tally.households else "]")
        tail = {"errors": self.tally.errors, "summary": self.tally.summary()}
        # The tail's text without its opening "{": it continues the document after the households.
        self.out.write("," + json_text(mask_value(tail) if self.mask else tail)[1:] + "\n")


class Utf8Output:
    """A text stream that also takes UTF-8 bytes: straight into its byte buffer where it would encode their text so."""

    def __init__(self, out: IO[str]):
        self.out = out
        # Only a stream encoding UTF-8 strictly, without turning "\n" into anything else, writes
        # the very bytes its text has; any other (a StringIO, another encoding) is given text.
        buffer = getattr(out, "buffer", None)
        same_bytes = (os.linesep == "\n" and getattr(out, "errors", None) == "strict"
                      and codecs.lookup(getattr(out, "encoding", None) or "ascii").name == "utf-8")
        self.buffer = buffer if same_bytes else None
        if self.buffer is not None:
            out.flush()

    def write(self, piece: bytes | str) -> None:
        if self.buffer is None:
            self.out.write(piece.decode() if isinstance(piece, bytes) else piece)
        else:
            # Text is encoded as the stream would: a lone surrogate is refused as it refuses it.
            self.buffer.write(piece if isinstance(piece, bytes) else piece.encode())


class TextWriter:
    """The text report, household by household; a village's heading is written each time the village changes.

    For input grouped by village (as exports and generated data are) this is the text that
    dangka.report.text.render_text writes for the whole document.
    """

    def __init__(self, out: IO[str], colour: bool, mask: bool):
        self.out = out
        self.mask = mask
        self.paint = Paint(colour)
        self.tally = Tally()
        self.village: tuple[str, str, str] | None = None

    def household(self, entry: dict) -> None:
        self.tally.add(entry)
        shown = masked_household(entry) if self.mask else entry
        village = village_key(shown)
        if village != self.village:
            if self.village is not None:
                self.out.write("\n")
            self.out.write(terminal_safe(self.paint("bold", "■ " + " ".join(village)) + "\n"))
            self.village = village
        # A report file is read in a terminal too: the data's control characters never reach one.
        self.out.write(terminal_safe("".join(line + "\n" for line in household_lines(shown, self.paint))))

    def finish(self) -> None:
        if self.village is not None:
            self.out.write("\n")
        # With no households, render_text writes just what ends the report: the errors and the summary.
        tail = {"households": [], "errors": self.tally.errors, "summary": self.tally.summary()}
        self.out.write(render_text(masked_report(tail) if self.mask else tail, colour=self.paint.enabled))


_HOUSEHOLDS_OPENING = '{\n  "households": [\n    '
_HOUSEHOLDS_CLOSING = "\n  ]\n}"


def _in_households(entry: dict) -> bytes | str:
    """The entry's JSON as an item of the document's households list: indented by four spaces after its first line."""
    # Written inside a households list, the entry gets the document's indent from the encoder itself.
    return json_piece({"households": [entry]})[len(_HOUSEHOLDS_OPENING) : -len(_HOUSEHOLDS_CLOSING)]


@contextmanager
def open_output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or the file at `path` written whole (dangka.output.opened_output)."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with opened_output(path) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        yield text
        text.flush()
        text.detach()
