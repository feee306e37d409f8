"""The contract's quick paths (text readers, reading plans, look-up tables) agree with the general ones."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangka import contract
from dossier_mutation import with_drawn_values
from dangka.contract import ENTITIES, enumeration, id_check_char, normalize, records, text_reader

DOSSIER_FIELDS = [(entity_.key, field_) for entity_ in ENTITIES.values() if not entity_.base
                  for field_ in entity_.fields if not field_.derived]
SPELLINGS = sorted({spelling for name in contract.dictionary() for spelling in enumeration(name).exact()})

# Raw values near the clean shapes, where a quick path could go wrong: padded words and codes,
# ISO-like dates that are not dates, week dates, full-width and Arabic-Indic digits.
tricky_text = st.sampled_from([
    "2017-02-29", "2016-02-29", "2017-13-01", "2020-W01-1", "2020-01-05", " 2020-01-05", "2020-1-5", "2020/01/05",
    "２０２０-０１-０５", "٢٠٢٠-٠١-٠٥", "20200105", "2020年1月5日", "是", "否", " 是 ", "√", "01", " 01", "08", "8",
    "12", "+12", "1_000", "1.5", " 3 ", "户主", " 户主", "缺劳动力", "", "  ", "\u3000因病\u3000", "nan", "inf",
])
raw_values = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=12)
              | st.dates() | tricky_text | st.sampled_from(SPELLINGS) | st.sampled_from(SPELLINGS).map(lambda w: f" {w}"))


def typed(result: tuple[object, str | None]) -> tuple[type, object, str | None]:
    """A normalize result with its value's type: 1, 1.0 and True are different readings."""
    value, reason = result
    return type(value), value, reason


texts = st.text(max_size=12) | tricky_text | st.sampled_from(SPELLINGS) | st.sampled_from(SPELLINGS).map(lambda w: f" {w}")


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(DOSSIER_FIELDS), texts)
def test_a_text_reader_gives_what_normalize_gives_or_leaves_the_text_to_it(entity_and_field, text):
    _, field_ = entity_and_field
    value = text_reader(field_)(text)
    if value:
        assert typed((value, None)) == typed(normalize(field_, text))


@pytest.mark.parametrize("entity_key, field_", DOSSIER_FIELDS, ids=lambda item: getattr(item, "key", item))
def test_values_kept_as_they_are_need_no_normalizing(entity_key, field_):
    for raw in (0, 1, -7, 10**18, True, False):
        reader = next(reader for _, readers in contract._reading_plan(entity_key) for reader in readers
                      if reader.field == field_)
        if type(raw) is reader.kept:
            assert typed(normalize(field_, raw)) == typed((raw, None))


# -- records read by reading plans are the fields read one by one, the general way ----------------


def reference_values(entity_: contract.Entity, node: object) -> list[tuple[str, type, object]]:
    """Each dossier field of an entity looked up by its dotted path and normalized, in field order."""
    values = []
    for field_ in entity_.fields:
        if field_.derived:
            continue
        found, raw = True, node
        for part in field_.path.split(".") if field_.path else ():
            found, raw = (True, raw[part]) if isinstance(raw, dict) and part in raw else (False, None)
            if not found:
                break
        value, _ = normalize(field_, raw) if found else (None, None)
        if value is not None:
            values.append((field_.key, type(value), value))
    return values


def read_values(record: contract.Record) -> list[tuple[str, type, object]]:
    fields = ENTITIES[record.entity].fields
    derived = {field_.key for field_ in fields if field_.derived}
    return [(key, type(value), value) for key, value in record.values.items() if key not in derived]


def node_of(dossier: dict, record: contract.Record) -> object:
    """The dossier node a record was read from, by its path (members[1], forms.survey, "")."""
    node: object = dossier
    for part in record.path.split(".") if record.path else ():
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))]
    return node


@pytest.fixture(scope="module")
def clean_once(examples_dir) -> dict:
    return yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_records_hold_the_values_each_field_reads_the_general_way(clean_once, data):
    dossier = with_drawn_values(clean_once, data, raw_values, most=8)
    for record in records(dossier):
        if ENTITIES[record.entity].source != "dossier":
            continue
        expected = reference_values(ENTITIES[record.entity], node_of(dossier, record))
        read = read_values(record)
        if record.entity == "member" and all(key != "birth_date" for key, _, _ in expected):
            read = [item for item in read if item[0] != "birth_date"]  # taken from the identity number
        assert read == expected


def test_every_dossier_entity_of_the_clean_example_is_compared(clean_once):
    read = {record.entity for record in records(clean_once) if ENTITIES[record.entity].source == "dossier"}
    assert {"household", "member", "income", "conditions", "assets", "measure", "survey", "contact",
            "meeting", "notice"} <= read


# -- look-up tables built once -------------------------------------------------------------------


@given(st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩０１２３４５６７８９", min_size=17, max_size=17))
def test_the_check_character_is_the_same_for_ascii_and_other_digits(first17):
    total = sum(int(digit) * weight for digit, weight in zip(first17, contract._ID_WEIGHTS))
    assert id_check_char(first17) == "10X98765432"[total % 11]


def test_a_field_found_by_name_is_the_first_field_with_that_name():
    for entity_ in ENTITIES.values():
        for name in {name for field_ in entity_.fields for name in field_.names} | {"无此字段"}:
            expected = next((field_ for field_ in entity_.fields if name in field_.names), None)
            assert entity_.field(name) is expected


@pytest.mark.parametrize("name", sorted(contract.dictionary()))
def test_a_bare_number_is_the_first_word_with_that_code(name):
    words = enumeration(name)
    for number in range(-1, 100):
        expected = next((entry.word for entry in words.words if entry.code.isdigit() and int(entry.code) == number), None)
        assert words.canonical(number) == expected


def test_a_date_read_from_text_is_a_real_iso_date():
    field_ = ENTITIES["member"].field("birth_date")
    assert text_reader(field_)("2016-02-29") == dt.date(2016, 2, 29)
    assert text_reader(field_)("2017-02-29") is None
    assert normalize(field_, "2017-02-29") == (None, "不是存在的日期")
    assert text_reader(field_)("2020-W01-1") is None
