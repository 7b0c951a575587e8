"""A provider outside the package: installed (a dist-info with an entry point in the
``agentcloud.providers`` group), it works with ``connect()``, ``agentcloud.X``, the
emulator and the command line like the built-in ones, and nothing in agentcloud names it.

Its listing pages by opaque cursor, so this is also the cursor paging style end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentcloud
import agentcloud.providers as registry
from agentcloud.cli import main
from agentcloud.pagination import Cursor
from tests.helpers import ThreadedEmulator

PLUGIN = Path(__file__).parent.parent / "plugin" / "agentcloud_acme"


def install(site: Path) -> None:
    """What ``pip install agentcloud-acme`` leaves behind: the package and its metadata."""
    shutil.copytree(PLUGIN, site / "agentcloud_acme")
    info = site / "agentcloud_acme-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: agentcloud-acme\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[agentcloud.providers]\nacme = agentcloud_acme:PROVIDER\n"
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    install(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    # The registry reads entry points once, on first use: let it read them again.
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    yield tmp_path
    registry._registry.pop("acme", None)
    for name in [m for m in sys.modules if m.startswith("agentcloud_acme")]:
        del sys.modules[name]
    vars(agentcloud).pop("AcmeCloud", None)


def test_an_installed_provider_is_registered_from_its_entry_point(site: Path) -> None:
    assert "acme" in registry.provider_names()
    assert registry.get_provider("acme").title == "Acme Agents"
    assert agentcloud.AcmeCloud.__name__ == "AcmeCloud"  # the face's lazy names too
    client = agentcloud.connect("acme", token="t0ken-value")
    assert type(client).__name__ == "AcmeCloud"
    assert client.base_url == "https://api.acme.example"


def test_a_broken_plugin_does_not_take_the_built_in_providers_down(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    entry = site / "agentcloud_acme-0.1.dist-info" / "entry_points.txt"
    entry.write_text("[agentcloud.providers]\nacme = agentcloud_acme:NOT_THERE\n")
    assert "videosdk" in registry.provider_names()
    assert "acme" not in registry.provider_names()
    assert "could not load agentcloud provider 'acme'" in caplog.text


def test_the_plugin_is_served_walked_by_cursor_and_driven_from_the_cli(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ThreadedEmulator() as served:
        world = served.emu.worlds["acme"]
        for number in range(23):
            served.emu.add_acme_session(f"s{number:02d}", shard="a" if number % 2 else "b")

        async def walk() -> list[str]:
            async with served.emu.acme() as acme:
                sessions = await acme.sessions.list(per_page=5).collect()
                one = await acme.sessions.get("s07")
                assert one.status == "running"
                return [s.id for s in sessions]

        ids = served.run(walk)
        assert ids == [f"s{n:02d}" for n in range(23)]
        # One page in flight at a time, each asked for with the token the last one gave.
        assert world.cursors_seen == [None, "5", "a", "f", "k"]

        monkeypatch.setenv("ACME_TOKEN", served.emu.acme_token)
        monkeypatch.delenv("AGENTCLOUD_PROVIDER", raising=False)
        code = main(
            ["sessions", "list", "--provider", "acme", "--base-url", served.emu.url, "--shard", "a"]
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        assert len(out.splitlines()) == 11
        assert served.emu.acme_token not in out + err

        env = {**os.environ, "PYTHONPATH": str(site), "ACME_TOKEN": served.emu.acme_token}
        env.pop("AGENTCLOUD_PROVIDER", None)
        fresh = subprocess.run(
            [
                sys.executable,
                "-m",
                "agentcloud",
                "sessions",
                "get",
                "s03",
                "--provider",
                "acme",
                "--base-url",
                served.emu.url,
                "--format",
                "json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert fresh.returncode == 0, fresh.stderr
        assert '"id": "s03"' in fresh.stdout
        refused = subprocess.run(
            [
                sys.executable,
                "-m",
                "agentcloud",
                "sessions",
                "list",
                "--provider",
                "videosdk",
                "--shard",
                "a",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 2
        assert "--shard is a acme option" in refused.stderr


def test_cursor_style_reads_tokens_and_ends_without_one() -> None:
    style = Cursor(items="data.items", next=("meta.next", "next"))
    assert style.query(0, 7, None) == {"limit": "7"}
    assert style.query(3, 7, "abc") == {"limit": "7", "cursor": "abc"}
    page = style.read({"data": {"items": [1, 2]}, "next": "t2"}, 0, 7, None, "x")
    assert (page.items, page.next_cursor) == ((1, 2), "t2")
    last = style.read({"data": {"items": [3]}, "meta": {"next": ""}}, 1, 7, "t2", "x")
    assert (last.items, last.cursor, last.next_cursor) == ((3,), "t2", None)
    with pytest.raises(agentcloud.ResponseDecodeError):
        style.read({"data": {"items": []}, "next": 5}, 0, 7, None, "x")
