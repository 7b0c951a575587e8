"""The type stubs of ``agentcloud.sync`` are derived, and type checkers see model types.

The stub is regenerated from the async classes and compared with the file checked in, so a
method added to an async class without regenerating it fails here; and ``mypy --strict``
checks a blocking script (``typed_usage.py``), whose every ``reveal_type`` must show the
type its comment names.
"""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from agentcloud._sync._stubs import STUB_PATH, _Stub, render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SAMPLE = HERE / "typed_usage.py"


def test_the_stub_is_what_the_async_classes_make_it() -> None:
    assert STUB_PATH.read_text() == render(), (
        "agentcloud/sync.pyi is out of date: run python -m agentcloud._sync._stubs"
    )


def short(type_text: str) -> str:
    """``agentcloud.models.Page[agentcloud.providers.videosdk.VideoSDKSession]`` ->
    ``Page[VideoSDKSession]``."""
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])", "", type_text)


def test_a_blocking_script_type_checks_with_the_model_types(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), str(SAMPLE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    revealed = {
        int(number): short(text)
        for number, text in re.findall(r":(\d+): note: Revealed type is \"(.*)\"", done.stdout)
    }
    lines = SAMPLE.read_text().splitlines()
    expected = {
        number: line.split("#")[1].strip()
        for number, line in enumerate(lines, start=1)
        if "reveal_type(" in line and "#" in line
    }
    assert len(expected) >= 15
    assert revealed == expected


def test_types_a_provider_may_use_are_written_as_a_stub_spells_them() -> None:
    item = typing.TypeVar("item", bound=Mapping[str, int])
    stub = _Stub(set())
    spelt = stub.spell(
        Callable[[Sequence[item], typing.Literal["a", 1]], tuple[int, ...] | bytes | None]
    )
    assert spelt == "Callable[[Sequence[_item], Literal['a', 1]], tuple[int, ...] | bytes | None]"
    assert stub.declarations == ['_item = TypeVar("_item", bound=Mapping[str, int])']
    (imports,) = stub.names.imports()
    assert imports == (
        "from collections.abc import Callable, Mapping, Sequence\n"
        "from typing import Literal, TypeVar"
    )
