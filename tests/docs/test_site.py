"""The documentation site builds (strict: a broken link, a cross-reference naming nothing
or a public name without a docstring fails it), and works in a browser.

The built site is served on 127.0.0.1 and opened in headless Chromium (Debian's package),
driven over the DevTools protocol by a small client on aiohttp's websockets: nothing is
downloaded. The home page shows the navigation, a click on it opens a reference page, and
the search box finds a public name and leads to its page.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agentcloud.cli import _Parser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--remote-allow-origins=http://127.0.0.1",
)
#: Bounds every wait on the browser: starting, loading a page, searching.
PATIENCE = 30.0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as the README's check builds it."""
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out


def test_the_command_line_reference_shows_every_command(site: Path) -> None:
    page = (site / "reference" / "cli" / "index.html").read_text()
    parser = _Parser(None).parser
    commands = [
        f"{command} {action}".strip()
        for command, sub in _subparsers(parser)
        for action, _ in _subparsers(sub) or [("", sub)]
    ]
    assert "sessions list" in commands
    for command in commands:
        assert f"agentcloud {command}".strip() in page, command


def _subparsers(parser: Any) -> list[tuple[str, Any]]:
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            return list(action.choices.items())
    return []


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "Chromium is not installed: apt-get install -y chromium chromium-driver "
            "(.ci/run installs it when it is missing)"
        )
    return found


def _page_file(site: Path, path: str) -> Path | None:
    """The file a static host serves for ``path``: /reference/ is /reference/index.html."""
    found = (site / path).resolve()
    if found.is_dir():
        found = found / "index.html"
    return found if site.resolve() in found.parents and found.is_file() else None


@contextlib.asynccontextmanager
async def served(site: Path) -> AsyncIterator[str]:
    app = web.Application()

    async def page(request: web.Request) -> web.StreamResponse:
        found = _page_file(site, request.match_info["path"])
        if found is None:
            raise web.HTTPNotFound()
        return web.FileResponse(found)

    app.router.add_get("/{path:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


class Browser:
    """One Chromium page, driven over the DevTools protocol."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        await self._socket.send_json({"id": number, "method": method, "params": params})
        while True:  # events arrive in between; this client needs none of them
            message = await self._socket.receive_json(timeout=PATIENCE)
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def until(self, expression: str, what: str) -> Any:
        """Evaluates ``expression`` until it is truthy (page loads in between are fine)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + PATIENCE
        while loop.time() < give_up:
            with contextlib.suppress(RuntimeError):  # "context destroyed" mid-navigation
                value = await self.evaluate(expression)
                if value:
                    return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"{what}: not within {PATIENCE:g}s")

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        await self.until(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'",
            f"loading {url}",
        )


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Browser]:
    process = await asyncio.create_subprocess_exec(
        _chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(int(PATIENCE / 0.1)):
            if port_file.exists() and port_file.read_text().count("\n") >= 1:
                break
            assert process.returncode is None, "Chromium exited at start"
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            (page,) = [t for t in targets if t["type"] == "page"]
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                yield Browser(socket)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_the_site_navigates_and_searches_in_a_browser(site: Path, tmp_path: Path) -> None:
    async with served(site) as base, chromium(tmp_path) as browser:
        await browser.open(base)
        assert "agentcloud" in await browser.evaluate("document.title")
        nav = await browser.evaluate(
            "[...document.querySelectorAll('nav.md-nav--primary a.md-nav__link')]"
            ".map(a => a.textContent.trim())"
        )
        for entry in ("Tutorial", "Write a provider", "Errors", "Command line", "Changelog"):
            assert entry in nav

        # The navigation leads to a reference page rendered from the docstrings.
        await browser.evaluate(
            "[...document.querySelectorAll('nav.md-nav--primary a.md-nav__link')]"
            ".find(a => a.textContent.trim() === 'Errors').click()"
        )
        await browser.until(
            "location.pathname.endsWith('/reference/errors/') && "
            "document.readyState === 'complete'",
            "the Errors page opening",
        )
        heading = "document.querySelector('h1').firstChild.textContent.trim()"
        assert await browser.evaluate(heading) == "Errors"  # its permalink aside
        assert await browser.evaluate(
            "!!document.getElementById('agentcloud.errors.StartOutcomeUnknownError')"
        )

        # The search box finds a public name on another page, and leads to it.
        await browser.evaluate("document.querySelector('label[for=\"__search\"]').click()")
        await browser.evaluate(
            "(() => { const box = document.querySelector('input.md-search__input');"
            " box.focus(); box.value = 'TracingHooks';"
            " box.dispatchEvent(new Event('input', {bubbles: true})); })()"
        )
        results = await browser.until(
            "[...document.querySelectorAll('.md-search-result__item a')].map(a => a.href)",
            "search results",
        )
        assert any("/reference/hooks/" in href for href in results), results
        await browser.evaluate(
            "[...document.querySelectorAll('.md-search-result__item a')]"
            ".find(a => a.href.includes('/reference/hooks/')).click()"
        )
        await browser.until(
            "location.pathname.endsWith('/reference/hooks/') && "
            "!!document.getElementById('agentcloud.otel.TracingHooks')",
            "the search result opening",
        )
