"""Masking a household by its JSON (masked_household) agrees with masking every value (the general walk)."""

from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies_hostile import households

from dangka.commands.check import JsonWriter, TextWriter
from dangka.findings import Tally, document
from dangka.report import walked_household, masked_household, masked_layout, masked_report
from dangka.report.text import render_text


def text(value: object) -> str:
    """JSON text that tells apart both the values and the order of keys."""
    return json.dumps(value, ensure_ascii=False)


@settings(max_examples=300)
@given(households)
def testwalked_household_is_the_general_walk(household):
    assert text(masked_household(household)) == text(walked_household(household))


def test_layout_puts_findings_and_evidence_last_and_fills_missing_values():
    household = {"id": "H1", "findings": [{"rule": "R", "evidence": [{"path": "year"}], "basis": "B"}], "head": "张三"}
    assert text(masked_layout(household)) == text(
        {"id": "H1", "head": "张三", "findings": [{"rule": "R", "basis": "B", "evidence": [{"path": "year", "value": None}]}]}
    )


def test_personal_evidence_of_any_shape_is_masked():
    finding = {"category": "form.invalid", "severity": "high", "message": "身份证号位数不对",
               "evidence": [{"path": "members[0].id_number", "value": "41072719650418"},
                            {"path": "forms.card.contacts[2].phone", "value": "1363737"}]}
    shown = masked_household({"id": "H1", "findings": [finding]})
    assert [item["value"] for item in shown["findings"][0]["evidence"]] == ["410727****0418", "*****37"]


def streamed(writer_class, entries: list[dict], errors: list[dict], *arguments) -> str:
    out = io.StringIO()
    writer = writer_class(out, *arguments)
    for entry in entries:
        writer.household(entry)
    writer.tally.errors.extend(errors)
    writer.finish()
    return out.getvalue()


def in_contract_order(report: dict) -> dict:
    return {key: report[key] for key in ("version", "knowledge", "households", "errors", "summary")}


ERRORS = [{"source": "坏.jsonl", "line": 3, "category": "input.invalid", "message": "电话 13637370011 无法读取"}]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(households, max_size=4), st.sampled_from([[], ERRORS]), st.booleans())
def test_streamed_json_is_the_whole_document_dumped(sample_knowledge, entries, errors, mask):
    """Byte for byte: the header, every household (masked by its JSON or walked), the errors and the Tally's summary."""
    report = document(entries, errors, sample_knowledge)
    shown = in_contract_order(masked_report(report) if mask else report)
    if mask:  # the households as the general walk masks them, independently of their JSON
        shown["households"] = [walked_household(entry) for entry in entries]
    expected = json.dumps(shown, ensure_ascii=False, indent=2) + "\n"
    assert streamed(JsonWriter, entries, errors, sample_knowledge, mask) == expected


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(households, st.sampled_from([[], ERRORS]), st.booleans())
def test_streamed_text_is_the_rendered_report(household, errors, mask):
    household = masked_layout(household)  # the text report reads every evidence item's value
    report = document([household], errors, knowledge=_NoKnowledge())
    expected = render_text(masked_report(report) if mask else report)
    assert streamed(TextWriter, [household], errors, False, mask) == expected


class _NoKnowledge:
    """The header's knowledge fields, which the text report does not show."""

    rules: list = []
    policy_names: list = []
    digest = ""


def test_tally_counts_as_the_document_summary_did():
    entries = [
        {"findings": [{"category": "plan.cause_mismatch", "severity": "high"},
                      {"category": "form.invalid", "severity": "low"}]},
        {"findings": []},
        {"findings": [{"category": "form.invalid", "severity": "high"}]},
    ]
    tally = Tally()
    for entry in entries:
        tally.add(entry)
    tally.errors = ERRORS
    assert tally.summary() == {
        "households": 3, "with_findings": 2, "errors": 1,
        "by_category": {"form.invalid": 2, "input.invalid": 1, "plan.cause_mismatch": 1},
        "by_severity": {"high": 2, "low": 1},
    }
    assert list(tally.summary()["by_severity"]) == ["high", "low"]


def test_a_finding_category_input_invalid_is_kept_without_errors():
    tally = Tally()
    tally.add({"findings": [{"category": "input.invalid", "severity": "high"}]})
    assert tally.summary()["by_category"] == {"input.invalid": 1}


def test_the_knowledge_digest_is_never_taken_for_a_phone_number(sample_knowledge, monkeypatch):
    # A sha256 digest in hex can hold a run like 13812345678; it is no personal data.
    digest = "b4e044" + "13812345678" + "0" * 47
    monkeypatch.setattr(sample_knowledge, "digest", digest)
    report = document([], ERRORS, sample_knowledge)
    assert masked_report(report)["knowledge"]["digest"] == digest
    assert masked_report(report)["errors"][0]["message"] == "电话 136****0011 无法读取"
    assert f'"digest": "{digest}"' in streamed(JsonWriter, [], ERRORS, sample_knowledge, True)
