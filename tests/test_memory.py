"""Compact run-wide structures: the table of household ids, helpers' loads, the graph's nodes, readings of a run."""

from __future__ import annotations

import json
import tracemalloc
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangka import load, synth
from dangka.engine.graph import HelperLoads, ResponsibilityGraph
from dangka.load import Place, SeenIds, load_registry
from dangka.spreadsheet import RunInputs, write_workbook

# ---- the table of household ids ----------------------------------------------------------------


def test_a_repeated_id_names_where_it_was_first_seen():
    seen = SeenIds()
    assert seen.first_seen("HN-001", "a.jsonl", 3) is None
    assert seen.first_seen("HN-002", "b.yaml", None, group=1) is None
    assert seen.first_seen("HN-001", "c.jsonl", 9) == Place("a.jsonl", 3, 0)
    assert seen.first_seen("HN-002", "a.jsonl", 4) == Place("b.yaml", None, 1)
    assert Place("a.jsonl", 3, 0).where == "a.jsonl:3" and Place("b.yaml", None, 1).where == "b.yaml"
    assert len(seen) == 2


def test_ids_sharing_a_hash_are_told_apart(monkeypatch):
    monkeypatch.setattr(load, "_id_hash", lambda key: 7)   # every id lands on one slot
    seen = SeenIds()
    ids = [f"HN-{number:03d}" for number in range(200)]   # enough to grow the table several times
    for line, household_id in enumerate(ids, start=1):
        assert seen.first_seen(household_id, "a.jsonl", line) is None
    for line, household_id in enumerate(ids, start=1):
        assert seen.first_seen(household_id, "b.jsonl", 1) == Place("a.jsonl", line, 0)
    assert seen.first_seen("HN-200", "b.jsonl", 1) is None


def test_ids_and_lines_past_the_narrow_limit_are_kept_in_wide_arrays(monkeypatch):
    monkeypatch.setattr(SeenIds, "NARROW_LIMIT", 50)
    seen = SeenIds()
    ids = [f"户-{number}" for number in range(40)]
    for line, household_id in enumerate(ids, start=30):
        assert seen.first_seen(household_id, "a.jsonl", line) is None
    assert seen._ends.typecode == "Q" and seen._lines.typecode == "Q"
    assert [seen.first_seen(household_id, "b.jsonl", 2) for household_id in ids] == [
        Place("a.jsonl", line, 0) for line in range(30, 70)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.sampled_from(["a.jsonl", "b.yaml", "c.json"]),
                          st.none() | st.integers(1, 2**40 - 1)), max_size=80),
       st.integers(0, 3))
def test_first_seen_agrees_with_a_dict(items, hash_bits):
    original = load._id_hash
    # Few hash bits make most ids share a hash; 3 keeps the real one.
    load._id_hash = original if hash_bits == 3 else (lambda key: original(key) & ((1 << hash_bits) - 1))
    try:
        seen, model = SeenIds(), {}
        for household_id, source, line in items:
            expected = model.get(household_id)
            assert seen.first_seen(household_id, source, line) == expected
            model.setdefault(household_id, Place(source, line, 0))
        assert len(seen) == len(model)
    finally:
        load._id_hash = original


def test_each_file_of_a_run_is_named_for_its_own_ids():
    seen = SeenIds()
    for group, source in enumerate(["a.jsonl", "b.yaml", "a.jsonl"]):
        for number in range(3):
            assert seen.first_seen(f"{source}-{group}-{number}", source, number + 1, group) is None
    assert seen.first_seen("b.yaml-1-2", "c.json", 1, 3) == Place("b.yaml", 3, 1)
    assert seen.first_seen("a.jsonl-2-0", "c.json", 1, 3) == Place("a.jsonl", 1, 2)
    assert seen.first_seen("a.jsonl-0-2", "c.json", 1, 3) == Place("a.jsonl", 3, 0)


