"""Hypothesis strategies for hostile report values: numbers beside escapes, full-width digits, odd floats."""

from __future__ import annotations

from hypothesis import strategies as st

# Pieces that make masking and JSON encoding hard: personal numbers in every written form, digits
# that a \u escape or a neighbour could join, quotes and backslashes that JSON escapes.
NUMBER_PIECES = [
    "13637370011", "136 3737 0011", "136-3737-0011", "+86 13637370011", "8613637370011",
    "410727196504180116", "41072719650418011X", "41072719650418011x", "410727650418011",
    "0373-7123456", "0373－7123456", "010 12345678", "１３６３７３７００１１", "０３７３－７１２３４５６",
    "\x013637370011", "\x1f13637370011", "HA-410727-0101-001", "2014-07-08", "0.6666666666666666",
]
HOSTILE_CHARACTERS = "0123456789０１２３４５６７８９ +-－Xxe.\"\\\x01\x1f\n\t\u2028中号电话：，（）"

hostile_text = st.lists(
    st.one_of(st.sampled_from(NUMBER_PIECES), st.text(alphabet=HOSTILE_CHARACTERS, max_size=8), st.text(max_size=4)),
    max_size=5,
).map("".join)

# Text without personal numbers (dates, ids, amounts and words only): households of it take the fast path.
plain_text = st.one_of(
    st.sampled_from(["", "张德福", "缺技术", "HA-410727-0101-001", "2014-07-08", "（空）", "乡级公示写家庭人数 4 人"]),
    st.text(alphabet="0123456789 -年月日户主张德福（）：，abc", max_size=9),
)

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([13637370011, -13637370011, 410727196504180116, 2**64 + 13637370011, 0]),
    st.floats(),
    st.sampled_from([1e16, 1e-5, 5e-324, 0.0001, 9999999999999998.0, 13637370011.0, -0.0]),
    hostile_text,
)
plain_scalars = st.one_of(st.none(), st.booleans(), st.integers(-99999, 99999), st.floats(-1e6, 1e6), plain_text)


def json_values_of(scalars, text) -> st.SearchStrategy:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(text, inner, max_size=4),
        ),
        max_leaves=12,
    )


json_values = json_values_of(hostile_scalars, hostile_text)

EVIDENCE_PATHS = [
    "members[0].id_number", "forms.card.contacts[2].phone", "helpers[0].电话", "身份证号", "members[1].name",
    "income.total", "policy.quorum_ratio", "forms.card.contacts[1].photo",
]


def households_of(scalars, text) -> st.SearchStrategy:
    """Households of findings.md's shape whose values are drawn from `scalars` and `text`."""
    values = json_values_of(scalars, text)

    @st.composite
    def evidence_items(draw) -> dict:
        path = draw(st.one_of(st.sampled_from(EVIDENCE_PATHS), text))
        if draw(st.integers(0, 9)) == 0:
            return {"path": path}  # an item without a value: masking adds "value": null
        # Personal fields mostly hold nothing here, so that households without numbers stay common.
        empty = path in EVIDENCE_PATHS[:4] and draw(st.booleans())
        return {"path": path, "value": draw(st.sampled_from([None, "", False])) if empty else draw(values)}

    findings = st.fixed_dictionaries({
        "rule": st.sampled_from(["PLAN-CAUSE-001", "RESP-CARD-002"]),
        "category": st.sampled_from(["plan.cause_mismatch", "responsibility.mismatch", "form.invalid"]),
        "severity": st.sampled_from(["high", "medium", "low"]),
        "title": text,
        "message": text,
        "evidence": st.lists(evidence_items(), max_size=4),
        "basis": text,
        "source": st.just("knowledge/rules/plan.rules:8"),
        "recommend": st.lists(text, max_size=2),
    })
    recommendations = st.fixed_dictionaries({
        "measure": text,
        "because": text,
        "members": st.lists(text, max_size=2),
        "family": text,
        "causes": st.lists(text, max_size=2),
        "reference": text,
    })
    return st.fixed_dictionaries({
        "id": text,
        "region": st.fixed_dictionaries({"county": text, "township": scalars, "village": text}),
        "source": text,
        "head": scalars,
        "findings": st.lists(findings, max_size=3),
        "recommendations": st.lists(recommendations, max_size=2),
        "ruled_out": st.lists(st.fixed_dictionaries({"measure": text, "missing": st.lists(text)}), max_size=1),
    })


# Households with personal numbers everywhere, households with none, and households with a few.
households = st.one_of(
    households_of(hostile_scalars, hostile_text),
    households_of(plain_scalars, plain_text),
    households_of(st.one_of(plain_scalars, hostile_scalars), st.one_of(plain_text, plain_text, hostile_text)),
)
