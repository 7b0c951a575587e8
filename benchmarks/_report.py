"""The results as a terminal table, as JSON, and as the Markdown of RESULTS.md."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ._results import Row, interference

__all__ = ["as_json", "as_markdown", "as_table", "machine", "versions"]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory = "unknown"
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "load_average_1m": f"{load[0]:.2f}",
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("agentcloud", "aiohttp", "attrs", "cattrs", "orjson", "pipecatcloud"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def _value(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "cpu ms":
        return f"{value:,.1f} ms of CPU"
    if unit == "MB":
        return f"{value:,.1f} MB"
    if unit == "connections":
        return f"{value:,.0f}"
    return f"{value:,.0f} {unit}"


def _figure(row: Row) -> str:
    if row.unit == "connections":
        return f"{row.figure:,.0f}"
    return f"{row.figure:.2f}"


def _verdict(row: Row) -> str:
    return "PASS" if row.passed else "MISS"


def _busy(row: Row) -> str:
    busy = row.notes.get("emulator_busy_baseline")
    if busy is None:
        busy = row.notes.get("server_busy_baseline")
    return "" if busy is None else f"{busy:.0%}"


def _client_cpu(row: Row) -> str:
    ratio = row.notes.get("client_cpu_ratio")
    return "" if ratio is None else f"{ratio:.2f}x"


def _cells(row: Row) -> list[str]:
    return [
        row.key,
        row.workload,
        _value(row.sdk, row.unit),
        f"{_value(row.baseline, row.unit)} ({row.baseline_name})",
        f"{_figure(row)} {row.figure_name}",
        str(row.target),
        _verdict(row),
        _client_cpu(row),
        _busy(row),
    ]


_HEADER = [
    "#",
    "workload",
    "agentcloud",
    "baseline",
    "figure",
    "target",
    "result",
    "client cpu",
    "server busy",
]


def as_table(rows: Sequence[Row]) -> str:
    table = [_HEADER, *(_cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(_HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def as_markdown(rows: Sequence[Row], *, mode: str) -> str:
    host = machine()
    found = versions()
    out = [
        f"Machine: {host['nproc']} CPUs ({host['cpu']}), {host['memory']} memory, {host['os']}.",
        "Versions: " + ", ".join(f"{name} {version}" for name, version in found.items()) + ".",
        f"Mode: {mode}; other processes used {_interference()} of one CPU during the run "
        f"(load average {host['load_average_1m']} at its end).",
        "",
        "| " + " | ".join(_HEADER) + " |",
        "|" + "---|" * len(_HEADER),
    ]
    for row in rows:
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in _cells(row)) + " |")
    out += ["", "| # | notes |", "|---|---|"]
    for row in rows:
        if row.notes:
            out.append(f"| {row.key} | {_notes(row.notes)} |")
    return "\n".join(out)


def _notes(notes: dict[str, float]) -> str:
    parts = []
    for name, value in notes.items():
        busy = name.startswith(("emulator_busy", "server_busy"))
        text = f"{value:.0%}" if busy else f"{value:,.2f}"
        parts.append(f"{name.replace('_', ' ')} {text}")
    return "; ".join(parts)


def _interference() -> str:
    share = interference.get("other_processes_cpu_share")
    return "an unknown share" if share is None else f"{share:.0%}"


def as_json(rows: Sequence[Row], *, mode: str) -> str:
    payload: dict[str, Any] = {
        "mode": mode,
        "other_processes_cpu_share": interference.get("other_processes_cpu_share"),
        "machine": machine(),
        "versions": versions(),
        "passed": all(row.passed for row in rows),
        "rows": [
            {
                "key": row.key,
                "figure_number": row.figure_number,
                "workload": row.workload,
                "baseline_name": row.baseline_name,
                "unit": row.unit,
                "sdk": row.sdk,
                "baseline": row.baseline,
                "figure": row.figure,
                "figure_name": row.figure_name,
                "target": {"op": row.target.op, "limit": row.target.limit},
                "passed": row.passed,
                "notes": row.notes,
            }
            for row in rows
        ],
    }
    return json.dumps(payload, indent=2, allow_nan=True)


def print_progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
