"""The register of blocking scenarios: each says which methods it calls (``@covers``), and
``tests/sync/test_against_emulator.py`` fails when a public method of a built-in provider is
called by none of them (the scenarios of every ``tests/sync/test_*.py`` module count)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

COVERED: set[str] = set()

HERE = Path(__file__).resolve().parent


def covers(*methods: str) -> Callable[[F], F]:
    """Marks a scenario as calling ``methods`` ("videosdk sessions.start", ...)."""
    COVERED.update(methods)

    def mark(test: F) -> F:
        return test

    return mark


def every_scenario() -> set[str]:
    """What the scenarios of every sync test module cover (importing those not yet
    imported, so that running one file alone counts them all)."""
    for path in sorted(HERE.glob("test_*.py")):
        importlib.import_module(f"{__package__}.{path.stem}")
    return set(COVERED)
