"""pytest plugin: an `agentcloud_emulator` fixture yielding a started Emulator.

Registered through the `pytest11` entry point, so it loads in every pytest run of an
environment where agentcloud is installed. It uses pytest-asyncio's fixture decorator
when that plugin is installed; without it the async fixture is still defined, and only
a test that asks for it needs some async test runner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ._emulator import Emulator

__all__ = ["agentcloud_emulator"]


def _async_fixture() -> Callable[[Any], Any]:
    try:
        import pytest_asyncio
    except ImportError:
        return pytest.fixture
    fixture: Callable[[Any], Any] = pytest_asyncio.fixture
    return fixture


@_async_fixture()
async def agentcloud_emulator() -> AsyncIterator[Emulator]:
    """A started `agentcloud.testing.Emulator` on a free loopback port, closed afterwards."""
    async with Emulator() as emulator:
        yield emulator
