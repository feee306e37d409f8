"""`dangka check` end to end: examples, the JSON contract, bad input, masking, workers, output files."""

from __future__ import annotations

import json
import shutil

import pytest

from dangka.cli import main
from dangka.i18n import set_lang


def run_json(capsys, *args):
    code = main(["check", *args, "--format", "json", "--jobs", "1"])
    return code, json.loads(capsys.readouterr().out)


def test_examples_give_what_their_comments_say(capsys, examples_dir):
    code, report = run_json(capsys, str(examples_dir))
    assert code == 0
    by_id = {household["id"]: household for household in report["households"]}
    assert by_id["HN-410727-0101-001"]["findings"] == []
    categories = {finding["category"] for finding in by_id["HN-410727-0101-002"]["findings"]}
    assert {"plan.cause_mismatch", "plan.capacity_mismatch"} <= categories
    for finding in by_id["HN-410727-0101-002"]["findings"]:
        assert set(finding) >= {"rule", "category", "severity", "title", "message", "evidence", "basis", "source", "recommend"}
        assert finding["evidence"] and all(set(item) == {"path", "value"} for item in finding["evidence"])
        path, line = finding["source"].rsplit(":", 1)
        assert path.startswith("knowledge/rules/") and int(line) > 0
    assert set(report) >= {"version", "knowledge", "households", "errors", "summary"}
    assert report["knowledge"]["rules"] >= 60 and len(report["knowledge"]["digest"]) == 64
    assert report["summary"]["households"] == 2 and report["summary"]["with_findings"] == 1
    assert by_id["HN-410727-0101-002"]["recommendations"][0].keys() >= {"measure", "because"}


