"""Masking of identity and phone numbers: the fixed examples, free text, field-aware masking, properties."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dangka.mask import mask_field, mask_id, mask_phone, mask_text, mask_value


def test_identity_number_keeps_region_code_and_last_four():
    assert mask_id("410727196504180116") == "410727********0116"


def test_identity_number_with_x_check_digit():
    assert mask_id("41072719650418011X") == "410727********011X"


def test_mobile_keeps_prefix_and_last_four():
    assert mask_phone("13637370011") == "136****0011"


def test_landline_keeps_area_code_and_last_four():
    assert mask_phone("0373-7123456") == "0373-***3456"


def test_mobile_with_country_code_and_separators():
    assert mask_phone("+86 136-3737-0011") == "+86 136-****-0011"


def test_malformed_phone_shows_only_its_end():
    assert mask_phone("1363737001") == "******7001"


def test_short_value_is_mostly_hidden():
    assert mask_id("12345") == "***45"


def test_free_text_masks_every_kind_of_number():
    text = "户主身份证 410727196504180116，手机13637370011，座机 0373-7123456。"
    assert mask_text(text) == "户主身份证 410727********0116，手机136****0011，座机 0373-***3456。"


def test_free_text_leaves_dates_amounts_and_household_ids():
    text = "HN-410727-0101-001 于 2017-05-16 公示，人均纯收入 2980 元，金额 12000"
    assert mask_text(text) == text


def test_mistyped_identity_numbers_of_15_to_17_digits_are_masked():
    assert mask_text("号码41072719650418011") == "号码410727*******8011"


def test_numbers_written_together_are_masked_as_one():
    assert mask_text("41072719650418011613637370011") == "410727*******************0011"


def test_full_width_digits_are_masked():
    assert mask_text("电话：１３６３７３７００１１") == "电话：１３６****００１１"


def test_value_masks_nested_structures_and_integer_phones():
    value = {"phones": [13637370011, "0373-7123456"], "ok": True, "count": 3, "share": 0.5}
    assert mask_value(value) == {"phones": ["136****0011", "0373-***3456"], "ok": True, "count": 3, "share": 0.5}


def test_field_masking_hides_ill_formed_identity_and_phone_numbers():
    assert mask_field("members[0].id_number", "41022519650418") == "410225****0418"
    assert mask_field("forms.card.contacts[2].phone", "1380373110") == "******3110"
    assert mask_field("phone", 1363737001) == "******7001"


def test_field_masking_leaves_other_fields_and_empty_values():
    assert mask_field("members[0].age", 72) == 72
    assert mask_field("members[0].id_number", None) is None
    assert mask_field("village.first_secretary_phone", "") == ""


identity_numbers = st.from_regex(r"\A[1-8][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])[0-9]{3}[0-9X]\Z")
mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
# Free text around the numbers: Chinese words, punctuation and spaces but no digits, so the
# number stays a separate number (numbers run together are masked as one: tested above).
surrounding = st.text(alphabet=st.sampled_from("户主身份证号电话手机，。：； abcYZ"), max_size=12)
separator = st.text(alphabet=st.sampled_from("户主身份证号电话手机，。：；abcYZ"), min_size=1, max_size=12)


@given(surrounding, identity_numbers, separator, mobiles, surrounding)
def test_no_full_number_survives_in_free_text(before, identity, middle, mobile, after):
    masked = mask_text(before + identity + middle + mobile + after)
    assert identity not in masked
    assert mobile not in masked
    assert identity[:6] + "*" * 8 + identity[-4:] in masked
    assert mobile[:3] + "****" + mobile[-4:] in masked


@given(st.text(max_size=60))
def test_masking_keeps_length_and_is_idempotent(text):
    masked = mask_text(text)
    assert len(masked) == len(text)
    assert mask_text(masked) == masked


@given(st.text(max_size=60))
def test_masking_only_replaces_digits_by_stars(text):
    masked = mask_text(text)
    for original, shown in zip(text, masked, strict=True):
        assert shown == original or (shown == "*" and re.fullmatch(r"\d", original))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789０１３６+-－ X张三电话：号码", max_size=40))
def test_skipping_text_without_long_numbers_changes_nothing(text):
    """The quick skip in mask_text only ever skips text the patterns would not touch."""
    from dangka import mask

    searchable = text.translate(mask._FULLWIDTH_DIGITS)
    untouched = all(pattern.search(searchable) is None for pattern in (mask._ID_LIKE, mask._MOBILE, mask._LANDLINE))
    if mask._CANDIDATE.search(text) is None:
        assert untouched
