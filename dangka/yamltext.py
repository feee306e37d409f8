"""YAML strings that are text: PyYAML's pure-Python scanner reads escapes such as "\\ud800" into strings
that nothing can write (UTF-8, orjson and the reports refuse them); libyaml refuses them while scanning."""

from __future__ import annotations

import re

import yaml

# libyaml's words for the same refusal, so that both parsers' errors read the same to the user.
SURROGATE_PROBLEM = "found invalid Unicode character escape code"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    value = loader.construct_scalar(node)
    if not value.isascii() and _SURROGATE.search(value):
        raise yaml.constructor.ConstructorError(None, None, SURROGATE_PROBLEM, node.start_mark)
    return value


def refuse_surrogates(loader: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """The loader class, its strings (keys and values) refused when they hold half a surrogate pair."""
    loader.add_constructor("tag:yaml.org,2002:str", _text)
    return loader
