"""`dangka convert` against hostile inputs: it never writes to an input, and one bad household never stops the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dangka.cli import main


@pytest.fixture()
def copies(examples_dir, tmp_path) -> Path:
    """A scratch folder holding copies of the example dossiers, for a run to read (and never write)."""
    for name in ("clean.yaml", "cooking.yaml"):
        shutil.copy(examples_dir / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("out", ["clean.yaml", "folder"])
def test_convert_never_overwrites_an_input(copies, capsys, out):
    original = (copies / "clean.yaml").read_bytes()
    inputs = [str(copies / "clean.yaml")] if out != "folder" else [str(copies)]
    assert main(["convert", *inputs, "--out", str(copies / "clean.yaml")]) == 2
    assert "是本次核查的输入文件，dangka 从不改写输入" in capsys.readouterr().err
    assert (copies / "clean.yaml").read_bytes() == original


def test_convert_never_overwrites_an_input_workbook(copies, capsys):
    workbook = copies / "档案.xlsx"
    assert main(["convert", str(copies / "clean.yaml"), "--out", str(workbook)]) == 0
    original = workbook.read_bytes()
    assert main(["convert", str(workbook), "--out", str(workbook)]) == 2
    assert "从不改写输入" in capsys.readouterr().err
    assert workbook.read_bytes() == original


def test_convert_refuses_an_out_folder_before_reading(copies, capsys):
    assert main(["convert", str(copies / "clean.yaml"), "--out", str(copies / "无此文件夹" / "x.json")]) == 2
    error = capsys.readouterr().err
    assert "文件夹" in error and "不存在" in error
    assert "已转换" not in error
