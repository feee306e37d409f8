"""The `dangka` command line: parses arguments and hands over to one module per sub-command."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

from dangka import __version__
from dangka.errors import DangkaError
from dangka.i18n import set_lang, tr
from dangka.output import TerminalSafe

# sub-command → module in dangka.commands; each module has HELP, add_arguments(parser), run(args).
COMMANDS = {
    "check": "check",
    "explain": "explain",
    "lint": "lint",
    "fmt": "fmt",
    "test": "casetest",
    "train": "train",
    "graph": "graph",
    "who": "graph",
    "helper": "graph",
    "convert": "convert",
}


def _available_commands(names: list[str] | None = None) -> dict[str, object]:
    """The modules of the sub-commands `names` (default: all) whose modules are present."""
    modules = {}
    for name in names or COMMANDS:
        module_name = COMMANDS[name]
        try:
            module = importlib.import_module(f"dangka.commands.{module_name}")
        except ModuleNotFoundError as error:
            if error.name == f"dangka.commands.{module_name}":
                continue
            raise
        modules[name] = module
    return modules


# argparse's complaints (Python 3.11 wording) → what a Chinese-speaking user reads.
_ARGPARSE_MESSAGES = (
    (re.compile(r"the following arguments are required: (.*)"), "缺少必需的参数：{0}"),
    (re.compile(r"unrecognized arguments: (.*)"), "不认识的参数：{0}"),
    (re.compile(r"invalid choice: (.*) \(choose from (.*)\)"), "不能是 {0}，可选：{1}"),
    (re.compile(r"invalid int value: (.*)"), "{0} 不是整数"),
    (re.compile(r"invalid float value: (.*)"), "{0} 不是数"),
    (re.compile(r"expected one argument"), "后面应有一个值"),
    (re.compile(r"expected at least one argument"), "后面应至少有一个值"),
    (re.compile(r"not allowed with argument (.*)"), "不能与 {0} 同时使用"),
    (re.compile(r"ignored explicit argument (.*)"), "不接受取值 {0}"),
    (re.compile(r"ambiguous option: (.*) could match (.*)"), "选项 {0} 有歧义，可能是 {1}"),
    (re.compile(r"one of the arguments (.*) is required"), "须给出 {0} 之一"),
)
_ARGUMENT = re.compile(r"argument (.+?): (.*)", re.DOTALL)


def _in_chinese(message: str) -> str:
    """An argparse message in Chinese; one it has no words for is kept as it is."""
    argument = _ARGUMENT.fullmatch(message)
    prefix, rest = (f"参数 {argument.group(1)}：", argument.group(2)) if argument else ("", message)
    for pattern, chinese in _ARGPARSE_MESSAGES:
        found = pattern.fullmatch(rest)
        if found:
            return prefix + chinese.format(*found.groups())
    return prefix + rest


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, tr("用法：", "usage: ") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse speaking the users' language: its complaints and the help's headings in Chinese."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, formatter_class=_Formatter, add_help=False, **kwargs)
        self._positionals.title = tr("位置参数", "positional arguments")
        self._optionals.title = tr("选项", "options")
        self.add_argument("-h", "--help", action="help", help=tr("显示本帮助并退出", "show this help and exit"))

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, tr(f"{self.prog}：错误：{_in_chinese(message)}\n", f"{self.prog}: error: {message}\n"))


def build_parser(modules: dict[str, object]) -> argparse.ArgumentParser:
    parser = _Parser(prog="dangka", description="档卡核查：建档立卡户档案的专家核查工具")
    parser.add_argument("--version", action="version", version=f"dangka {__version__}",
                        help=tr("显示版本并退出", "show the version and exit"))
    sub = parser.add_subparsers(dest="command", metavar="命令")
    for name, module in modules.items():
        helps = getattr(module, "HELP", {})
        command_parser = sub.add_parser(name, help=helps.get(name, ""), description=helps.get(name, ""))
        command_parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="消息语言 (zh 中文, en English)")
        module.add_arguments(name, command_parser)
    return parser


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _ClosedOutput:
    """Standard output when the shell closed it (`dangka check … >&-`): writing to it is an error."""

    def write(self, text: str) -> int:
        raise OSError(9, tr("标准输出已关闭（请用 --out 指定文件）", "standard output is closed (give --out FILE)"))

    def flush(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Only the named command's module is imported (its imports are the run's); help, --version and
    # mistyped commands need them all.
    named = [argv[0]] if argv and argv[0] in COMMANDS else None
    modules = (named and _available_commands(named)) or _available_commands()
    # The language is known before parsing, so that argparse's complaints come in it too.
    set_lang("en" if "--lang=en" in argv or any(a == "--lang" and b == "en" for a, b in zip(argv, argv[1:])) else "zh")
    parser = build_parser(modules)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    set_lang(args.lang)
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    # Names and messages come from the users' files: a terminal is never given their control characters.
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, TerminalSafe) and _is_terminal(stream):
            setattr(sys, name, TerminalSafe(stream))
    try:
        return int(modules[args.command].run(args) or 0)
    except DangkaError as error:
        print(tr("错误：", "error: ") + str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(tr("已中断", "interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`dangka check … | head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        # A failed write to standard output (a full disk, a closed descriptor) names no file;
        # every other OSError is dangka's own fault and keeps its traceback.
        if error.filename is not None:
            raise
        print(tr(f"错误：无法写出到标准输出：{error.strerror}", f"error: cannot write to standard output: {error.strerror}"),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
