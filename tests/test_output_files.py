"""Where reports go: --out checked before the run, devices and pipes written directly, standard output's failures told."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from dangka.cli import main
from dangka.output import write_atomic


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("fmt", ["text", "json", "html", "xlsx"])
def test_an_out_that_cannot_be_written_stops_before_the_run(capsys, examples_dir, tmp_path, fmt):
    folder = tmp_path / "reports"
    folder.mkdir()
    for out, reason in [(folder, "这是一个文件夹，请给出文件名"), (tmp_path / "missing" / "r.txt", "文件夹 ")]:
        code, stdout, err = run(capsys, "check", str(examples_dir), "--format", fmt, "--out", str(out), "--jobs", "1")
        assert code == 2 and stdout == "" and f"{out}: output.unwritable: 无法写入文件：{reason}" in err
        assert "共核查" not in err
    assert list(tmp_path.rglob("*")) == [folder]


def test_a_fifo_is_written_directly_and_stays_a_fifo(capsys, examples_dir, tmp_path):
    fifo = tmp_path / "findings.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, _ = run(capsys, "check", str(examples_dir), "--format", "json", "--out", str(fifo), "--jobs", "1")
    reader.join(timeout=30)
    assert code == 0 and json.loads(received[0])["summary"]["households"] == 2
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and sorted(path.name for path in tmp_path.iterdir()) == ["findings.fifo"]


def test_a_symbolic_link_has_its_target_written(capsys, examples_dir, tmp_path):
    target, link = tmp_path / "report.txt", tmp_path / "latest.txt"
    target.write_text("old", encoding="utf-8")
    link.symlink_to(target.name)
    assert run(capsys, "check", str(examples_dir), "--out", str(link), "--jobs", "1")[0] == 0
    assert link.is_symlink() and "共核查 2 户" in target.read_text(encoding="utf-8")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_an_error_and_is_never_replaced(capsys, examples_dir):
    code, _, err = run(capsys, "check", str(examples_dir), "--format", "html", "--out", "/dev/full", "--jobs", "1")
    assert code == 2 and "/dev/full: output.unwritable: 无法写入文件：No space left on device" in err
    with pytest.raises(Exception, match="No space left on device"):
        write_atomic("/dev/full", b"x")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_closed_standard_output_is_an_error(capsys, examples_dir, monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    code = main(["check", str(examples_dir), "--jobs", "1"])
    assert code == 2 and "错误：无法写出到标准输出：标准输出已关闭（请用 --out 指定文件）" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_standard_output_is_an_error(examples_dir):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "dangka.cli", "check", str(examples_dir), "--jobs", "1"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2 and "错误：无法写出到标准输出：No space left on device" in done.stderr


def test_terminal_safe_shows_what_a_terminal_would_act_on_and_keeps_colours():
    from dangka.output import terminal_safe

    assert terminal_safe("张三") == "张三"
    assert terminal_safe("清屏\x1b[2J响铃\x07回车\r覆盖\u202e反向") == "清屏\ufffd[2J响铃\ufffd回车\ufffd覆盖\ufffd反向"
    assert terminal_safe("\x1b[31m[高]\x1b[0m\t行\n") == "\x1b[31m[高]\x1b[0m\t行\n"


def _hostile(dossier: dict) -> dict:
    dossier["id"] = "HN\x1b]0;标题\x07-1"
    dossier["members"][0]["name"] = "张\x1b[2J德福\r"
    return dossier


def test_the_text_report_never_carries_the_datas_control_characters(capsys, cooking_dossier, tmp_path):
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(_hostile(cooking_dossier), ensure_ascii=False, default=str), encoding="utf-8")
    out = tmp_path / "report.txt"
    assert main(["check", str(path), "--out", str(out), "--jobs", "1"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "HN\ufffd]0;标题\ufffd-1" in text and "张\ufffd[2J德福" in text
    assert not any(char in text for char in "\x1b\x07\r")


def test_a_terminal_is_never_given_the_datas_control_characters(capsys, cooking_dossier, tmp_path, monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(_hostile(cooking_dossier), ensure_ascii=False, default=str), encoding="utf-8")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    # train prints the household as it is: only the terminal's own guard stands between them.
    assert main(["train", "--dossier", str(path), "--answer-cause", "因病", "--answer-measures", "健康扶贫"]) == 0
    assert "张\ufffd[2J德福" in terminal.getvalue() and "\x1b" not in terminal.getvalue()


def test_the_progress_line_keeps_its_own_carriage_return_past_the_terminal_guard(monkeypatch):
    import io

    from dangka.commands.common import Progress
    from dangka.output import TerminalSafe

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", TerminalSafe(terminal))
    progress = Progress(enabled=True)
    progress.started -= 5
    progress(99)
    progress.done()
    assert terminal.getvalue().startswith("\r已核查 100 户（每秒 ") and terminal.getvalue().endswith("\r\x1b[K")
