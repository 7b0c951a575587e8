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
HAS_ORJSON = importlib.util.find_spec("orjson") is not None
EXPECTED_KEYS = (
    {"1a", "1b", "1c", "2a", "2b", "2c", "3a", "3b", "4", "6", "7a", "7b", "7c"}
    | {"8a", "8b", "9", "10a", "10b", "11a", "11b"}
    | ({"2d"} if HAS_ORJSON else set())
    | ({"5a", "5b", "5c"} if HAS_PIPECATCLOUD else set())
)
#: Rows whose figure is a growth in MB, which may be zero (or a hair below it).
GROWTH_KEYS = {"4", "11b"}


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
    assert {row["figure_number"] for row in quick_run["rows"]} >= {1, 2, 3, 4, 6, 7, 8, 9, 10, 11}


def test_numbers_are_sane(quick_run: dict[str, Any]) -> None:
    for row in quick_run["rows"]:
        key = row["key"]
        for field in ("sdk", "baseline"):
            assert math.isfinite(row[field]), (key, field)
            assert row[field] > 0, (key, field, row[field])
        assert math.isfinite(row["figure"]), key
        if key not in GROWTH_KEYS:
            assert row["figure"] > 0, key
        assert row["target"]["op"] in ("<=", ">=", "<")
        assert row["target"]["limit"] > 0
        assert isinstance(row["passed"], bool)
        assert all(math.isfinite(value) for value in row["notes"].values()), key
    by_key = {row["key"]: row for row in quick_run["rows"]}
    # Figure 7's connections never exceed the pool limit the run reports.
    assert by_key["7b"]["sdk"] <= by_key["7b"]["baseline"]
    # The client-CPU rows judge the ratio of this process's CPU time, as their notes say.
    for key in ("1c", "2c", *(("2d",) if HAS_ORJSON else ())):
        row = by_key[key]
        assert row["unit"] == "cpu ms"
        assert row["figure"] == pytest.approx(row["notes"]["client_cpu_ratio"])
        assert row["figure"] == pytest.approx(row["sdk"] / row["baseline"])
    # Every fast-server row says how busy the fast server was (it answers, so it was).
    for key in ("1b", "2b", "7c", "10b", *(("5a",) if HAS_PIPECATCLOUD else ())):
        assert by_key[key]["notes"]["server_busy_baseline"] > 0, key
    # Figure 11 compares the large stream with the small one, ten times as long.
    assert by_key["11a"]["sdk"] > by_key["11a"]["baseline"]
    assert by_key["11a"]["notes"]["items_ratio"] == 10


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
    assert "client cpu" in table
    assert "| client cpu |" in markdown
    ratio = {row.key: row for row in rows}["1c"].notes["client_cpu_ratio"]
    assert f"{ratio:.2f}x" in table


@pytest.mark.parametrize("only", ["0", "1,x", "12"])
def test_unknown_figures_are_refused(only: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--only", only])
    assert exited.value.code == 2
    assert "figure" in capsys.readouterr().err
