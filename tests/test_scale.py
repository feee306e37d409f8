"""Scale: streamed output equal to the collected document, flat pass 1, the result cache, the Dask engine."""

from __future__ import annotations

import json
import sqlite3
import shutil

import pytest
import yaml
from dangka.engine import batch
from dangka.engine.batch import build_graph, check_paths, run_graph
from dangka.engine.cache import ResultCache

from dangka import synth
from dangka.cli import main
from dangka.errors import UsageError
from dangka.findings import document
from dangka.report import masked_report
from dangka.report.text import render_text

HOUSEHOLDS = 60
BROKEN_LINE = 25


def village_of(dossier: dict) -> tuple:
    return tuple(dossier["region"][level] for level in ("county", "township", "village"))


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """Generated households (sorted by village, as the text report lists them) with one broken line, and their registry."""
    folder = tmp_path_factory.mktemp("run")
    dossiers = sorted(synth.generate(HOUSEHOLDS, seed=11, defect_rate=0.6), key=village_of)
    lines = [json.dumps(dossier, ensure_ascii=False) for dossier in dossiers]
    lines.insert(BROKEN_LINE, '{"id": "broken"')
    (folder / "households.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    registry = synth.generate_registry(11, n=HOUSEHOLDS, defect_rate=0.6)
    (folder / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def knowledge():
    from dangka.engine.knowledge import Knowledge

    return Knowledge.load()


def collected(folder, knowledge) -> dict:
    """The findings document built whole, as `dangka check` did before it streamed."""
    registry = yaml.safe_load((folder / "registry.yaml").read_text(encoding="utf-8"))
    entries, errors = [], []
    for outcome in check_paths([str(folder / "households.jsonl")], registry, knowledge):
        (errors if outcome.error is not None else entries).append(outcome.error or outcome.entry)
    return document(entries, errors, knowledge)


def check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---- streamed output --------------------------------------------------------------------------


def in_contract_order(report: dict) -> dict:
    """masked_report puts households last; the stream keeps findings.md's order (households before the summary)."""
    return {key: report[key] for key in ("version", "knowledge", "households", "errors", "summary")}


@pytest.mark.parametrize("no_mask", [False, True])
def test_streamed_json_is_the_collected_document_byte_for_byte(capsys, run_folder, knowledge, no_mask):
    report = collected(run_folder, knowledge)
    shown = report if no_mask else in_contract_order(masked_report(report))
    expected = json.dumps(shown, ensure_ascii=False, indent=2) + "\n"
    code, out, _ = check(capsys, str(run_folder), "--format", "json", "--jobs", "1", *(["--no-mask"] if no_mask else []))
    assert code == 1
    assert report["summary"]["errors"] == 1 and report["summary"]["with_findings"] > 10
    assert out == expected


def test_streamed_json_without_households(capsys, tmp_path, knowledge):
    (tmp_path / "bad.jsonl").write_text("{\n[1]\n", encoding="utf-8")
    code, out, _ = check(capsys, str(tmp_path), "--format", "json", "--jobs", "1")
    report = json.loads(out)
    assert code == 1 and report["households"] == [] and report["summary"]["errors"] == 2
    entries_free = document([], report["errors"], knowledge)
    assert out == json.dumps(in_contract_order(masked_report(entries_free)), ensure_ascii=False, indent=2) + "\n"


def test_streamed_text_is_the_rendered_report_for_input_grouped_by_village(capsys, run_folder, knowledge):
    expected = render_text(masked_report(collected(run_folder, knowledge)))
    code, out, _ = check(capsys, str(run_folder), "--jobs", "1")
    assert code == 1 and out == expected
    assert "共核查 60 户" in out and "未能核查的档案" in out


def test_streamed_file_is_replaced_whole(capsys, run_folder, tmp_path):
    out = tmp_path / "findings.json"
    out.write_text("old", encoding="utf-8")
    assert check(capsys, str(run_folder), "--format", "json", "--out", str(out), "--jobs", "1")[0] == 1
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["households"] == HOUSEHOLDS
    assert sorted(path.name for path in tmp_path.iterdir()) == ["findings.json"]


# ---- pass 1 -----------------------------------------------------------------------------------


def test_pass_one_keeps_counts_not_households_and_links_are_unchanged(run_folder, monkeypatch):
    monkeypatch.setattr(batch, "LOAD_PART", 7)   # many parts, merged
    registry = yaml.safe_load((run_folder / "registry.yaml").read_text(encoding="utf-8"))
    paths = [str(run_folder / "households.jsonl")]
    flat, whole = run_graph(paths, registry), build_graph(paths, registry)
    assert not flat.household_ids() and len(whole.household_ids()) == HOUSEHOLDS
    loads = [helper["load"] for dossier in synth.generate(HOUSEHOLDS, seed=11, defect_rate=0.6)
             for helper in flat.links(dossier)["helpers"]]
    assert max(load for load in loads if load is not None) >= 3, "helpers must have households in several parts"
    for dossier in synth.generate(HOUSEHOLDS, seed=11, defect_rate=0.6):
        assert flat.links(dossier) == whole.links(dossier)


@pytest.mark.parametrize("jobs", [1, 2])
def test_pass_two_hides_the_long_lived_objects_from_the_collector_and_restores_it(run_folder, knowledge, jobs):
    import gc

    before = gc.get_threshold(), gc.get_freeze_count()
    outcomes = check_paths([str(run_folder / "households.jsonl")], None, knowledge, jobs=jobs)
    next(outcomes)
    # during pass 2: the knowledge base (compiled before the run) is frozen, collections are rarer
    assert gc.get_threshold()[0] == batch.PASS_2_COLLECTION_THRESHOLD
    assert gc.get_freeze_count() > before[1]
    rest = list(outcomes)
    assert len(rest) == HOUSEHOLDS   # 60 households and the broken line, one already taken
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    abandoned = check_paths([str(run_folder / "households.jsonl")], None, knowledge, jobs=jobs)
    next(abandoned)
    abandoned.close()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_merged_loads_share_one_string_per_village(run_folder, monkeypatch):
    monkeypatch.setattr(batch, "LOAD_PART", 5)
    graph = run_graph([str(run_folder / "households.jsonl")], None)
    keys = [key for _, (_, key), _ in graph._merged.items() if key is not None]
    assert len(keys) > len(set(keys)), "the sample must have villages with several helpers"
    assert len({id(key) for key in keys}) == len(set(keys))


# ---- cache ------------------------------------------------------------------------------------


def cache_counts(err: str) -> tuple[int, int]:
    line = next(line for line in err.splitlines() if line.startswith("缓存："))
    hits, misses = (int(part.split(" 户")[0]) for part in line.removeprefix("缓存：").split("，"))
    return hits, misses


def test_second_run_is_served_from_the_cache(capsys, run_folder, tmp_path):
    arguments = [str(run_folder), "--format", "json", "--cache", str(tmp_path / "cache")]
    code, first, err = check(capsys, *arguments, "--jobs", "1")
    assert cache_counts(err) == (0, HOUSEHOLDS)
    code_again, second, err = check(capsys, *arguments, "--jobs", "2")
    assert cache_counts(err) == (HOUSEHOLDS, 0)
    assert (code_again, second) == (code, first)


def test_a_changed_dossier_or_rule_file_misses(capsys, run_folder, tmp_path, repo_root):
    folder = tmp_path / "data"
    shutil.copytree(run_folder, folder)
    rules = tmp_path / "rules"
    shutil.copytree(repo_root / "knowledge" / "rules", rules)
    arguments = [str(folder), "--format", "json", "--jobs", "1", "--cache", str(tmp_path / "cache"), "--rules", str(rules)]
    check(capsys, *arguments)
    data = folder / "households.jsonl"
    lines = data.read_text(encoding="utf-8").splitlines()
    changed = json.loads(lines[3])
    changed["income"]["wage"] = (changed["income"].get("wage") or 0) + 1
    lines[3] = json.dumps(changed, ensure_ascii=False)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, out, err = check(capsys, *arguments)
    assert cache_counts(err) == (HOUSEHOLDS - 1, 1)
    assert json.loads(out)["households"][3]["id"] == changed["id"]
    first_rule_file = min(rules.glob("*.rules"))
    first_rule_file.write_text(first_rule_file.read_text(encoding="utf-8") + "\n# 改过\n", encoding="utf-8")
    assert cache_counts(check(capsys, *arguments)[2]) == (0, HOUSEHOLDS)


def test_a_damaged_cache_is_a_usage_error(tmp_path):
    (tmp_path / "dangka-cache.sqlite3").write_bytes(b"not a database, " * 100)
    with pytest.raises(UsageError, match="缓存文件 .*dangka-cache.sqlite3 无法读写"):
        ResultCache(str(tmp_path))
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="无法使用缓存 .*file"):
        ResultCache(str(tmp_path / "file"))


def _damaged(entry: dict, how: int) -> object:
    """One of the ways a stored entry can be valid JSON and still not be an entry."""
    finding = {"rule": "X", "category": "form.missing", "severity": "low", "title": "t", "message": "m",
               "evidence": [], "basis": "b", "source": "x.rules:1", "recommend": []}
    damages = [
        lambda: [entry],
        lambda: {**entry, "findings": "x"},
        lambda: {**entry, "findings": [finding, "x"]},
        lambda: {**entry, "findings": [{**finding, "category": None}]},
        lambda: {**entry, "findings": [{**finding, "evidence": [{"path": 1, "value": 2}]}]},
        lambda: {key: value for key, value in entry.items() if key != "ruled_out"},
        lambda: {**entry, "recommendations": [{"measure": "m"}]},
        lambda: {**entry, "id": 5},
        lambda: {**entry, "extra": 1},
    ]
    return damages[how % len(damages)]()


def test_an_entry_moved_to_another_file_is_a_hit_and_one_not_json_a_miss(tmp_path):
    entry = {"id": "A", "region": {"county": "兰考县", "township": None, "village": None}, "source": "a.jsonl",
             "head": None, "findings": [], "recommendations": [], "ruled_out": []}
    with ResultCache(str(tmp_path)) as cache:
        cache.put("k", entry)
        cache._db.execute("INSERT INTO entries VALUES ('broken', '{not json')")
    with ResultCache(str(tmp_path)) as cache:
        assert cache.get("k", "b.jsonl") == {**entry, "source": "b.jsonl"}
        assert cache.get("broken", "b.jsonl") is None
        assert (cache.hits, cache.misses) == (1, 1)


def test_entries_damaged_into_other_json_are_checked_again(capsys, run_folder, tmp_path):
    arguments = [str(run_folder), "--format", "json", "--jobs", "1", "--cache", str(tmp_path / "cache")]
    first = check(capsys, *arguments)
    database = sqlite3.connect(tmp_path / "cache" / "dangka-cache.sqlite3")
    with database:
        for how, (key, text) in enumerate(database.execute("SELECT key, entry FROM entries").fetchall()):
            database.execute("UPDATE entries SET entry = ? WHERE key = ?", (json.dumps(_damaged(json.loads(text), how)), key))
    database.close()
    second = check(capsys, *arguments)
    assert second[:2] == first[:2] and cache_counts(second[2]) == (0, HOUSEHOLDS)
    assert cache_counts(check(capsys, *arguments)[2]) == (HOUSEHOLDS, 0)


# ---- Dask -------------------------------------------------------------------------------------


def test_partitions_are_counties_of_bounded_size(run_folder, monkeypatch):
    from dangka.engine import distributed

    from dangka.spreadsheet import iter_inputs

    monkeypatch.setattr(distributed, "PARTITION_HOUSEHOLDS", 8)
    errors = []
    parts = list(distributed.partitions(iter_inputs([str(run_folder / "households.jsonl")]), errors))
    assert [error.index for error in errors] == [BROKEN_LINE]
    assert all(len(part.dossiers) <= 8 for part in parts)
    assert all({dossier["region"]["county"] for dossier in part.dossiers} == {part.county} for part in parts)
    assert sorted(index for part in parts for index in part.indexes) == [i for i in range(HOUSEHOLDS + 1) if i != BROKEN_LINE]


def test_a_worker_with_other_rules_refuses_to_check():
    from dangka.engine.distributed import ClusterError, KnowledgeSpec, _engine

    with pytest.raises(ClusterError, match="摘要不一致"):
        _engine(KnowledgeSpec(None, None, "0" * 64))


@pytest.fixture(scope="module")
def cluster():
    """A Dask LocalCluster of two worker processes, one thread each."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'dangka[dask]')")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def test_the_cluster_report_equals_the_embedded_engines(capsys, run_folder, cluster, tmp_path):
    embedded = check(capsys, str(run_folder), "--format", "json", "--jobs", "1")
    on_cluster = check(capsys, str(run_folder), "--format", "json", "--engine", "dask",
                       "--scheduler", cluster.scheduler_address)
    assert on_cluster[:2] == embedded[:2]
    cached = [str(run_folder), "--format", "json", "--engine", "dask", "--scheduler", cluster.scheduler_address,
              "--cache", str(tmp_path / "cache")]
    first = check(capsys, *cached)
    second = check(capsys, *cached)
    assert cache_counts(first[2]) == (0, HOUSEHOLDS) and cache_counts(second[2]) == (HOUSEHOLDS, 0)
    assert first[:2] == second[:2] == embedded[:2]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "garbage://x", "tcp://127.0.0.1:9:9"])
def test_an_unreachable_scheduler_is_a_clear_error(capsys, run_folder, monkeypatch, address):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    from dangka.engine import distributed

    monkeypatch.setattr(distributed, "CONNECT_SECONDS", 1)
    code, out, err = check(capsys, str(run_folder), "--format", "json", "--engine", "dask", "--scheduler", address)
    assert code == 2 and f"无法连接 Dask 调度器 {address}：" in err and out == ""


def test_scheduler_needs_the_dask_engine(capsys, run_folder):
    code, _, err = check(capsys, str(run_folder), "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "--scheduler 需与 --engine dask 一起使用" in err


def test_the_dask_engine_without_a_scheduler_checks_here(capsys, run_folder):
    embedded = check(capsys, str(run_folder), "--format", "json", "--jobs", "1")
    code, out, err = check(capsys, str(run_folder), "--format", "json", "--jobs", "1", "--engine", "dask")
    assert (code, out) == embedded[:2] and "未给出 --scheduler，使用本机引擎核查" in err
