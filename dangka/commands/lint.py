"""`dangka lint`: every error of the rule files at once, sorted by place, with the line and a caret."""

from __future__ import annotations

import sys

from dangka.dsl.parse import RuleErrors
from dangka.engine.knowledge import Knowledge
from dangka.i18n import tr

HELP = {"lint": "检查规则文件：语法、字段名、类型、政策引用、类别、编号、推出的事实"}


def add_arguments(name: str, parser) -> None:
    parser.add_argument("paths", nargs="*", metavar="路径", help="规则文件或文件夹（默认：自带的 knowledge/rules）")
    parser.add_argument("--policies", metavar="文件夹", help="政策文件夹（默认用自带的 knowledge/policies）")


def run(args) -> int:
    try:
        knowledge = Knowledge.load(args.paths or None, args.policies)
    except RuleErrors as errors:
        for error in errors.errors:
            print(error.render())
        print(tr(f"共 {len(errors.errors)} 处错误", f"{len(errors.errors)} errors"), file=sys.stderr)
        return 2
    rules = sum(1 for compiled in knowledge.rules if not compiled.rule.conclude)
    derivations = len(knowledge.rules) - rules
    print(tr(f"没有发现错误：{len(knowledge.files)} 个文件，{rules} 条规则，{derivations} 条推出规则",
             f"no errors: {len(knowledge.files)} files, {rules} rules, {derivations} derivations"))
    return 0