def test_the_table_takes_under_40_bytes_an_id():
    ids = [f"HA-410727-{number // 36:04d}-{number % 36:03d}" for number in range(50_000)]
    tracemalloc.start()
    try:
        seen = SeenIds()
        for line, household_id in enumerate(ids, start=1):
            seen.first_seen(household_id, "households.jsonl", line)
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert size / len(ids) < 40


# ---- helpers' loads ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["H-1", "H-2", "H-3"]), st.sampled_from([None, 2016, 2017]),
                          st.sampled_from([None, "甲县/乙镇/丙村", "甲县/乙镇/丁村"]), st.integers(0, 5)),
                max_size=40))
def test_packed_loads_agree_with_counters(additions):
    loads, model = HelperLoads(), {}
    for helper_id, year, key, count in additions:
        loads.add(helper_id, year, key, count)
        model.setdefault(helper_id, Counter())[(year, key)] += count
    for helper_id in ("H-1", "H-2", "H-3"):
        expected = +model.get(helper_id, Counter())
        assert dict(loads.counts(helper_id)) == dict(expected)
    assert {(helper, pair): count for helper, pair, count in loads.items()} == {
        (helper, pair): count for helper, counter in model.items() for pair, count in (+counter).items()}


def test_a_count_taken_back_to_zero_is_gone_and_a_negative_one_refused():
    loads = HelperLoads()
    loads.add("H-1", 2017, "甲县/乙镇/丙村", 1)
    loads.add("H-1", 2017, "甲县/乙镇/丙村", -1)
    assert list(loads.counts("H-1")) == [] and list(loads.items()) == []
    with pytest.raises(ValueError, match="out of range: -1"):
        loads.add("H-1", 2017, "甲县/乙镇/丙村", -1)


def test_a_village_key_is_one_string_however_many_helpers_count_it():
    loads = HelperLoads()
    for helper in range(5):
        loads.add(f"H-{helper}", 2017, "".join(["甲县/乙镇/", "丙村"]), 1)   # a new string each time
    keys = [key for _, (_, key), _ in loads.items()]
    assert len(keys) == 5 and len({id(key) for key in keys}) == 1


# ---- the graph of a registry ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry():
    return synth.generate_registry(5, n=300, defect_rate=0.6)


def test_a_consumed_registry_is_emptied_and_gives_the_same_graph(registry):
    kept = json.loads(json.dumps(registry))
    handed_over = json.loads(json.dumps(registry))
    whole, consumed = ResponsibilityGraph(kept), ResponsibilityGraph(handed_over, consume=True)
    assert all(handed_over[key] == [] for key in ("units", "helpers", "villages"))
    assert kept == registry
    for dossier in synth.generate(300, seed=5, defect_rate=0.6):
        assert consumed.links(dossier, load_limit=5) == whole.links(dossier, load_limit=5)
    assert consumed.helper_ids() == whole.helper_ids() and consumed.village_keys() == whole.village_keys()


def test_helper_nodes_carry_only_the_registry_record_with_shared_texts(registry):
    graph = ResponsibilityGraph(json.loads(json.dumps(registry)))
    first, second = (graph.graph.nodes[f"helper:{helper['id']}"] for helper in registry["helpers"][:2])
    assert set(first) == {"name", "unit", "position", "phone"}
    assert registry["helpers"][0]["unit"] == registry["helpers"][1]["unit"], "the sample's helpers share a unit"
    assert first["unit"] is second["unit"]


def test_merged_loads_of_registered_helpers_live_on_their_nodes(registry):
    households = list(synth.generate(300, seed=5, defect_rate=0.6))
    whole = ResponsibilityGraph(registry)
    for dossier in households:
        whole.add_household(dossier)
    merged = ResponsibilityGraph(registry)
    merged.merge_loads(whole.loads())
    registered = {helper["id"] for helper in registry["helpers"]}
    named = {helper_id for dossier in households for helper_id in dossier["helpers"]}
    assert named - registered, "the sample must name helpers the registry lacks"
    on_nodes = {helper_id for helper_id in registered if "loads" in merged.graph.nodes[f"helper:{helper_id}"]}
    assert on_nodes == named & registered
    assert set(merged._merged._packed) == named - registered
    for helper_id in named:
        assert merged.helper_years(helper_id) == whole.helper_years(helper_id)
        assert merged.helper_village_count(helper_id) == whole.helper_village_count(helper_id)


