from __future__ import annotations

from tests import aioresponses_shim

aioresponses_shim.install()
