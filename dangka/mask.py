"""Masking of personal numbers (identity, mobile and landline numbers) in everything shown to people."""

from __future__ import annotations

import functools
import re

# An identity number is 18 characters (17 digits and a check digit that may be X); the first
# generation had 15 digits, mistyped ones in the data have 16 or 17, bank cards 16–19, and
# numbers written without a separator run together. So any run of 15 or more digits, with an
# optional final X, is treated as identity-like: no amount of money or date is that long.
_ID_LIKE = re.compile(r"(?<![0-9])[0-9]{14,}[0-9Xx](?![0-9])")
# Mainland mobile numbers, also written with a +86 prefix or split 3-4-4 by spaces or hyphens.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9])")
# Landlines with an area code (0 + 2–3 digits) and a 7–8 digit local number: 0373-7123456.
# Without an area code a 7–8 digit run cannot be told from an amount of money, so it is left.
_LANDLINE = re.compile(r"(?<![0-9])(0[0-9]{2,3})([-－ ]?)([0-9]{7,8})(?![0-9])")
# Chinese text often has full-width digits (１３６…); they are searched as ASCII digits.
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

_KEEP_ID_HEAD = 6  # the region code: needed to read a report by county, not personal on its own
_KEEP_TAIL = 4


def mask_id(number: object) -> str:
    """410727196504180116 → 410727********0116: keep the region code and the last four."""
    text = str(number).strip()
    if len(text) <= _KEEP_ID_HEAD + _KEEP_TAIL:
        # Too short to be a real identity number (a typo): hide all but the last two.
        keep = min(2, len(text) // 2)
        return "*" * (len(text) - keep) + text[len(text) - keep :]
    return text[:_KEEP_ID_HEAD] + "*" * (len(text) - _KEEP_ID_HEAD - _KEEP_TAIL) + text[-_KEEP_TAIL:]


def mask_phone(number: object) -> str:
    """13637370011 → 136****0011; 0373-7123456 → 0373-***3456; separators are kept."""
    text = str(number).strip()
    digit_positions = [i for i, char in enumerate(text) if char.isdigit()]
    count = len(digit_positions)
    tail = _KEEP_TAIL if count >= 8 else min(2, count // 2)
    hidden = set(digit_positions[_visible_head(text) : count - tail])
    return "".join("*" if i in hidden else char for i, char in enumerate(text))


def _visible_head(phone: str) -> int:
    """How many leading digits may show: the network prefix of a mobile, the area code of a landline."""
    if _MOBILE.fullmatch(phone):
        country_code = 2 if phone.lstrip("+").startswith("86") and len(re.sub(r"\D", "", phone)) == 13 else 0
        return country_code + 3
    landline = _LANDLINE.fullmatch(phone)
    if landline:
        return len(landline.group(1))
    # A malformed number: showing its start would show most of it.
    return 0


# Every number above is a run of at least ten digits, signs and separators: text without such a
# run has nothing to mask, and most text (names, messages, words) is skipped at once.
_CANDIDATE = re.compile(r"[0-9０-９+][0-9０-９ +\-－]{9,}")


def mask_text(text: str) -> str:
    """Mask every identity-like, mobile and landline number found inside free text."""
    if _CANDIDATE.search(text) is None:
        return text
    searchable = text.translate(_FULLWIDTH_DIGITS)
    masked = _ID_LIKE.sub(lambda match: mask_id(match.group()), searchable)
    masked = _MOBILE.sub(lambda match: mask_phone(match.group()), masked)
    masked = _LANDLINE.sub(lambda match: mask_phone(match.group()), masked)
    # Every mask keeps the length, so the stars can be put back into the original characters.
    return "".join(
        original if shown == plain else shown for original, plain, shown in zip(text, searchable, masked, strict=True)
    )


def mask_value(value: object) -> object:
    """Mask the numbers inside any string, list or mapping (keys too); other values are returned as they are.

    Numbers stored as integers (an unquoted phone in YAML) become masked strings.
    """
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {mask_value(key): mask_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item) for item in value]
    return value


def mask_field(path: str, value: object) -> object:
    """Mask a value by the dossier field it came from: ill-formed identity or phone numbers too.

    `path` is a dossier path such as "members[1].id_number" or "forms.card.contacts[2].phone";
    a value there is personal even when it has the wrong shape (and so escapes mask_text).
    """
    kind = personal_kind(path, value)
    if kind == "id":
        return mask_id(value)
    if kind == "phone":
        return mask_phone(value)
    return mask_value(value)


def personal_kind(path: str, value: object) -> str | None:
    """"id" or "phone" when mask_field hides `value` whole as an identity or phone number; None otherwise."""
    if value is None or value == "" or isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return _personal_field(path)


# Evidence paths repeat from household to household (year, members[0].age, ...).
@functools.lru_cache(maxsize=4096)
def _personal_field(path: str) -> str | None:
    field = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if field in ("id_number", "身份证号"):
        return "id"
    if "phone" in field or "电话" in field:
        return "phone"
    return None


# The three patterns in one, to try on the short runs json_may_show_numbers finds.
_ANY_NUMBER = re.compile("|".join(pattern.pattern for pattern in (_ID_LIKE, _MOBILE, _LANDLINE)))


def _run_bytes() -> bytes:
    """The byte table json_may_show_numbers finds _CANDIDATE runs in UTF-8 with.

    Digits and + become "0", space and hyphen "-", every other byte "." — except the bytes of
    the full-width digits (EF BC 90–99, which become "000") and of the full-width hyphen
    (EF BC 8D, "00-"). Those bytes occur inside other characters too, which can only lengthen a
    run or make one more: more to look at, nothing missed.
    """
    table = bytearray(b"." * 256)
    for byte in (*b"0123456789+", 0xEF, 0xBC, *range(0x90, 0x9A)):
        table[byte] = ord("0")
    for byte in (*b" -", 0x8D):
        table[byte] = ord("-")
    return bytes(table)


_RUN_BYTES = _run_bytes()
# Every number the patterns match starts with three run characters (a mobile's 1[3-9]\d or +86,
# a landline's 0\d\d, an identity number's digits), and searching from the literal "000" is
# far faster than from a character class.
_RUN = re.compile(rb"000[0\-]{7,}")


def json_may_show_numbers(json_utf8: bytes) -> bool:
    """False only when mask_value would change nothing in the value this JSON (ensure_ascii=False, UTF-8) is of.

    Every number mask_text masks lies in a _CANDIDATE run (an identity number's final X just
    after it), and JSON writes a run's characters, and the characters beside it, as they are —
    except a \\u escape of a control character, whose hex digits could join the run after it:
    such a run answers True. So the patterns need only be tried on each run, with a character
    of context either side (a character cut there decodes as U+FFFD: not a digit, as it was not).
    """
    for run in _RUN.finditer(json_utf8.translate(_RUN_BYTES)):
        if json_utf8[run.start() - 2 : run.start()] == b"\\u":
            return True
        around = json_utf8[max(run.start() - 1, 0) : run.end() + 2].decode("utf-8", "replace")
        if _ANY_NUMBER.search(around.translate(_FULLWIDTH_DIGITS)):
            return True
    return False
