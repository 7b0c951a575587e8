"""Every Python sample in README.md and docs/ is checked, so none can rot.

A fenced ``python`` block is one of:

- an **include** (``--8<-- "path"`` lines only) of a file the test suite runs: an example
  (tests/docs/test_examples.py runs each) or the tested provider plug-in;
- the **quickstart** of the README: a program (it calls ``asyncio.run``), which must be
  ``examples/quickstart.py`` word for word, so it is run with the examples;
- a **fragment**: compiled, type-checked with mypy --strict as the body of an async
  function given ``emu`` (an Emulator), ``vs`` (its VideoSDK client), ``pc`` (its
  PipecatCloud client), ``lk`` (its LiveKitCloud client), ``DEPLOYMENT_ID`` (VideoSDK's
  deployment), ``AGENT_ID`` and ``AGENT_DEPLOYMENT_ID`` (VideoSDK's agent runtime), and
  run with them against the emulator, with the testing mode on a manual clock so its waits
  take no real time;
- a fragment marked ``<!-- doc-test: not run (why) -->`` on the line before it: compiled
  and type-checked, not run; or ``<!-- doc-test: compile only (why) -->``: compiled only
  (it needs a package agentcloud does not depend on).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest

from agentcloud.testing import Emulator, ManualClock, fake_time

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: Files a page may include: each is run by the test suite.
INCLUDABLE = ("examples/", "tests/plugin/agentcloud_acme/", "CHANGELOG.md")
_FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_MARK = re.compile(r"<!-- doc-test: (not run|compile only) \((.+?)\) -->\n$")
_INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')
_GIVEN = (
    "emu: Emulator, vs: VideoSDK, pc: PipecatCloud, lk: LiveKitCloud, DEPLOYMENT_ID: str, "
    "AGENT_ID: str, AGENT_DEPLOYMENT_ID: str"
)


@attrs.frozen
class Sample:
    page: Path
    line: int
    code: str
    mark: str | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def includes(self) -> list[str] | None:
        lines = self.code.strip().splitlines()
        found = [_INCLUDE.match(line) for line in lines]
        if lines and all(found):
            return [match.group(1) for match in found if match]
        return None


def _samples() -> list[Sample]:
    samples = []
    for page in PAGES:
        text = page.read_text()
        for fence in _FENCE.finditer(text):
            before = text[: fence.start()]
            mark = _MARK.search(before)
            samples.append(
                Sample(
                    page=page,
                    line=before.count("\n") + 1,
                    code=fence.group(1),
                    mark=mark.group(1) if mark else None,
                )
            )
    return samples


SAMPLES = _samples()
INCLUDES = [s for s in SAMPLES if s.includes is not None]
PROGRAMS = [s for s in SAMPLES if s.includes is None and "asyncio.run(" in s.code]
FRAGMENTS = [s for s in SAMPLES if s.includes is None and s not in PROGRAMS]
RUNNABLE = [s for s in FRAGMENTS if s.mark is None]


def _ids(samples: list[Sample]) -> list[str]:
    return [sample.name for sample in samples]


def test_the_pages_have_samples_of_every_kind() -> None:
    assert INCLUDES
    assert PROGRAMS
    assert RUNNABLE
    assert any(s.page.name == "README.md" for s in FRAGMENTS)


@pytest.mark.parametrize("sample", INCLUDES, ids=_ids(INCLUDES))
def test_an_include_names_a_file_the_suite_runs(sample: Sample) -> None:
    for path in sample.includes or ():
        assert path.startswith(INCLUDABLE), path
        assert (ROOT / path).is_file(), path


@pytest.mark.parametrize("sample", PROGRAMS, ids=_ids(PROGRAMS))
def test_a_program_is_an_example_word_for_word(sample: Sample) -> None:
    examples = {p.read_text() for p in (ROOT / "examples").rglob("*.py")}
    assert sample.code in examples, "a whole program belongs in examples/, included"


def _compiled(sample: Sample) -> object:
    return compile(
        sample.code, sample.name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )


@pytest.mark.parametrize("sample", FRAGMENTS, ids=_ids(FRAGMENTS))
def test_a_fragment_compiles(sample: Sample) -> None:
    _compiled(sample)


def _as_module(sample: Sample) -> str:
    body = textwrap.indent(sample.code, "    ")
    return (
        f"# {sample.name}\n"
        "from agentcloud import LiveKitCloud, PipecatCloud, VideoSDK\n"
        "from agentcloud.testing import Emulator\n\n\n"
        f"async def fragment({_GIVEN}) -> None:  # noqa: N803\n"
        f"{body}"
    )


def test_the_fragments_and_examples_type_check(tmp_path: Path) -> None:
    checked = [s for s in FRAGMENTS if s.mark != "compile only"]
    for number, sample in enumerate(checked):
        (tmp_path / f"fragment_{number}.py").write_text(_as_module(sample))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(tmp_path), "examples"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    # Point each complaint at its page: line 6 of a module is the first line inside the fence.
    names = {f"fragment_{n}.py": s for n, s in enumerate(checked)}
    complaints = []
    for line in result.stdout.splitlines():
        where, _, message = line.partition(": ")
        file, _, number = where.rpartition(":")
        sample = names.get(Path(file).name)
        if sample is not None and number.isdigit():
            complaints.append(f"{sample.page.name}:{sample.line + int(number) - 5}: {message}")
        else:
            complaints.append(line)
    assert result.returncode == 0, "\n".join(complaints)


@pytest.mark.parametrize("sample", RUNNABLE, ids=_ids(RUNNABLE))
async def test_a_fragment_runs_against_the_emulator(sample: Sample) -> None:
    clock = ManualClock()
    with fake_time(clock=clock):
        async with (
            Emulator(clock=clock) as emu,
            emu.videosdk() as vs,
            emu.pipecat() as pc,
            emu.livekit() as lk,
        ):
            given = {
                "emu": emu,
                "vs": vs,
                "pc": pc,
                "lk": lk,
                "DEPLOYMENT_ID": emu.videosdk_deployment_id,
                "AGENT_ID": emu.videosdk_agent_id,
                "AGENT_DEPLOYMENT_ID": emu.videosdk_runtime_deployment_id,
            }
            outcome = eval(_compiled(sample), given)
            if outcome is not None:
                await outcome
