"""`dangka convert` against hostile inputs: it never writes to an input, and one bad household never stops the rest."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from dangka.cli import main
from dangka import spreadsheet
from dangka.spreadsheet import read_workbook


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


def households_file(examples_dir, folder: Path, changes) -> Path:
    """A JSON Lines file of the clean example under several ids, each line changed by one function of `changes`."""
    clean = yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))
    lines = []
    for number, change in enumerate(changes, start=1):
        dossier = copy.deepcopy(clean)
        dossier["id"] = f"HN-1363737001{number}"
        change(dossier)
        lines.append(json.dumps(dossier, ensure_ascii=False, default=str))
    path = folder / "档案.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _unchanged(dossier: dict) -> None:
    pass


def _control_character(dossier: dict) -> None:
    dossier["members"][0]["illness"] = "高血压\x07"


def _long_cell_text(dossier: dict) -> None:
    dossier["members"][0]["illness"] = "长" * 40_000


def _long_extra(dossier: dict) -> None:
    dossier["备注"] = "长" * 40_000


def test_a_household_no_cell_can_hold_is_left_out_of_the_workbook(examples_dir, tmp_path, capsys):
    source = households_file(examples_dir, tmp_path, [_unchanged, _long_cell_text, _long_extra, _control_character])
    out = tmp_path / "档案.xlsx"
    assert main(["convert", str(source), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert (f"{source}:2: input.invalid: 户 HN-136****0012 没有写入工作簿："
            "members[0].illness 有 40000 字，超过工作簿单元格的上限 32767 字") in error
    assert (f"{source}:3: input.invalid: 户 HN-136****0013 没有写入工作簿："
            "备注 写成 JSON 有 40002 字，超过工作簿单元格的上限 32767 字") in error
    assert "13637370012" not in error
    assert "已转换 2 户" in error and "2 户不能写入工作簿，未写入输出" in error
    written = [item.dossier for item in read_workbook(str(out))]
    assert [dossier["id"] for dossier in written] == ["HN-13637370011", "HN-13637370014"]
    assert written[1]["members"][0]["illness"] == "高血压\x07"  # kept in 其他字段, escaped as JSON


def test_households_left_out_are_shown_unmasked_with_no_mask(examples_dir, tmp_path, capsys):
    source = households_file(examples_dir, tmp_path, [_long_cell_text])
    assert main(["convert", str(source), "--out", str(tmp_path / "档案.xlsx"), "--no-mask"]) == 1
    assert "户 HN-13637370011 没有写入工作簿" in capsys.readouterr().err


def test_convert_refuses_a_workbook_dangka_could_not_read_back(copies, monkeypatch, capsys):
    monkeypatch.setattr(spreadsheet, "MAX_HOUSEHOLDS", 1)
    out = copies / "档案.xlsx"
    assert main(["convert", str(copies / "clean.yaml"), str(copies / "cooking.yaml"), "--out", str(out)]) == 2
    assert "共 2 户，超过一个工作簿的上限 1 户；请输出为 JSON Lines（--out 文件.jsonl）" in capsys.readouterr().err
    assert not out.exists()
