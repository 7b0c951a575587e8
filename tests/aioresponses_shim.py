"""Makes aioresponses 0.7.9 work with aiohttp >= 3.14 (imported by conftest.py).

aioresponses builds ``ClientResponse`` objects by hand. aiohttp 3.14 added a required
``stream_writer`` argument, so every mocked call crashed with ``TypeError: ... missing
'stream_writer'`` (the upstream fix is unmerged). And the mocked body's stream has a
protocol with no HTTP parser, so a body over 64 KiB trips ``assert self._parser is not
None`` when the stream asks the protocol to pause reading.

Two patches, both applied only when the installed aiohttp needs them:
- a response class that supplies a stand-in writer when none is given (its only use
  for an already-sent request is reading ``output_size``);
- a stream factory whose protocol treats pause/resume as no-ops: the whole mocked body is
  already in memory, there is no socket to pause.

Delete this module when aioresponses ships a release that supports aiohttp 3.14.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import aioresponses.core
from aiohttp import ClientResponse, StreamReader
from aiohttp.client_proto import ResponseHandler

__all__ = ["install"]


class _SentRequestWriter:
    """What a ClientResponse reads from the writer of a request already sent."""

    output_size = 0


class _CompatClientResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentRequestWriter())
        super().__init__(method, url, **kwargs)


class _InMemoryProtocol(ResponseHandler):
    def pause_reading(self) -> None:
        return None

    def resume_reading(self, resume_parser: bool = True) -> None:
        return None


def _stream_reader_factory(loop: asyncio.AbstractEventLoop | None = None) -> StreamReader:
    return StreamReader(_InMemoryProtocol(loop=loop), limit=2**16, loop=loop)  # type: ignore[arg-type]


def _needs_patch() -> bool:
    parameter = inspect.signature(ClientResponse.__init__).parameters.get("stream_writer")
    return parameter is not None and parameter.default is inspect.Parameter.empty


def install() -> None:
    """Patches aioresponses in place; a no-op on an aiohttp that does not need it."""
    if not _needs_patch():
        return
    aioresponses.core.ClientResponse = _CompatClientResponse  # type: ignore[misc]
    aioresponses.core.stream_reader_factory = _stream_reader_factory
