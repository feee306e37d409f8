"""`dangka test`: run every case of the library against the rules; coverage of rules by cases."""

from __future__ import annotations

import json
from pathlib import Path

from dangka.cases import default_cases_dir, run_suite
from dangka.commands.common import add_knowledge_arguments, load_knowledge
from dangka.i18n import tr
from dangka.output import write_text

HELP = {"test": "运行案例库，检查每条规则的结论是否符合预期，并统计规则覆盖"}


def add_arguments(name: str, parser) -> None:
    parser.add_argument("--cases", metavar="文件夹", help="案例文件夹（默认：仓库中的 cases/）")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    add_knowledge_arguments(parser)


def run(args) -> int:
    knowledge = load_knowledge(args)
    folder = Path(args.cases) if args.cases else default_cases_dir()
    report = run_suite(folder, knowledge)
    data = report.to_json()
    if args.format == "json":
        write_text(json.dumps(data, ensure_ascii=False, indent=2), None)
    else:
        write_text(render(data), None)
    return 0 if data["failed"] == 0 else 1


def render(data: dict) -> str:
    lines = []
    for failure in data["failures"]:
        for difference in failure["differences"]:
            lines.append(f"✗ {failure['file']} → {failure['case'] or tr('（案例文件有误）', '(bad case file)')} → {difference}")
    if data["rules_never_fired"]:
        lines.append(tr("没有任何案例触发的规则：", "rules no case fires: ") + "、".join(data["rules_never_fired"]))
    if data["rules_never_proven_silent"]:
        lines.append(tr("没有案例证明其不误报的规则：", "rules no case proves silent: ") + "、".join(data["rules_never_proven_silent"]))
    lines.append(tr(f"{data['cases']} 个案例，{data['passed']} 个通过，{data['failed']} 个失败；"
                    f"{data['rules_total']} 条规则中 {data['rules_fired']} 条被案例触发",
                    f"{data['cases']} cases, {data['passed']} passed, {data['failed']} failed; "
                    f"{data['rules_fired']} of {data['rules_total']} rules fired by some case"))
    return "\n".join(lines)
