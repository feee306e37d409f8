"""Writing reports: atomically to a file (never half-written), or to standard output."""

from __future__ import annotations

import os
import sys
import tempfile

from dangka.errors import DangkaError, Location
from dangka.i18n import tr


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
