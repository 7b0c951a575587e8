"""An aiohttp service that starts and ends VideoSDK agent sessions for its users, and
receives their webhooks.

    POST   /calls        start a session for {"user": ...}; 201 with the session
    GET    /calls/{id}   the session now, with the webhook events received for it
    DELETE /calls/{id}   end it
    POST   /webhooks     where VideoSDK delivers the sessions' events (signatures checked)

    export VIDEOSDK_API_KEY=...  VIDEOSDK_SECRET_KEY=...  VIDEOSDK_DEPLOYMENT_ID=...
    export PUBLIC_URL=https://calls.example.com     # where VideoSDK can reach this service
    python examples/web_service.py

HOST and PORT say where to listen (default 127.0.0.1:8080); VIDEOSDK_BASE_URL, when set,
points the client somewhere else (an `agentcloud emulator`, for one).
"""

import asyncio
import os
from collections import defaultdict, deque
from collections.abc import AsyncIterator

from aiohttp import web

from agentcloud import (
    AgentCloudError,
    InvalidRequestError,
    NotFoundError,
    SessionEvent,
    VideoSDK,
    Webhook,
    WebhookReceiver,
)
from agentcloud.providers.videosdk import DEFAULT_BASE_URL

CLIENT = web.AppKey("client", VideoSDK)
RECEIVER = web.AppKey("receiver", WebhookReceiver)
EventLog = defaultdict[str, deque[SessionEvent]]
EVENTS = web.AppKey("events", EventLog)


async def agent_cloud(app: web.Application) -> AsyncIterator[None]:
    """One client for the app's whole life, on the app's own event loop."""
    base_url = os.environ.get("VIDEOSDK_BASE_URL", DEFAULT_BASE_URL)
    # end_on_close: a deploy or a crash loop must not leave sessions billing.
    async with VideoSDK(base_url=base_url, end_on_close=True) as client:
        receiver = WebhookReceiver(key_source=client.webhook_public_key)
        app[CLIENT], app[RECEIVER] = client, receiver
        collector = asyncio.create_task(collect(receiver, app[EVENTS]))
        yield
        collector.cancel()


async def collect(receiver: WebhookReceiver, events: EventLog) -> None:
    async for event in receiver:
        if event.session_id is not None:
            events[event.session_id].append(event)


async def start_call(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    body = await request.json() if request.can_read_body else {}
    public_url = os.environ.get("PUBLIC_URL") or f"http://{request.host}"
    try:
        session = await client.sessions.start(
            deployment_id=os.environ["VIDEOSDK_DEPLOYMENT_ID"],
            tag=os.environ.get("VIDEOSDK_TAG", "v1.0"),
            metadata={"user": str(body.get("user", "anonymous"))},
            webhook=Webhook(f"{public_url}/webhooks"),
            timeout=30,
        )
    except InvalidRequestError as error:
        return web.json_response({"error": str(error)}, status=400)
    except AgentCloudError as error:  # VideoSDK refused or failed: say so, never hang
        return web.json_response({"error": str(error)}, status=502)
    return web.json_response(session.to_dict(), status=201)


async def show_call(request: web.Request) -> web.Response:
    session_id = request.match_info["id"]
    try:
        session = await request.app[CLIENT].sessions.get(session_id, timeout=10)
    except (NotFoundError, InvalidRequestError):
        raise web.HTTPNotFound() from None
    events = [event.to_dict() for event in request.app[EVENTS].get(session_id, ())]
    return web.json_response({"session": session.to_dict(), "events": events})


async def end_call(request: web.Request) -> web.Response:
    try:
        session = await request.app[CLIENT].sessions.end(request.match_info["id"], timeout=30)
    except (NotFoundError, InvalidRequestError):
        raise web.HTTPNotFound() from None
    return web.json_response(session.to_dict())


async def webhooks(request: web.Request) -> web.Response:
    # The receiver verifies, answers at once and queues; collect() files the events.
    return await request.app[RECEIVER].handle(request)


def build_app() -> web.Application:
    app = web.Application()
    events: EventLog = defaultdict(lambda: deque(maxlen=100))  # the newest, per session
    app[EVENTS] = events
    app.cleanup_ctx.append(agent_cloud)
    app.router.add_post("/calls", start_call)
    app.router.add_get("/calls/{id}", show_call)
    app.router.add_delete("/calls/{id}", end_call)
    app.router.add_post("/webhooks", webhooks)
    return app


if __name__ == "__main__":
    web.run_app(
        build_app(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8080")),
    )
