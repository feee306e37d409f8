"""Message language for users: Chinese first, English on request (`--lang en`)."""

_lang = "zh"


def set_lang(lang: str) -> None:
    global _lang
    _lang = "en" if lang == "en" else "zh"


def lang() -> str:
    return _lang


def tr(zh: str, en: str) -> str:
    """Pick the message for the current language."""
    return en if _lang == "en" else zh
