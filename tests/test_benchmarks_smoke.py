"""The benchmarks run (``python -m benchmarks --quick``) and report every figure.

Smoke only: tiny sizes and one round, so no timing is asserted; what is checked is that each
figure ran and produced sane numbers, so the benchmarks cannot rot unnoticed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _report
from benchmarks.__main__ import main
from benchmarks._results import Row, Target

ROOT = Path(__file__).resolve().parent.parent
HAS_PIPECATCLOUD = importlib.util.find_spec("pipecatcloud") is not None
EXPECTED_KEYS = {"1", "2", "3a", "3b", "4", "6", "7a", "7b", "8a", "8b", "9", "10"} | (
    {"5a", "5b"} if HAS_PIPECATCLOUD else set()
)


@pytest.fixture(scope="module")
def quick_run() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_every_figure_is_reported(quick_run: dict[str, Any]) -> None:
    assert quick_run["mode"] == "quick"
    keys = [row["key"] for row in quick_run["rows"]]
    assert set(keys) == EXPECTED_KEYS
    assert len(keys) == len(set(keys))
    assert {row["figure_number"] for row in quick_run["rows"]} >= {1, 2, 3, 4, 6, 7, 8, 9, 10}


def test_numbers_are_sane(quick_run: dict[str, Any]) -> None:
    for row in quick_run["rows"]:
        key = row["key"]
        for field in ("sdk", "baseline"):
            assert math.isfinite(row[field]), (key, field)
            assert row[field] > 0, (key, field, row[field])
        # Figure 4 is a growth in MB, which may be zero (or a hair below it).
        assert math.isfinite(row["figure"]), key
        if key != "4":
            assert row["figure"] > 0, key
        assert row["target"]["op"] in ("<=", ">=", "<")
        assert row["target"]["limit"] > 0
        assert isinstance(row["passed"], bool)
        assert all(math.isfinite(value) for value in row["notes"].values()), key
    by_key = {row["key"]: row for row in quick_run["rows"]}
    # Figure 7's connections never exceed the pool limit the run reports.
    assert by_key["7b"]["sdk"] <= by_key["7b"]["baseline"]


def test_machine_and_versions_are_recorded(quick_run: dict[str, Any]) -> None:
    assert int(quick_run["machine"]["nproc"]) >= 1
    assert quick_run["other_processes_cpu_share"] is None or (
        quick_run["other_processes_cpu_share"] >= 0
    )
    for name in ("python", "aiohttp", "agentcloud"):
        assert quick_run["versions"][name]


def test_table_and_markdown_show_every_row(quick_run: dict[str, Any]) -> None:
    rows = [
        Row(
            key=row["key"],
            workload=row["workload"],
            baseline_name=row["baseline_name"],
            unit=row["unit"],
            sdk=row["sdk"],
            baseline=row["baseline"],
            figure=row["figure"],
            figure_name=row["figure_name"],
            target=Target(row["target"]["op"], row["target"]["limit"]),
            notes=row["notes"],
        )
        for row in quick_run["rows"]
    ]
    table = _report.as_table(rows)
    markdown = _report.as_markdown(rows, mode="quick")
    for row in rows:
        assert row.workload in table
        assert f"| {row.key} |" in markdown
    assert "PASS" in table or "MISS" in table


@pytest.mark.parametrize("only", ["0", "1,x", "11"])
def test_unknown_figures_are_refused(only: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--only", only])
    assert exited.value.code == 2
    assert "figure" in capsys.readouterr().err
