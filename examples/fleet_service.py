"""One replica of a service behind a load balancer: any number of them share one Redis.

    POST /calls                start a session for {"user": ...}; 201 with the session
    GET  /calls/{id}/running   wait until it runs; its webhook wakes the wait, whichever
                               replica the load balancer handed the delivery to
    POST /webhooks             where VideoSDK delivers (verified; accepted once fleet-wide)

    export VIDEOSDK_API_KEY=...  VIDEOSDK_SECRET_KEY=...  VIDEOSDK_DEPLOYMENT_ID=...
    export AGENTCLOUD_REDIS_URL=redis://redis.internal:6379/0
    export PUBLIC_URL=https://calls.example.com     # the load balancer
    python examples/fleet_service.py                # on every replica

Every session a replica starts is leased in Redis while it runs; if the replica dies (a
crash, kill -9, a lost node), another replica's reaper ends its sessions once their
leases expire, so none is left billing. Retries of every replica spend one shared budget.
AGENTCLOUD_FLEET_NAMESPACE (default "calls") keeps this service's keys apart; LEASE_TTL
(seconds, default 30) and REAP_EVERY (default 5) tune the reaper; HOST and PORT say where
to listen (default 127.0.0.1:8080); VIDEOSDK_BASE_URL points the client elsewhere (an
`agentcloud emulator`, for one).
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from aiohttp import web

from agentcloud import (
    AgentCloudError,
    FleetUnavailableError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    RetryPolicy,
    SessionStatus,
    VideoSDK,
    Webhook,
    WebhookReceiver,
)
from agentcloud.fleet import Fleet
from agentcloud.providers.videosdk import DEFAULT_BASE_URL

FLEET = web.AppKey("fleet", Fleet)
CLIENT = web.AppKey("client", VideoSDK)
RECEIVER = web.AppKey("receiver", WebhookReceiver)


async def agent_cloud(app: web.Application) -> AsyncIterator[None]:
    """The fleet, the client and the receiver, for the app's whole life."""
    async with Fleet(
        os.environ["AGENTCLOUD_REDIS_URL"],
        namespace=os.environ.get("AGENTCLOUD_FLEET_NAMESPACE", "calls"),
        lease_ttl=float(os.environ.get("LEASE_TTL", "30")),
    ) as fleet:
        # One retry budget for all replicas: an outage is not multiplied by their number.
        retry = RetryPolicy(budget=fleet.budget("videosdk", rate=5.0, burst=20))
        async with VideoSDK(
            base_url=os.environ.get("VIDEOSDK_BASE_URL", DEFAULT_BASE_URL),
            retry=retry,
            end_on_close=True,  # a replica stopped cleanly ends its own sessions...
            fleet=fleet,  # ...and one that dies leaves leases that a reaper honours
        ) as client:
            # Verified, then checked against every replica's deliveries and published.
            receiver = WebhookReceiver(key_source=client.webhook_public_key, fleet=fleet)
            app[FLEET], app[CLIENT], app[RECEIVER] = fleet, client, receiver
            reaper = asyncio.create_task(reap_forever(fleet, client))
            yield
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper


async def reap_forever(fleet: Fleet, client: VideoSDK) -> None:
    """Ends the sessions of dead replicas; every replica may run it, each lease is
    claimed by one reaper."""
    every = float(os.environ.get("REAP_EVERY", "5"))
    while True:
        try:
            for done in await fleet.reap({"videosdk": client}):
                print("reaped", done.session_id, "ended" if done.ended else "to retry", flush=True)
        except FleetUnavailableError as error:  # Redis is away: calls go on, reaping waits
            print("reaper:", error, flush=True)
        await asyncio.sleep(every)


async def start_call(request: web.Request) -> web.Response:
    body = await request.json() if request.can_read_body else {}
    public_url = os.environ.get("PUBLIC_URL") or f"http://{request.host}"
    try:
        session = await request.app[CLIENT].sessions.start(
            deployment_id=os.environ["VIDEOSDK_DEPLOYMENT_ID"],
            tag=os.environ.get("VIDEOSDK_TAG", "v1.0"),
            metadata={"user": str(body.get("user", "anonymous"))},
            webhook=Webhook(f"{public_url}/webhooks"),  # any replica may receive it
            timeout=30,
        )
    except InvalidRequestError as error:
        return web.json_response({"error": str(error)}, status=400)
    except AgentCloudError as error:
        return web.json_response({"error": str(error)}, status=502)
    return web.json_response(session.to_dict(), status=201)


async def wait_running(request: web.Request) -> web.Response:
    try:
        session = await request.app[CLIENT].sessions.wait(
            request.match_info["id"],
            until=SessionStatus.RUNNING,
            receiver=request.app[FLEET],  # woken by a delivery to any replica
            poll_interval=10,  # polling is only the safety net now
            max_poll_interval=30,
            timeout=60,
        )
    except (NotFoundError, InvalidRequestError):
        raise web.HTTPNotFound() from None
    except RequestTimeoutError as error:
        return web.json_response({"error": str(error)}, status=504)
    except AgentCloudError as error:
        return web.json_response({"error": str(error)}, status=502)
    return web.json_response(session.to_dict())


async def webhooks(request: web.Request) -> web.Response:
    return await request.app[RECEIVER].handle(request)


def build_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(agent_cloud)
    app.router.add_post("/calls", start_call)
    app.router.add_get("/calls/{id}/running", wait_running)
    app.router.add_post("/webhooks", webhooks)
    return app


if __name__ == "__main__":
    web.run_app(
        build_app(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8080")),
    )
