"""Timestamp formatting shared by the vendors' wire formats."""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["iso_millis"]


def iso_millis(unix_seconds: float) -> str:
    """`2025-06-18T11:16:10.643Z`: UTC, millisecond precision, as agent clouds write it."""
    millis = math.floor(unix_seconds * 1000)
    whole = datetime.fromtimestamp(millis // 1000, UTC)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"