def test_registry_json_texts_are_shared_and_item_lines_kept(tmp_path, registry):
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(registry, ensure_ascii=False, indent=1), encoding="utf-8")
    loaded = load_registry(str(path))
    assert loaded == registry
    helpers = loaded["helpers"]
    assert helpers[0]["unit"] is helpers[1]["unit"] and helpers[0]["unit"] == registry["helpers"][1]["unit"]
    broken = json.loads(json.dumps(registry))
    broken["helpers"][3]["name"] = " "
    path.write_text(json.dumps(broken, ensure_ascii=False, indent=1), encoding="utf-8")
    text = path.read_text(encoding="utf-8").splitlines()
    helpers_line = text.index(' "helpers": [')
    fourth = [number for number in range(helpers_line, len(text)) if text[number] == "  {"][3] + 1
    with pytest.raises(load.InputError, match=r"登记表 helpers 第 4 项（帮扶责任人）缺少 name") as raised:
        load_registry(str(path))
    assert raised.value.location.line == fourth


# ---- readings of a run ---------------------------------------------------------------------------


@pytest.fixture
def repeated_run(tmp_path):
    """A JSON Lines file repeating an id within itself, and a workbook repeating one of its ids."""
    dossiers = list(synth.generate(8, seed=3, defect_rate=0.3))
    lines = [json.dumps(dossier, ensure_ascii=False) for dossier in [*dossiers[:6], dossiers[1]]]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_workbook([dossiers[6], dossiers[4], dossiers[7]], str(tmp_path / "b.xlsx"))
    return [str(tmp_path / "a.jsonl"), str(tmp_path / "b.xlsx")]


def shown(items) -> list[tuple]:
    return [(item.index, item.source, item.line, item.dossier["id"] if item.dossier else None,
             item.error.message if item.error else None) for item in items]


def test_a_later_reading_gives_the_first_readings_items_without_a_table(repeated_run, monkeypatch):
    inputs = RunInputs(repeated_run)
    first = shown(inputs)
    errors = [message for *_, message in first if message]
    assert len(errors) == 2
    assert errors[0].startswith("户编号“") and f"（已在 {repeated_run[0]}:2 出现），此户未核查" in errors[0]
    assert errors[1].endswith(f"与 {repeated_run[0]} 中的档案重复")
    monkeypatch.setattr("dangka.spreadsheet.SeenIds", None)   # a later reading must not build one
    assert shown(inputs) == first


def test_a_reading_left_unfinished_is_not_repeated_from(repeated_run):
    inputs = RunInputs(repeated_run)
    expected = shown(RunInputs(repeated_run))
    reading = iter(inputs)
    next(reading)
    reading.close()
    assert shown(inputs) == expected


def test_a_check_in_this_process_holds_only_a_small_window(tmp_path, monkeypatch):
    from dangka.engine import batch
    from dangka.engine.knowledge import Knowledge

    path = tmp_path / "households.jsonl"
    path.write_text("".join(json.dumps(dossier, ensure_ascii=False) + "\n"
                            for dossier in synth.generate(10, seed=2, defect_rate=0.3)), encoding="utf-8")
    read = []

    class CountedInputs(RunInputs):
        def __iter__(self):
            for loaded in super().__iter__():
                read.append(loaded.index)
                yield loaded

    monkeypatch.setattr(batch, "RunInputs", CountedInputs)
    monkeypatch.setattr(batch, "LOCAL_WINDOW", 3)
    outcomes = batch.check_paths([str(path)], None, Knowledge.load(), jobs=1)
    assert next(outcomes).index == 0
    assert read == [*range(10), 0, 1, 2]   # pass 1 whole, pass 2 one window ahead
    assert [outcome.index for outcome in outcomes] == list(range(1, 10))
