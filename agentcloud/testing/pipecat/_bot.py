"""The programmable bot behind Pipecat's session API.

``emu.pipecat_bot(agent, handler, not_ready_for=0.0)`` gives an agent's sessions a bot:
``handler(request: BotRequest)`` (sync or async) answers each call Pipecat forwards, with
any JSON value (a 200), a ``(status, json)`` pair, or an ``aiohttp.web.Response`` (any
status, headers and body: the bot's own errors). A handler that raises is a bot crash: a
plain-text 500, as FastAPI answers. Until the session's bot runs, and for
``not_ready_for`` seconds more, Pipecat answers 400 ``PCC-1001`` and the bot sees nothing.
An agent with no bot answers as a bot without that route: FastAPI's 404
``{"detail": "Not Found"}``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from attrs import define, frozen

from .._json import json_response

__all__ = ["Bot", "BotHandler", "BotRequest", "answer_with"]

#: Headers Pipecat does not forward to the bot.
DROPPED_HEADERS = frozenset({"host", "content-length", "authorization"})


@frozen(kw_only=True)
class BotRequest:
    """One call the bot receives through the session API."""

    agent: str
    session_id: str
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (None when empty)."""
        return json.loads(self.body) if self.body.strip() else None


BotHandler = Callable[[BotRequest], Any]


@define(kw_only=True)
class Bot:
    handler: BotHandler
    not_ready_for: float = 0.0
    calls: list[BotRequest]


async def answer_with(bot: Bot | None, request: BotRequest) -> web.StreamResponse:
    """The bot's answer to `request`."""
    if bot is None:
        return json_response({"detail": "Not Found"}, status=404)
    bot.calls.append(request)
    try:
        result = bot.handler(request)
        if inspect.isawaitable(result):
            result = await _awaited(result)
    except Exception:
        return web.Response(status=500, text="Internal Server Error")
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
        return json_response(result[1], status=result[0])
    return json_response(result)


async def _awaited(result: Awaitable[Any]) -> Any:
    return await result
