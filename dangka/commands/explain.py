"""`dangka explain`: for one household, every rule's outcome and each condition's values and result."""

from __future__ import annotations

import json

from dangka.commands.common import add_knowledge_arguments, check_out, load_knowledge, registry_for, require_paths
from dangka.engine.batch import build_graph, recommendations_for
from dangka.engine.explain import explanation_json, render_text
from dangka.engine.run import Engine
from dangka.engine.trace import Tracer
from dangka.errors import InputError, UsageError
from dangka.i18n import tr
from dangka.load import iter_dossiers
from dangka.mask import mask_value
from dangka.output import terminal_safe, write_text

HELP = {"explain": "解释一户的核查过程：每条规则是否触发、每个条件读到的值"}


def add_arguments(name: str, parser) -> None:
    parser.add_argument("dossier", metavar="档案", help="档案文件（或文件夹，配合 --household）")
    parser.add_argument("--household", metavar="户编号", help="文件中有多户时，指定一户")
    parser.add_argument("--registry", metavar="文件", help="帮扶责任体系登记表")
    parser.add_argument("--rule", metavar="规则编号", help="只解释这一条规则")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--all", action="store_true", help="未触发的规则也逐条列出条件")
    parser.add_argument("--out", metavar="文件")
    parser.add_argument("--no-mask", action="store_true", help="不遮盖身份证号和电话号码")
    add_knowledge_arguments(parser)


def run(args) -> int:
    require_paths([args.dossier])
    check_out(args.out, args, [args.dossier])
    knowledge = load_knowledge(args)
    if args.rule and knowledge.rule(args.rule) is None:
        raise UsageError(tr(f"没有编号为 {args.rule} 的规则", f"no rule {args.rule}"))
    registry = registry_for(args, [args.dossier])
    loaded = _pick(args.dossier, args.household)
    graph = build_graph([args.dossier], registry)
    household = Engine(knowledge).household(loaded.dossier, graph.links(loaded.dossier))
    traces = Tracer(knowledge).trace(household, args.rule)
    recommended, ruled_out = recommendations_for(household)
    explanation = explanation_json(str(loaded.dossier.get("id")), traces, recommended, ruled_out)
    if not args.no_mask:
        explanation = mask_value(explanation)
    if args.format == "json":
        write_text(json.dumps(explanation, ensure_ascii=False, indent=2), args.out)
    else:
        write_text(terminal_safe(render_text(explanation, verbose=args.all)), args.out)
    return 0


def _pick(path: str, household_id: str | None):
    candidates = []
    for loaded in iter_dossiers([path]):
        if loaded.error is not None:
            if household_id is None:
                raise loaded.error
            continue
        if household_id is None or str(loaded.dossier.get("id")) == household_id:
            candidates.append(loaded)
    if not candidates:
        raise InputError(tr(f"找不到户 {household_id}", f"no household {household_id}") if household_id
                         else tr("没有可读取的档案", "no readable dossier"))
    if household_id is None and len(candidates) > 1:
        raise UsageError(tr("文件中有多户，请用 --household 指定", "several households: choose one with --household"))
    return candidates[0]
