"""The recommender's catalogue, indexed once per year and province, agrees with the policy tables' own look-ups."""

from __future__ import annotations

import pytest

from dangka.engine import recommend
from dangka.policy import Policies

YEARS = (None, 2014, 2016, 2019, 2020)
PROVINCES = (None, "河南省", "江西省", "甘肃省", "贵州省")


@pytest.fixture(scope="module")
def policies() -> Policies:
    return Policies.load()


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("province", PROVINCES)
def test_a_catalogue_holds_the_tables_cells_in_force(policies, year, province):
    causes, measures = policies.table("causes"), policies.table("measures")
    catalogue = recommend._catalogue(causes, measures, year, province)
    assert catalogue.cause_rows is causes.in_force(year, province)
    for measure, spec in catalogue.measures.items():
        row = measures.values(measure, year, province)
        assert spec.reference == measures.reference(measure, province)
        assert spec.family == str(row.get("family") or "")
        assert spec.individual == (row.get("scope") == recommend.INDIVIDUAL_SCOPE)
        ages = [criterion for criterion in spec.criteria if isinstance(criterion, recommend._AgeRange)]
        low, high = measures.lookup(measure, "min_age", year, province), measures.lookup(measure, "max_age", year, province)
        if low[0] is None and high[0] is None:
            assert ages == []
        else:
            assert ages == [recommend._AgeRange(low[0], high[0], low[1], high[1])]


@pytest.mark.parametrize("year", YEARS)
def test_a_causes_measures_are_its_rows_then_those_naming_it(policies, year):
    causes, measures = policies.table("causes"), policies.table("measures")
    catalogue = recommend._catalogue(causes, measures, year, "河南省")
    for cause in causes.rows:
        listed = [measure for measure in causes.values(cause, year, "河南省")["measures"] if measure in measures.rows]
        naming = [measure for measure in measures.rows if measure not in listed
                  and cause in (measures.values(measure, year, "河南省").get("causes") or ())]
        assert catalogue.measures_for[cause] == listed + naming


def test_a_catalogue_is_built_once_per_year_and_province(policies):
    causes, measures = policies.table("causes"), policies.table("measures")
    first = recommend._catalogue(causes, measures, 2016, "河南省")
    assert recommend._catalogue(causes, measures, 2016, "河南省") is first
    assert recommend._catalogue(causes, measures, 2017, "河南省") is not first


@pytest.mark.parametrize("fragments, joined", [
    ([], ""),
    (["", ""], ""),
    (["甲"], "甲"),
    (["甲", "甲"], "甲"),
    (["甲", "乙"], "甲；乙"),
    (["甲", "甲乙", "丙"], "甲乙；丙"),
    (["甲乙", "甲", "", "乙丙", "乙"], "甲乙；乙丙"),
])
def test_joined_leaves_out_empty_repeated_and_contained_fragments(fragments, joined):
    assert recommend._joined(fragments) == joined
