"""pytest plugin: an `agentcloud_emulator` fixture yielding a started Emulator.

Registered through the `pytest11` entry point, so it loads in every pytest run of an
environment where agentcloud is installed; it therefore imports nothing of the emulator
until a test asks for the fixture.

The fixture is async: it needs pytest-asyncio (in its "auto" mode, or with the test marked
`@pytest.mark.asyncio`). When pytest-asyncio is installed the fixture is declared with its
decorator; without it the fixture is still defined, and a test that asks for it needs
some other async test runner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
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
    from ._emulator import Emulator

    async with Emulator() as emulator:
        yield emulator
