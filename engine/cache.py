"""The result cache: a household's findings entry kept under the digest of everything that decides it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from typing import NamedTuple, Self

from dangka import __version__
from dangka.errors import UsageError
from dangka.i18n import tr

# Bumped when the entry's shape or the way it is computed changes without the knowledge changing.
CACHE_FORMAT = 1
DATABASE_NAME = "dangka-cache.sqlite3"


def canonical_json(value: object) -> str:
    """The same text for equal data, whatever the order of the keys."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_key(dossier: dict, links: dict, knowledge_digest: str) -> str:
    """sha256 of the dossier, the knowledge and the household's graph links (helper loads change findings)."""
    digest = hashlib.sha256()
    for part in (f"dangka {__version__} cache {CACHE_FORMAT}", knowledge_digest, canonical_json(dossier),
                 canonical_json(links)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


class ResultCache:
    """Household entries in an SQLite file under a folder; JSON text only, never pickled objects.

    An entry is stored without its `source` (the file the dossier was read from), so that the same
    household moved to another file is still a hit; `get` puts the current source back.
    """

    def __init__(self, folder: str):
        self.path = os.path.join(folder, DATABASE_NAME)
        self.hits = 0
        self.misses = 0
        try:
            os.makedirs(folder, exist_ok=True)
            self._db = sqlite3.connect(self.path)
        except (OSError, sqlite3.Error) as error:
            raise UsageError(tr(f"无法使用缓存 {self.path}：{_reason(error)}",
                                f"cannot use the cache {self.path}: {_reason(error)}")) from None
        self._query("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, entry TEXT NOT NULL)")
        self.commit()

    def get(self, key: str, source: str) -> dict | None:
        """The cached entry with `source` set, or None (counted as a hit or a miss)."""
        row = self._query("SELECT entry FROM entries WHERE key = ?", (key,)).fetchone()
        entry = _decoded(row[0]) if row is not None else None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        entry["source"] = source
        return entry

    def put(self, key: str, entry: dict) -> None:
        stored = {name: (None if name == "source" else value) for name, value in entry.items()}
        self._query("INSERT OR REPLACE INTO entries (key, entry) VALUES (?, ?)",
                    (key, json.dumps(stored, ensure_ascii=False)))

    def commit(self) -> None:
        if self._db.in_transaction:
            self._query("COMMIT")

    def close(self) -> None:
        self.commit()
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _query(self, sql: str, parameters: tuple = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, parameters)
        except sqlite3.Error as error:
            raise UsageError(tr(f"缓存文件 {self.path} 无法读写：{_reason(error)}（可删除该文件后重试）",
                                f"cache file {self.path} cannot be used: {_reason(error)} (delete it and retry)")) from None


def _decoded(text: str) -> dict | None:
    """A stored entry; a damaged one (not JSON, or not shaped as `put` stores it) is treated as absent
    and checked again: the writers and the summary index into entries without checking them."""
    try:
        entry = json.loads(text)
    except ValueError:
        return None
    return entry if _shaped(entry, _ENTRY) else None


class _ListOf(NamedTuple):
    item: object   # a type, or a shape (key → kind)


# A household entry as batch.household_entry makes it: key → a type, a tuple of types, a shape or a _ListOf.
_OPTIONAL_TEXT = (str, type(None))
_FINDING = {"rule": str, "category": str, "severity": str, "title": str, "message": str,
            "evidence": _ListOf({"path": str, "value": object}), "basis": str, "source": str,
            "recommend": _ListOf(str)}
_RECOMMENDATION = {"measure": str, "because": str, "members": _ListOf(str), "family": str,
                   "causes": _ListOf(str), "reference": str}
_RULED_OUT = {"measure": str, "because": str, "reference": str, "missing": _ListOf(str)}
_ENTRY = {"id": str, "region": dict, "source": _OPTIONAL_TEXT, "head": _OPTIONAL_TEXT,
          "findings": _ListOf(_FINDING), "recommendations": _ListOf(_RECOMMENDATION), "ruled_out": _ListOf(_RULED_OUT)}


def _shaped(value: object, shape: dict) -> bool:
    """A mapping with exactly the shape's keys, each value of its kind."""
    return isinstance(value, dict) and value.keys() == shape.keys() and all(
        _fits(value[key], kind) for key, kind in shape.items())


def _fits(value: object, kind: object) -> bool:
    if isinstance(kind, _ListOf):
        return isinstance(value, list) and all(_fits(item, kind.item) for item in value)
    if isinstance(kind, dict):
        return _shaped(value, kind)
    return isinstance(value, kind)


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)
