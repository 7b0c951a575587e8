"""Fixtures every unit test file uses: a fake clock and a mocked HTTP layer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

from tests.helpers import FakeTime


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked() -> Iterator[Any]:
    with aioresponses() as m:
        yield m
