"""Writing reports: atomically to a file (never half-written), or to standard output."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import orjson

from dangka.errors import DangkaError, Location
from dangka.i18n import tr


# orjson writes what json.dumps writes except: types json.dumps refuses (dates, dataclasses,
# subclasses: passed through, so orjson refuses them too; UUIDs and plain enum members, which no
# report holds, it writes), integers beyond 64 bits, keys that are not strings (it refuses these),
# NaN and the infinities (it writes null), and floats outside 1e-4 ≤ |x| < 1e16 (it writes 1e16
# and 0.00001 where Python writes 1e+16 and 1e-05).
_ORJSON_OPTIONS = (orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_PASSTHROUGH_SUBCLASS)
# Text where orjson may have written a float otherwise: an exponent (orjson 3.8 writes "1e16",
# "5e-324"; 3.13 writes "1e+16" as Python does, but "1e-7" where Python writes "1e-07") or a tiny
# fraction. Strings that hold these only cost the slower encoding.
_MAYBE_EXPONENT = re.compile(rb"e[-+0-9]")


def _orjson_floats_are_caught() -> bool:
    """True when orjson writes every float at the edges of Python's plain notation as Python does, or visibly not.

    These are the forms _MAYBE_EXPONENT and "0.0000" catch; an orjson release that wrote floats
    in yet another form would leave all encoding to json.dumps rather than change a byte.
    """
    edges = (1e16, 1.2345678901234567e16, 1e22, 1.7976931348623157e308, 9999999999999998.0,
             1e-4, 9.99e-5, 1e-5, 1.5e-7, 5e-324)
    for number in edges + tuple(-number for number in edges):
        data = orjson.dumps(number)
        if data != json.dumps(number).encode() and not (b"0.0000" in data or _MAYBE_EXPONENT.search(data)):
            return False
    return True


ORJSON_FLOATS_CAUGHT = _orjson_floats_are_caught()


def json_text(value: object) -> str:
    """The text of json.dumps(value, ensure_ascii=False, indent=2)."""
    piece = json_piece(value)
    return piece.decode() if isinstance(piece, bytes) else piece


def json_piece(value: object) -> bytes | str:
    """json.dumps(value, ensure_ascii=False, indent=2): in UTF-8 from orjson where it writes the same, else the text.

    json.dumps indents in pure Python (its C encoder does not indent), several times slower;
    orjson's bytes go to a UTF-8 file as they are. The text comes where orjson may write
    otherwise, or refuses (a lone surrogate, which json.dumps writes and a UTF-8 file refuses).
    """
    if not ORJSON_FLOATS_CAUGHT:
        return json.dumps(value, ensure_ascii=False, indent=2)
    try:
        data = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, indent=2)
    if b"0.0000" in data or _MAYBE_EXPONENT.search(data) or (b"null" in data and _has_nan_or_infinity(value)):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return data


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
    """Write `data` to `path` whole: through a temporary file renamed over it (a reader never sees half).

    `what` names the thing in the error message (文件, 工作簿, 报告).
    """
    with opened_output(path, what) as stream:
        stream.write(data)


def output_target(path: str, what: str = "文件") -> str:
    """The file --out writes, checked before a run so that hours of checking never end unwritten.

    A symbolic link is followed: its target is written, as a shell redirection would. A device or
    pipe (/dev/stdout, a FIFO) is returned as given: it is written directly.
    """
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        return path
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        problem = tr("这是一个文件夹，请给出文件名", "this is a folder; give a file name")
    elif not os.path.isdir(folder):
        problem = tr(f"文件夹 {os.path.dirname(path) or folder} 不存在", f"the folder {os.path.dirname(path) or folder} does not exist")
    elif not os.access(target if os.path.exists(target) else folder, os.W_OK):
        problem = tr("没有写入权限", "permission denied")
    else:
        return target
    raise _unwritable(path, what, problem)


@contextmanager
def opened_output(path: str, what: str = "文件") -> Iterator[BinaryIO]:
    """A binary stream to `path`, all of it there or none of it.

    A regular file (or a new one) is written as a temporary file beside it, renamed over it once
    whole. A device, pipe or terminal (/dev/stdout, a FIFO) is written directly and never replaced.
    """
    target = output_target(path, what)
    if os.path.exists(target) and not os.path.isfile(target):
        try:
            with open(target, "wb") as stream:
                yield stream
        except OSError as error:
            raise _unwritable(path, what, error.strerror) from None
        return
    try:
        handle, temporary = tempfile.mkstemp(prefix=".dangka-", suffix=".tmp", dir=os.path.dirname(target))
    except OSError as error:
        raise _unwritable(path, what, error.strerror) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file for its owner only; a report gets the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise _unwritable(path, what, error.strerror) from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(temporary: str) -> None:
    if os.path.exists(temporary):
        os.unlink(temporary)


def _unwritable(path: str, what: str, reason: str | None) -> DangkaError:
    return DangkaError(tr(f"无法写入{what}：{reason}", f"cannot write the {what}: {reason}"),
                       Location(path), code="output.unwritable")


# What a terminal must not be given from the data (and a rule's text may not hold): control characters (ESC starts commands that
# clear the screen, retitle the window or worse; CR overwrites a line) and the bidirectional
# overrides that make text read otherwise than it is. Colour sequences (ESC [ … m) only colour.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_FOR_TERMINALS = re.compile("\x1b\\[[0-9;]*m|" + CONTROL_CHARACTERS.pattern)


def terminal_safe(text: str) -> str:
    """The text with every character a terminal would act on shown as �; newlines, tabs and colours kept."""
    if _UNSAFE_FOR_TERMINALS.search(text) is None:
        return text
    return _UNSAFE_FOR_TERMINALS.sub(lambda match: match.group() if len(match.group()) > 1 else "\ufffd", text)


class TerminalSafe:
    """A text stream to a terminal that writes everything through terminal_safe."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(terminal_safe(text))

    def write_own(self, text: str) -> int:
        """dangka's own control sequences (the progress line's CR and erase), which hold no data."""
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def write_own(stream, text: str) -> None:
    """Write dangka's own control sequences to `stream`, past a TerminalSafe guard if it has one."""
    getattr(stream, "write_own", stream.write)(text)
