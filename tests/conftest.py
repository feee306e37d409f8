"""Shared pytest fixtures for the dangka test suite."""

from __future__ import annotations

from pathlib import Path

import copy

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout the tests run in."""
    return ROOT


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The bundled copy of ../shared/examples (clean, cooking, registry)."""
    return ROOT / "cases" / "examples"


@pytest.fixture(scope="session")
def sample_rules_dir() -> Path:
    """A small rule set of the engine's own tests, independent of the shipped knowledge base."""
    return ROOT / "tests" / "data" / "rules"


@pytest.fixture(scope="session")
def sample_knowledge(sample_rules_dir):
    """The sample rules parsed, checked and compiled (one durable_rules host per process)."""
    from dangka.engine.knowledge import Knowledge

    return Knowledge.load([sample_rules_dir])


@pytest.fixture(scope="session")
def sample_engine(sample_knowledge):
    """An engine over the sample rules."""
    from dangka.engine.run import Engine

    return Engine(sample_knowledge)


@pytest.fixture(scope="session")
def _example_dossiers(examples_dir) -> dict:
    return {name: yaml.safe_load((examples_dir / f"{name}.yaml").read_text(encoding="utf-8"))
            for name in ("clean", "cooking")}


@pytest.fixture
def clean_dossier(_example_dossiers) -> dict:
    """A fresh copy of the bundled clean household, safe to change."""
    return copy.deepcopy(_example_dossiers["clean"])


@pytest.fixture
def cooking_dossier(_example_dossiers) -> dict:
    """A fresh copy of the bundled field case (elderly couple given cooking training)."""
    return copy.deepcopy(_example_dossiers["cooking"])
