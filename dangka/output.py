"""Writing reports: atomically to a file (never half-written), or to standard output."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile

import orjson

from dangka.errors import DangkaError, Location
from dangka.i18n import tr


# orjson writes what json.dumps writes except: types json.dumps refuses (dates, dataclasses,
# subclasses: passed through, so orjson refuses them too), integers beyond 64 bits, keys that are
# not strings (it refuses these), NaN and the infinities (it writes null), and floats outside
# 1e-4 ≤ |x| < 1e16 (it writes 1e16 and 0.00001 where Python writes 1e+16 and 1e-05).
_ORJSON_OPTIONS = (orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_PASSTHROUGH_SUBCLASS)
# Text where orjson may have written a float otherwise: an exponent (orjson writes "1e16",
# "5e-324") or a tiny fraction. Strings that hold these only cost the slower encoding.
_MAYBE_EXPONENT = re.compile(rb"e[-0-9]")


def json_text(value: object) -> str:
    """The text of json.dumps(value, ensure_ascii=False, indent=2)."""
    return text_of_utf8(json_utf8(value))


def text_of_utf8(data: bytes) -> str:
    """The text of json_utf8's bytes, lone surrogates included (json.dumps writes them as they are)."""
    return data.decode("utf-8", "surrogatepass")


def json_utf8(value: object) -> bytes:
    """json.dumps(value, ensure_ascii=False, indent=2) in UTF-8, from orjson where it writes the same.

    json.dumps indents in pure Python (its C encoder does not indent), several times slower.
    """
    try:
        data = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _python_json_utf8(value)
    if b"0.0000" in data or _MAYBE_EXPONENT.search(data) or (b"null" in data and _has_nan_or_infinity(value)):
        return _python_json_utf8(value)
    return data


def _python_json_utf8(value: object) -> bytes:
    # Lone surrogates (which orjson refuses) pass through, to be refused where the text is written, as before.
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8", "surrogatepass")


def _has_nan_or_infinity(value: object) -> bool:
    """True when a float in `value` is NaN or infinite (orjson writes those as null, json.dumps as NaN, Infinity)."""
    # json's C encoder (used without indent) refuses them when allow_nan is off: a walk at C speed.
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError):
        return True
    return False


def write_text(text: str, out: str | None) -> None:
    """Standard output when `out` is None; otherwise a temporary file renamed over `out`."""
    if out is None:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    write_atomic(out, text.encode("utf-8"))


def write_atomic(path: str, data: bytes, what: str = "文件") -> None:
    """Write to a temporary file beside `path`, then rename it over `path` (a reader never sees half).

    `what` names the thing in the error message (文件, 工作簿, 报告).
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".dangka-", suffix=".tmp", dir=folder)
    except OSError as error:
        raise DangkaError(tr(f"无法写入{what}：{error.strerror}", f"cannot write the {what}: {error.strerror}"),
                          Location(path), code="output.unwritable") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file for its owner only; a report gets the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise DangkaError(tr(f"无法写入{what}：{error.strerror}", f"cannot write the {what}: {error.strerror}"),
                          Location(path), code="output.unwritable") from None
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
