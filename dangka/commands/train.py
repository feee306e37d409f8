"""`dangka train`: an interactive training session on the case library (or one scripted answer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dangka.cases import Case, case_files, default_cases_dir, is_case_file, load_case
from dangka.commands.common import add_knowledge_arguments, load_knowledge, require_paths
from dangka.contract import enumeration
from dangka.engine.run import Engine
from dangka.errors import UsageError
from dangka.i18n import tr
from dangka.load import iter_dossiers
from dangka.train import grade, grade_lines, household_lines

HELP = {"train": "培训模式：看一户的情况，判断致贫原因、选择帮扶措施，按规则评分并讲解"}


def add_arguments(name: str, parser) -> None:
    parser.add_argument("--topic", metavar="主题", help="只用这一主题的案例（cases/ 下的文件夹名，如 plan）")
    parser.add_argument("--case", metavar="案例", help="只用这一个案例（文件名或路径）")
    parser.add_argument("--dossier", metavar="文件", help="用一份档案代替案例库")
    parser.add_argument("--answer-cause", metavar="原因", help="不提问，直接评这个致贫原因（供脚本使用）")
    parser.add_argument("--answer-measures", metavar="措施", help="不提问，直接评这些措施，用逗号分隔")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--no-mask", action="store_true", help="不遮盖身份证号和电话号码")
    add_knowledge_arguments(parser)


def _dossier_case(path: Path) -> Case:
    """A plain dossier file trained on as a case without expectations."""
    for item in iter_dossiers([str(path)]):
        if item.error is not None:
            raise item.error
        return Case(path, str(item.dossier.get("id")), "", [item.dossier], None, None, {})
    raise UsageError(tr(f"{path} 中没有档案", f"no dossier in {path}"))


def _cases(args) -> list[Case]:
    if args.dossier:
        require_paths([args.dossier])
        return [_dossier_case(Path(args.dossier))]
    if args.case:
        path = Path(args.case)
        if not path.exists():
            matches = [candidate for candidate in case_files(default_cases_dir()) if candidate.stem == args.case]
            if not matches:
                raise UsageError(tr(f"找不到案例 {args.case}", f"no case {args.case}"))
            path = matches[0]
        return [load_case(path) if is_case_file(path) else _dossier_case(path)]
    folder = default_cases_dir() / args.topic if args.topic else default_cases_dir()
    if not folder.is_dir():
        raise UsageError(tr(f"没有主题 {args.topic}", f"no topic {args.topic}"))
    cases = [load_case(path) for path in case_files(folder)]
    return [case for case in cases if len(case.dossiers) == 1]


def run(args) -> int:
    knowledge = load_knowledge(args)
    engine = Engine(knowledge)
    cases = _cases(args)
    if not cases:
        raise UsageError(tr("没有可用于培训的案例", "no case to train on"))
    if args.answer_cause or args.answer_measures:
        return _scripted(args, engine, cases[0])
    return _interactive(args, engine, cases)


def _scripted(args, engine: Engine, case: Case) -> int:
    measures = [item.strip() for item in (args.answer_measures or "").replace("，", ",").split(",") if item.strip()]
    result = grade(engine, case.dossiers[0], case.registry, args.answer_cause or "", measures)
    data = {"case": case.title, **result.to_json()}
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print("\n".join(grade_lines(result)))
    return 0


def _ask(prompt: str, choices: tuple[str, ...], many: bool) -> list[str] | None:
    """Read an answer by number or by word; None at end of input."""
    while True:
        print(prompt, end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return None
        picked = []
        wrong = []
        for part in line.replace("，", ",").replace("、", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if part.isdigit() and 1 <= int(part) <= len(choices):
                picked.append(choices[int(part) - 1])
            elif part in choices:
                picked.append(part)
            else:
                wrong.append(part)
        if wrong:
            print(tr(f"不认识：{'、'.join(wrong)}，请重新输入", f"unknown: {', '.join(wrong)}; try again"))
            continue
        if picked and (many or len(picked) == 1):
            return list(dict.fromkeys(picked))
        print(tr("请输入一个编号或名称" if not many else "请至少输入一个编号或名称",
                 "enter one number or word" if not many else "enter at least one number or word"))


def _interactive(args, engine: Engine, cases: list[Case]) -> int:
    causes = enumeration("cause").names
    measures = tuple(engine.knowledge.policies.table("measures").rows)
    scores = []
    print(tr("帮扶责任人培训：根据每户情况判断主要致贫原因，并选择帮扶措施。", "Helper training."))
    for number, case in enumerate(cases, start=1):
        print()
        print(f"案例 {number}/{len(cases)}：{case.title}")
        print("\n".join(household_lines(case.dossiers[0], mask=not args.no_mask)))
        print(tr("致贫原因：", "causes: ") + "  ".join(f"{index}.{word}" for index, word in enumerate(causes, start=1)))
        cause = _ask(tr("主要致贫原因（编号或名称）：", "main cause: "), causes, many=False)
        if cause is None:
            break
        print(tr("帮扶措施：", "measures: ") + "  ".join(f"{index}.{word}" for index, word in enumerate(measures, start=1)))
        chosen = _ask(tr("帮扶措施（编号或名称，用逗号分隔）：", "measures (comma separated): "), measures, many=True)
        if chosen is None:
            break
        result = grade(engine, case.dossiers[0], case.registry, cause[0], chosen)
        scores.append(result.score)
        print("\n".join(grade_lines(result)))
        if case.story:
            print(tr("案例说明：", "about this case: ") + case.story.strip())
    if scores:
        print()
        print(tr(f"共完成 {len(scores)} 个案例，平均得分 {sum(scores) / len(scores):.0f}",
                 f"{len(scores)} cases, average score {sum(scores) / len(scores):.0f}"))
    return 0
