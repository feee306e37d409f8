"""Writing reports: atomically to a file (never half-written), or to standard output."""

from __future__ import annotations

import os
import sys
import tempfile


def write_text(text: str, out: str | None) -> None:
    """Standard output when `out` is None; otherwise a temporary file renamed over `out`."""
    if out is None:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    write_atomic(out, text.encode("utf-8"))


def write_atomic(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".dangka-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