def test_personal_numbers_are_masked_unless_asked(capsys, examples_dir, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(examples_dir, folder)
    text = (folder / "cooking.yaml").read_text(encoding="utf-8").replace('phone: "13637370022"', 'phone: "1363737002"')
    (folder / "cooking.yaml").write_text(text, encoding="utf-8")
    assert main(["check", str(folder), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "1363737002" not in out and "410727194411030515" not in out
    _code, report = run_json(capsys, str(folder), "--no-mask")
    assert "1363737002" in json.dumps(report, ensure_ascii=False)


BROKEN = {
    "truncated.yaml": "id: X-1\nregion: {county: 封丘县, township: 城关镇\n",
    "binary.yaml": None,
    "list.json": "[1, 2, 3]",
    "noname.yaml": "id: X-2\nregion: {county: a, township: b, village: c}\nmembers: [{relation: 户主}]\n",
    "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                 "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                 "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
    "deep.json": "[" * 100000 + "]" * 100000,
    "lines.jsonl": '{"id": "X-3"\n{}\n',
}


def test_a_folder_of_good_and_broken_dossiers(capsys, examples_dir, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(examples_dir, folder)
    for name, text in BROKEN.items():
        if text is None:
            (folder / name).write_bytes(b"\x00\xff\xfe binary \x00")
        else:
            (folder / name).write_text(text, encoding="utf-8")
    code, report = run_json(capsys, str(folder))
    assert code == 1
    assert {household["id"] for household in report["households"]} == {"HN-410727-0101-001", "HN-410727-0101-002"}
    sources = {error["source"].rsplit("/", 1)[-1] for error in report["errors"]}
    assert set(BROKEN) <= sources
    assert all(error["category"] == "input.invalid" and error["message"] for error in report["errors"])


def test_workers_give_the_same_report_in_input_order(capsys, tmp_path):
    from dangka import synth
    data = tmp_path / "many.jsonl"
    with data.open("w", encoding="utf-8") as stream:
        for dossier in synth.generate(40, seed=7, defect_rate=0.5):
            stream.write(json.dumps(dossier, ensure_ascii=False) + "\n")
        stream.write("{broken\n")
    one = main(["check", str(data), "--format", "json", "--jobs", "1"]), capsys.readouterr().out
    two = main(["check", str(data), "--format", "json", "--jobs", "2"]), capsys.readouterr().out
    assert one == two and one[0] == 1


def test_output_file_is_written_whole(tmp_path, examples_dir, capsys):
    out = tmp_path / "report.json"
    assert main(["check", str(examples_dir), "--format", "json", "--out", str(out), "--jobs", "1"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["households"] == 2
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize("fmt,magic", [("html", b"<!DOCTYPE html"), ("xlsx", b"PK")])
def test_html_and_workbook_reports(tmp_path, examples_dir, fmt, magic, capsys):
    out = tmp_path / f"report.{fmt}"
    assert main(["check", str(examples_dir), "--format", fmt, "--out", str(out), "--jobs", "1"]) == 0
    assert out.read_bytes()[: len(magic)].upper() == magic.upper()


def test_reports_carry_the_ranking_of_counties(tmp_path, examples_dir, capsys):
    from openpyxl import load_workbook

    html = tmp_path / "report.html"
    assert main(["check", str(examples_dir), "--format", "html", "--out", str(html), "--jobs", "1"]) == 0
    assert "评比" in html.read_text(encoding="utf-8") and "封丘县" in html.read_text(encoding="utf-8")
    workbook = tmp_path / "report.xlsx"
    assert main(["check", str(examples_dir), "--format", "xlsx", "--out", str(workbook), "--jobs", "1"]) == 0
    sheets = load_workbook(workbook).sheetnames
    assert "评比" in sheets
    ranking = [[cell.value for cell in row] for row in load_workbook(workbook)["评比"].iter_rows()]
    assert any("封丘县" in [str(value) for value in row] for row in ranking)


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["check", str(tmp_path / "missing")]) == 2
    assert "找不到" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["check"])
    assert stop.value.code == 2


def _inputs_and_their_bytes(examples_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(examples_dir, data)
    rules = tmp_path / "rules"
    rules.mkdir()
    rule_file = rules / "one.rules"
    rule_file.write_text('规则 X-001 "户主未填"\n  类别 form.missing\n  严重程度 低\n  依据 "测试"\n  如果 户.户主姓名 为空\n',
                         encoding="utf-8")
    return data, rules, {path: path.read_bytes() for path in [*data.iterdir(), rule_file]}


@pytest.mark.parametrize("command", ["check", "explain"])
def test_an_output_file_that_is_an_input_is_refused_and_left_as_it_was(capsys, examples_dir, tmp_path, command):
    data, rules, before = _inputs_and_their_bytes(examples_dir, tmp_path)
    dossier = data / "cooking.yaml"
    for out, given in [(dossier, dossier), (dossier, data), (data / "registry.yaml", dossier),
                       (rules / "one.rules", dossier), (rules / "one.rules", data)]:
        args = [command, str(given), "--out", str(out), "--rules", str(rules)]
        if command == "explain" and given == data:
            args += ["--household", "HN-410727-0101-001"]
        if out.name == "registry.yaml":
            args += ["--registry", str(out)]
        assert main(args) == 2, (out, given)
        assert f"输出文件 {out} 是本次核查的输入文件，dangka 从不改写输入" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in before} == before


def test_an_output_file_beside_the_inputs_is_written(capsys, examples_dir, tmp_path):
    data, rules, before = _inputs_and_their_bytes(examples_dir, tmp_path)
    assert main(["check", str(data), "--out", str(data / "report.txt"), "--rules", str(rules), "--jobs", "1"]) == 0
    assert "共核查 2 户" in (data / "report.txt").read_text(encoding="utf-8")
    assert {path: path.read_bytes() for path in before} == before


def test_broken_rules_exit_2_with_file_and_line(capsys, examples_dir, tmp_path):
    rules = tmp_path / "bad.rules"
    rules.write_text('规则 A-1 "t"\n  乱码 !!\n', encoding="utf-8")
    assert main(["check", str(examples_dir), "--rules", str(rules)]) == 2
    assert "bad.rules:2:" in capsys.readouterr().err


def test_dossiers_to_workbook_to_check_finds_the_same(capsys, examples_dir, tmp_path):
    workbook = tmp_path / "households.xlsx"
    assert main(["convert", str(examples_dir), "--out", str(workbook)]) == 0
    capsys.readouterr()
    registry = str(examples_dir / "registry.yaml")
    _code, from_yaml = run_json(capsys, str(examples_dir))
    _code, from_workbook = run_json(capsys, str(workbook), "--registry", registry)

    def findings(report):
        return {household["id"]: sorted((finding["rule"], finding["message"]) for finding in household["findings"])
                for household in report["households"]}

    assert findings(from_workbook) == findings(from_yaml)


def test_workbooks_inside_a_checked_folder_are_read(capsys, examples_dir, tmp_path):
    folder = tmp_path / "county"
    folder.mkdir()
    (folder / "registry.yaml").write_text((examples_dir / "registry.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "clean.yaml").write_text((examples_dir / "clean.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["convert", str(examples_dir / "cooking.yaml"), "--out", str(folder / "village.xlsx")]) == 0
    capsys.readouterr()
    _code, report = run_json(capsys, str(folder))
    assert {household["id"] for household in report["households"]} == {"HN-410727-0101-001", "HN-410727-0101-002"}


# ---- the streamed JSON's output stream ---------------------------------------------------------


def test_utf8_output_writes_bytes_into_a_utf8_file_as_its_text_would_be(tmp_path):
    import io

    from dangka.commands.check import Utf8Output

    path = tmp_path / "out.json"
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("开头\n")
        out = Utf8Output(stream)
        assert out.buffer is not None
        out.write("户主：".encode())
        out.write("张德福\n")
    assert path.read_text(encoding="utf-8") == "开头\n户主：张德福\n"
    with open(path, "w", encoding="utf-8") as stream, pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        Utf8Output(stream).write("\udc80")
    other = io.TextIOWrapper(io.BytesIO(), encoding="gb18030")
    out = Utf8Output(other)
    out.write("户主：".encode())
    out.write("张德福")
    other.flush()
    assert out.buffer is None and other.buffer.getvalue() == "户主：张德福".encode("gb18030")
    text = io.StringIO()
    Utf8Output(text).write("户主".encode())
    assert text.getvalue() == "户主"


def test_only_the_named_command_is_imported():
    """`dangka check` imports the check command alone; help lists every command."""
    import subprocess
    import sys

    probe = ("import sys; from dangka.cli import main\n"
             "try:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(name for name in sys.modules if name.startswith('dangka.commands.')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "['dangka.commands.check', 'dangka.commands.common']"
    listing = subprocess.run([sys.executable, "-m", "dangka.cli", "--help"], capture_output=True, text=True, check=True)
    assert all(name in listing.stdout for name in ("check", "explain", "lint", "fmt", "test", "train", "graph", "convert"))


@pytest.mark.parametrize("args, message", [
    (["check", "x.yaml", "--jobs", "0"], "dangka check：错误：参数 --jobs：应为正整数，而不是“0”"),
    (["check", "x.yaml", "--jobs", "两个"], "dangka check：错误：参数 --jobs：应为正整数，而不是“两个”"),
    (["check", "x.yaml", "--format", "pdf"], "dangka check：错误：参数 --format：不能是 'pdf'，可选：'text', 'json', 'html', 'xlsx'"),
    (["check"], "dangka check：错误：缺少必需的参数：路径"),
    (["check", "x.yaml", "--out"], "dangka check：错误：参数 --out：后面应有一个值"),
    (["chek", "x.yaml"], "dangka：错误：参数 命令：不能是 'chek'，可选：'check'"),
    (["check", "x.yaml", "--bogus"], "dangka：错误：不认识的参数：--bogus"),
    (["check", "x.yaml", "--jobs", "0", "--lang", "en"], "dangka check: error: argument --jobs: must be a positive whole number, not '0'"),
])
def test_argument_mistakes_are_told_in_the_users_language(capsys, args, message):
    try:
        with pytest.raises(SystemExit) as stop:
            main(args)
    finally:
        set_lang("zh")
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err
    assert err.startswith("usage: " if "--lang" in args else "用法：")


def test_help_speaks_chinese(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("用法：dangka check") and "位置参数" in out and "选项" in out and "显示本帮助并退出" in out


def test_more_jobs_than_cores_run_as_many_as_there_are_cores(capsys, examples_dir, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert main(["check", str(examples_dir), "--jobs", "64"]) == 0
    assert "--jobs 64 多于本机的 1 个核心，按 1 个进程核查" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["html", "xlsx"])
def test_a_missing_grading_file_stops_a_report_before_any_household_is_checked(capsys, examples_dir, tmp_path, fmt, monkeypatch):
    from dangka.policy import default_directory
    policies = tmp_path / "policies"
    shutil.copytree(default_directory(), policies)
    (policies / "grading.yaml").unlink()
    checked = []
    monkeypatch.setattr("dangka.commands.check.check_paths", lambda *args, **kwargs: checked.append(args) or iter(()))
    assert main(["check", str(examples_dir), "--format", fmt, "--out", str(tmp_path / f"r.{fmt}"), "--policies", str(policies)]) == 2
    assert "grading.yaml: policy.invalid: 无法读取文件：文件不存在" in capsys.readouterr().err and checked == []
