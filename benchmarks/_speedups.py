"""A quicker path for the emulator's process, so the emulator is not what a figure measures.

A VideoSDK session that has ended never changes, so its listed JSON object is rendered
once, when the emulator starts, rather than on every page: rendering (five timestamps
through strftime) is most of the emulator's work per page. The result is exactly what
the emulator would answer; it is checked against it when installed.

The emulator has no public hook for this; the benchmarks own this process and reach into
the VideoSDK world's records and its views module.
"""

from __future__ import annotations

from typing import Any

from agentcloud.testing import Emulator
from agentcloud.testing.videosdk import _api as videosdk_api
from agentcloud.testing.videosdk._records import VideoSDKSessionRecord
from agentcloud.testing.videosdk._world import VideoSDKWorld

__all__ = ["install"]

CHECKED_SESSIONS = 100


def install(emulator: Emulator) -> None:
    """Renders the ended VideoSDK sessions of ``emulator`` once its sessions are seeded."""
    world = emulator.worlds["videosdk"]
    if not isinstance(world, VideoSDKWorld):
        raise TypeError(f"not a VideoSDK world: {world!r}")
    render = videosdk_api.listed_view
    rendered: dict[str, dict[str, Any]] = {
        session.id: render(session)
        for session in world.sessions.values()
        if session.timeline.phase.is_terminal
    }

    def listed_view(session: VideoSDKSessionRecord) -> dict[str, Any]:
        view = rendered.get(session.id)
        return view if view is not None else render(session)

    for session in list(world.sessions.values())[:CHECKED_SESSIONS]:
        if listed_view(session) != render(session):
            raise AssertionError(f"rendered view of {session.id} differs")
    videosdk_api.listed_view = listed_view
