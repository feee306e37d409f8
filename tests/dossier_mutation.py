"""Property-test helper: a copy of a dossier with a few of its values, at any depth, replaced by drawn ones."""

from __future__ import annotations

import copy


def leaf_paths(node, path=()):
    """The path (keys and indexes) of every value below a node, containers included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,)
            yield from leaf_paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield path + (index,)
            yield from leaf_paths(value, path + (index,))


def with_drawn_values(dossier: dict, data, values, most: int) -> dict:
    """A deep copy of the dossier with 1..most values replaced by draws from `values` (hypothesis st.data())."""
    from hypothesis import strategies as st

    changed = copy.deepcopy(dossier)
    paths = list(leaf_paths(changed))
    for _ in range(data.draw(st.integers(1, most))):
        path = data.draw(st.sampled_from(paths))
        node = changed
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = data.draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    return changed
