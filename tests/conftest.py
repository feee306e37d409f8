"""Shared pytest fixtures for the dangka test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout the tests run in."""
    return ROOT


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The bundled copy of ../shared/examples (clean, cooking, registry)."""
    return ROOT / "cases" / "examples"
