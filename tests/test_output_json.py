"""dangka.output.json_text: orjson's speed, json.dumps(ensure_ascii=False, indent=2)'s exact text."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies_hostile import households, json_values

from dangka.output import ORJSON_FLOATS_CAUGHT, json_piece, json_text


def python_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@settings(max_examples=400)
@given(json_values)
def test_json_text_is_json_dumps_text(value):
    assert json_text(value) == python_text(value)


@settings(max_examples=150)
@given(households)
def test_household_text_is_json_dumps_text(household):
    assert json_text(household) == python_text(household)


@settings(max_examples=500)
@given(st.floats())
def test_every_float_is_written_as_python_writes_it(number):
    assert json_text([number]) == python_text([number])


@pytest.mark.parametrize("value", [
    math.nan, -math.inf, [None, math.inf], 1e16, 1.5e300, 1e-5, 5e-324, 2**64, -(2**63) - 1,
    {1: "key not a string"}, {None: 1, True: 2, 1.5: 3}, "lone surrogate \ud800", ("a", ("b",)), [], {}, [[], {}],
    "\x00\x1f\x7f\u2028\u2029\"\\/", "０３７３－７１２３４５６",
])
def test_values_orjson_writes_otherwise_are_written_by_json_dumps(value):
    assert json_text(value) == python_text(value)


def test_pieces_are_utf8_from_orjson_or_the_text_of_json_dumps():
    value = {"户主": "张德福", "电话": "13637370011", "收入": 5432.5, "空": None}
    assert json_piece(value) == python_text(value).encode("utf-8")
    assert json_piece([1e16]) == python_text([1e16])
    assert json_piece(["\udc80"]) == python_text(["\udc80"])


def test_the_installed_orjson_writes_floats_in_the_forms_the_guard_knows():
    """Else every document is written by json.dumps: right, but the speed of the streamed output is gone."""
    assert ORJSON_FLOATS_CAUGHT


def test_plain_values_never_reach_json_dumps(monkeypatch):
    """The point of json_text: the usual household is written by orjson alone."""
    value = {"id": "HN-410727-0101-001", "findings": [{"evidence": [{"path": "year", "value": 2016}]}],
             "income": 5432.5, "ok": True}
    expected = python_text(value)
    monkeypatch.setattr(json, "dumps", lambda *args, **kwargs: pytest.fail("json.dumps was called"))
    assert json_text(value) == expected


def test_what_json_dumps_refuses_is_refused_the_same_way():
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text({"day": dt.date(2016, 5, 1)})
