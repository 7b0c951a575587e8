"""VideoSDK's part of the ``agentcloud`` command: start options, and the ``runtime`` group.

``agentcloud runtime dispatch|sessions|end|logs`` are VideoSDK's agent runtime from a
shell. The agent and the deployment default to ``VIDEOSDK_AGENT_ID`` and
``VIDEOSDK_RUNTIME_DEPLOYMENT_ID`` (which ``agentcloud emulator`` exports).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._commands import (
    Command,
    Emit,
    Option,
    ProviderCLI,
    UsageError,
    key_value,
    positive_int,
    seconds,
    timestamp,
)
from ._base import WEBHOOK_EVENTS, Webhook

__all__ = ["CLI"]

AGENT_ENV = "VIDEOSDK_AGENT_ID"
DEPLOYMENT_ENV = "VIDEOSDK_RUNTIME_DEPLOYMENT_ID"


def _start_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "deployment_id": values.get("deployment_id"),
        "tag": values.get("tag"),
    }
    if kwargs["deployment_id"] is None or kwargs["tag"] is None:
        raise UsageError("videosdk start needs --deployment-id and --tag")
    if values.get("env"):
        kwargs["env"] = dict(values["env"])
    if values.get("metadata"):
        kwargs["metadata"] = dict(values["metadata"])
    if values.get("webhook"):
        kwargs["webhook"] = Webhook(values["webhook"], events=values.get("event") or WEBHOOK_EVENTS)
    elif values.get("event"):
        raise UsageError("--event needs --webhook")
    return kwargs


def _needed(values: Mapping[str, Any], name: str, usage: str) -> Any:
    value = values.get(name)
    if value is None:
        raise UsageError(usage)
    return value


def _given(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: values[name] for name in names if values.get(name) is not None}


async def _dispatch(client: Any, values: Mapping[str, Any], emit: Emit) -> None:
    agent = _needed(values, "agent_id", f"runtime dispatch needs --agent-id (or {AGENT_ENV})")
    kwargs = _given(
        values, "room_id", "deployment_id", "version_id", "version_tag", "wait_for_capacity"
    )
    if values.get("metadata"):
        kwargs["metadata"] = dict(values["metadata"])
    dispatch = await client.runtime.dispatch(
        agent_id=agent,
        general=bool(values.get("general")),
        timeout=values.get("timeout"),
        **kwargs,
    )
    emit.single(dispatch)


def _deployment(values: Mapping[str, Any], command: str) -> Any:
    return _needed(
        values, "deployment_id", f"runtime {command} needs --deployment-id (or {DEPLOYMENT_ENV})"
    )


def _paging(values: Mapping[str, Any]) -> dict[str, Any]:
    paging: dict[str, Any] = {"max_items": values.get("limit"), "timeout": values.get("timeout")}
    if values.get("per_page") is not None:
        paging["per_page"] = values["per_page"]
    return paging


async def _sessions(client: Any, values: Mapping[str, Any], emit: Emit) -> None:
    filters = _given(values, "agent_id", "version_id", "room_id", "session_id", "order")
    pager = client.runtime.sessions.list(
        _deployment(values, "sessions"), **filters, **_paging(values)
    )
    await emit.listing(pager)


async def _end(client: Any, values: Mapping[str, Any], emit: Emit) -> None:
    room = _needed(values, "room_id", "runtime end needs --room-id")
    session = await client.runtime.sessions.end(
        room_id=room,
        force=bool(values.get("force")),
        timeout=values.get("timeout"),
        **_given(values, "session_id"),
    )
    emit.single(session)


async def _logs(client: Any, values: Mapping[str, Any], emit: Emit) -> None:
    filters = _given(
        values,
        "agent_id",
        "version_id",
        "session_id",
        "room_id",
        "user_id",
        "since",
        "until",
        "order",
    )
    pager = client.runtime.logs(_deployment(values, "logs"), **filters, **_paging(values))
    await emit.listing(pager)


_GROUP = "runtime"
_DEPLOYMENT = Option(
    flag="--deployment-id",
    help=f"the agent deployment (default ${DEPLOYMENT_ENV})",
    env=DEPLOYMENT_ENV,
)
_ORDER = Option(
    flag="--order", help="newest first (desc, the default) or oldest", choices=("asc", "desc")
)
_LIMIT = Option(flag="--limit", help="stop after N", parse=positive_int, metavar="N")
_PER_PAGE = Option(flag="--per-page", help="page size", parse=positive_int, metavar="N")


def _filter(name: str, what: str) -> Option:
    return Option(flag=f"--{name}-id", help=f"only those of this {what}")


CLI = ProviderCLI(
    start=(
        Option(flag="--deployment-id", help="the deployment to start"),
        Option(flag="--tag", help="the deployment's tag"),
        Option(
            flag="--env",
            help="session environment (repeatable)",
            parse=key_value,
            repeat=True,
            metavar="K=V",
        ),
        Option(
            flag="--metadata",
            help="session metadata (repeatable)",
            parse=key_value,
            repeat=True,
            metavar="K=V",
        ),
        Option(flag="--webhook", help="webhook endpoint", metavar="URL"),
        Option(flag="--event", help="webhook event to subscribe (repeatable)", repeat=True),
    ),
    start_kwargs=_start_kwargs,
    commands=(
        Command(
            group=_GROUP,
            action="dispatch",
            help="VideoSDK's agent runtime: dispatch an agent into a room (a new one unless "
            "--room-id) and print the dispatch",
            run=_dispatch,
            options=(
                Option(flag="--agent-id", help=f"the agent (default ${AGENT_ENV})", env=AGENT_ENV),
                Option(flag="--room-id", help="the room (default: a new room)"),
                Option(
                    flag="--deployment-id",
                    help="where to look for the agent's session if the outcome is unclear "
                    f"(default ${DEPLOYMENT_ENV})",
                    env=DEPLOYMENT_ENV,
                ),
                Option(
                    flag="--metadata",
                    help="handed to the agent (repeatable)",
                    parse=key_value,
                    repeat=True,
                    metavar="K=V",
                ),
                Option(flag="--version-id", help="the version to run (default: the latest)"),
                Option(flag="--version-tag", help="the version to run, by tag"),
                Option(flag="--general", help="a managed agent (needs --version-id)", switch=True),
                Option(
                    flag="--wait-for-capacity",
                    help="seconds to keep trying while no worker is free",
                    parse=seconds,
                    metavar="SECONDS",
                ),
            ),
        ),
        Command(
            group=_GROUP,
            action="sessions",
            help="stream an agent deployment's sessions",
            run=_sessions,
            options=(
                _DEPLOYMENT,
                _filter("agent", "agent"),
                _filter("version", "version"),
                _filter("room", "room"),
                _filter("session", "session"),
                _ORDER,
                _LIMIT,
                _PER_PAGE,
            ),
        ),
        Command(
            group=_GROUP,
            action="end",
            help="end a room's agent session and print it",
            run=_end,
            options=(
                Option(flag="--room-id", help="the room"),
                Option(flag="--session-id", help="only this session of the room"),
                Option(flag="--force", help="force-kill the session", switch=True),
            ),
        ),
        Command(
            group=_GROUP,
            action="logs",
            help="stream an agent deployment's console logs",
            run=_logs,
            options=(
                _DEPLOYMENT,
                _filter("agent", "agent"),
                _filter("version", "version"),
                _filter("session", "session"),
                _filter("room", "room"),
                _filter("user", "user"),
                Option(
                    flag="--since",
                    help="ISO 8601 time with a zone",
                    parse=timestamp,
                    metavar="TIME",
                ),
                Option(
                    flag="--until",
                    help="ISO 8601 time with a zone",
                    parse=timestamp,
                    metavar="TIME",
                ),
                _ORDER,
                _LIMIT,
                _PER_PAGE,
            ),
        ),
    ),
    credentials=("VIDEOSDK_API_KEY", "VIDEOSDK_SECRET_KEY", AGENT_ENV, DEPLOYMENT_ENV),
    base_url_env="VIDEOSDK_BASE_URL",
)
"""VideoSDK's part of the ``agentcloud`` command line: the deployment session options, the
credential variables, and the ``runtime dispatch|sessions|end|logs`` commands."""
