"""The `dangka` command line: parses arguments and hands over to one module per sub-command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from dangka import __version__
from dangka.errors import DangkaError
from dangka.i18n import set_lang, tr

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


def build_parser(modules: dict[str, object]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dangka", description="档卡核查：建档立卡户档案的专家核查工具")
    parser.add_argument("--version", action="version", version=f"dangka {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="命令")
    for name, module in modules.items():
        helps = getattr(module, "HELP", {})
        command_parser = sub.add_parser(name, help=helps.get(name, ""), description=helps.get(name, ""))
        command_parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="消息语言 (zh 中文, en English)")
        module.add_arguments(name, command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Only the named command's module is imported (its imports are the run's); help, --version and
    # mistyped commands need them all.
    named = [argv[0]] if argv and argv[0] in COMMANDS else None
    modules = (named and _available_commands(named)) or _available_commands()
    parser = build_parser(modules)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    set_lang(args.lang)
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


if __name__ == "__main__":
    sys.exit(main())
