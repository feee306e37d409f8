"""dangka.mask.json_may_show_numbers: looking for personal numbers in a value's JSON never misses one."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from strategies_hostile import NUMBER_PIECES, hostile_text, json_values

from dangka.mask import json_may_show_numbers, mask_value
from dangka.output import json_piece


def json_utf8(value: object) -> bytes:
    """The value's indented JSON in UTF-8, as the JSON writer looks at it."""
    piece = json_piece(value)
    return piece if isinstance(piece, bytes) else piece.encode("utf-8", "surrogatepass")


def layouts(value: object) -> list[bytes]:
    """The value's JSON as the writers make it: indented and, where orjson can, compact."""
    texts = [json_utf8(value)]
    try:
        texts.append(orjson.dumps(value))
    except orjson.JSONEncodeError:
        pass
    return texts


@settings(max_examples=600)
@given(json_values)
def test_json_without_numbers_to_show_means_nothing_to_mask(value):
    for data in layouts(value):
        if not json_may_show_numbers(data):
            assert json.dumps(mask_value(value), ensure_ascii=False) == json.dumps(value, ensure_ascii=False)


@settings(max_examples=600)
@given(hostile_text)
def test_every_maskable_text_is_found_in_its_json(text):
    if mask_value(text) != text:
        assert all(json_may_show_numbers(data) for data in layouts({"message": text, "values": [text]}))


@pytest.mark.parametrize("piece", [piece for piece in NUMBER_PIECES if mask_value(piece) != piece])
def test_each_kind_of_number_is_found(piece):
    assert json_may_show_numbers(json_utf8({"message": f"联系电话{piece}。"}))
    assert json_may_show_numbers(orjson.dumps([1, {"k": piece}]))


@pytest.mark.parametrize("value", [
    {"id": "HA-410727-0101-001", "message": "乡级公示写家庭人数 4 人，县级公告写 3 人", "year": 2016},
    {"dates": ["2014-07-08", "2017-08-24 "], "ratio": 0.25, "amount": 11643},
    {"text": "（空）：，", "bank": "1234-5678"},
])
def test_values_without_personal_numbers_are_passed(value):
    assert mask_value(value) == value
    assert not json_may_show_numbers(json_utf8(value))


def test_a_long_fraction_is_looked_at_though_never_masked():
    """0.6666666666666666 holds sixteen digits in a row: looked at closely (the general walk), left as it is."""
    assert json_may_show_numbers(json_utf8({"ratio": 2 / 3})) and mask_value({"ratio": 2 / 3}) == {"ratio": 2 / 3}


def test_integer_phone_numbers_are_found():
    assert json_may_show_numbers(json_utf8({"value": 13637370011}))
    assert json_may_show_numbers(orjson.dumps({"value": -13637370011}))


def test_an_escape_before_digits_is_never_trusted():
    """\\u0001 then 0373-7123456 reads 00010373-7123456 in JSON, which no pattern matches: such a run answers True."""
    assert json_may_show_numbers(json_utf8(["\x01" + "0373-7123456"]))
    assert not json_may_show_numbers(json_utf8(["\x01" + "2016 年"]))  # too short a run to hold a number
