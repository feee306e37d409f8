"""What several sub-commands share: loading the knowledge base and the registry, with user-facing errors."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from dangka.errors import UsageError
from dangka.i18n import tr
from dangka.load import find_registry, load_registry
from dangka.output import output_target, write_own
from dangka.policy import default_directory

if TYPE_CHECKING:
    from dangka.engine.knowledge import Knowledge


def add_knowledge_arguments(parser) -> None:
    parser.add_argument("--rules", action="append", metavar="路径",
                        help="规则文件或文件夹（可多次给出；默认用自带的 knowledge/rules）")
    parser.add_argument("--policies", metavar="文件夹", help="政策文件夹（默认用自带的 knowledge/policies）")


def load_knowledge(args) -> Knowledge:
    """The knowledge base; a broken rule file raises RuleErrors (exit 2 with every error listed)."""
    # Imported here: the rule compiler and durable_rules are not needed by convert, graph, who or helper.
    from dangka.engine.knowledge import Knowledge

    return Knowledge.load(args.rules, args.policies)


def registry_for(args, paths: list[str]) -> dict | None:
    """--registry FILE, or registry.yaml in a checked folder; None when there is none."""
    path = getattr(args, "registry", None) or find_registry(paths)
    if path is None:
        return None
    return load_registry(path)


# Files a run reads when they lie in a folder it was given: dossiers, workbooks, rules, policies.
_READ_IN_FOLDERS = frozenset({".yaml", ".yml", ".json", ".jsonl", ".xlsx", ".rules"})


def check_out(out: str | None, args, paths: list[str]) -> None:
    """--out, checked before the run: a place that can be written (output.output_target), and not one
    of the run's input files, which dangka never writes to.

    An input is a dossier path, the registry, a rules path or the policies folder (the shipped ones
    when none is given); a file in an input folder is one when the run would read it there.
    """
    if out is None:
        return
    output_target(out)
    if not os.path.isfile(out):
        return
    inputs = [*paths, getattr(args, "registry", None), *_knowledge_read(args)]
    target = os.path.realpath(out)
    for path in inputs:
        if path is None or not os.path.exists(path):
            continue
        if os.path.isdir(path):
            folder = os.path.realpath(path)
            read_there = (os.path.commonpath([folder, target]) == folder
                          and os.path.splitext(target)[1].lower() in _READ_IN_FOLDERS)
        else:
            read_there = os.path.samefile(path, out)
        if read_there:
            raise UsageError(tr(f"输出文件 {out} 是本次核查的输入文件，dangka 从不改写输入；请用 --out 另指定一个文件",
                                f"the output file {out} is one of the run's inputs; dangka never overwrites its inputs: "
                                "give --out another file"))


def _knowledge_read(args) -> list[str]:
    """The rule and policy folders or files the command reads: those given, else the shipped ones.

    Commands without --rules read no rules; every command reads the policies (the dictionary of
    the dossier's words is one of them).
    """
    read = []
    if hasattr(args, "rules"):
        # Only check and explain take --rules, and they load the rule compiler anyway.
        from dangka.engine.knowledge import default_rules_dir

        read.extend(args.rules or [str(default_rules_dir())])
    read.append(getattr(args, "policies", None) or str(default_directory()))
    return read


def require_paths(paths: list[str]) -> None:
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        raise UsageError(tr(f"找不到：{'、'.join(missing)}", f"not found: {', '.join(missing)}"))


class Progress:
    """A one-line progress display on standard error, shown once a run lasts more than a second."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self.shown = False
        self.last = 0.0

    def __call__(self, index: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < 1.0 or now - self.last < 0.2:
            return
        self.last = now
        self.shown = True
        rate = (index + 1) / (now - self.started)
        write_own(sys.stderr, "\r" + tr(f"已核查 {index + 1} 户（每秒 {rate:.0f} 户）",
                                         f"checked {index + 1} households ({rate:.0f}/s)"))
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            write_own(sys.stderr, "\r\033[K")
            sys.stderr.flush()
