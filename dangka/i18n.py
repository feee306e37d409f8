"""Message language for users: Chinese first, English on request (`--lang en`)."""

import unicodedata

_lang = "zh"


def set_lang(lang: str) -> None:
    global _lang
    _lang = "en" if lang == "en" else "zh"


def lang() -> str:
    return _lang


def tr(zh: str, en: str) -> str:
    """Pick the message for the current language."""
    return en if _lang == "en" else zh


def display_width(text: str) -> int:
    """Columns a text takes in a terminal, an editor or a spreadsheet cell: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def shortened(text: str, limit: int) -> str:
    """A text as a message quotes it: its first `limit` characters and "…" when it is longer
    (a value or a key in the users' files may be a megabyte long)."""
    return text if len(text) <= limit else text[:limit] + "…"
