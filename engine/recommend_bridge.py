"""Recommendations for the findings document, from engine.recommend once it is present."""

from __future__ import annotations

from dangka.engine.evaluate import Household


def recommendations_for(household: Household) -> tuple[list[dict], list[dict]]:
    try:
        from dangka.engine.recommend import recommend, to_json
    except ImportError:
        return [], []
    return to_json(*recommend(household))
