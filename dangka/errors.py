"""One root exception for everything dangka reports to a user, with a stable code and a place."""

from __future__ import annotations

from dataclasses import dataclass

from dangka.categories import UNREADABLE


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


class DangkaError(Exception):
    """A problem the user must fix: bad input, a broken rule file, a usage error."""

    code = "error"

    def __init__(self, message: str, location: Location | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.code}: {self.message}"


class InputError(DangkaError):
    """A dossier or registry file that cannot be read or does not fit the contract."""

    code = UNREADABLE


class UsageError(DangkaError):
    """The command line was used wrongly."""

    code = "usage"
