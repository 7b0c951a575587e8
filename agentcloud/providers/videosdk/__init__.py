"""VideoSDK Agent Cloud: deployment sessions, the agent runtime, rooms and webhooks.

One provider in a package: ``_base`` holds the deployment sessions (``client.sessions``,
``client.deployments``), credentials and webhooks (the wire facts are in its docstring);
``_runtime`` the agent runtime; ``_client`` the :class:`VideoSDK` client; ``_cli`` its part
of the command line. Every public name is importable from here.

**The agent runtime** (``client.runtime`` and ``client.rooms``) is VideoSDK's newer path,
the one its CLI and Node server SDK use: an agent is dispatched into a room
(``POST /v2/agent/dispatch``, or ``/v2/agent/general/dispatch`` for managed agents, which
needs a version), its sessions are listed per deployment
(``GET /ai/v1/cloud/deployments/{id}/sessions``: ``{sessions: [{sessionId, roomId,
versionId, start, end}]}``, ``end`` null while it runs), a room's session is ended with
``POST /v2/sessions/end``, and the deployment's console logs, deployments and versions live
under ``/ai/v1/cloud``. Rooms are created with ``POST /v2/rooms``.

Where VideoSDK's documents leave a point open, this module does what VideoSDK's Node server
SDK (``@videosdk.live/server-sdk`` 0.1.1) does:

- paging of the ``/ai/v1/cloud`` listings: ``page``/``perPage``, with the item count read
  from either envelope the Node SDK knows (``pageInfo.total``, ``pagination.total``) and
  VideoSDK's older ``pageInfo.totalItems``. Where an answer carries none, the walk goes on
  to a short or empty page (the Node SDK stops after the first page then; that would cut
  listings short). The Node SDK has no call for a deployment's session listing; it is
  read by the same rules;
- a dispatch sends the room as both ``meetingId`` and ``roomId``; an end sends ``roomId``
  and ``vsdkForceKill`` (only when forced); a room session's ``status`` is ``ongoing`` or
  ``ended``, else derived from ``end``; a container image given as text becomes
  ``{imageUrl, imageCR, imageType}`` (the registry is the first path segment when it holds
  a dot or a colon, else ``docker.io``; ``private`` when a pull secret is given);
- errors map by status as the Node SDK maps them (400 validation, 401, 403, 402 and 404
  not found, 409 conflict, 429 rate limit). The dispatch refusals VideoSDK documents by
  message, whatever their status: "No workers available" and "No Workers Registered" are
  :class:`~agentcloud.AgentAtCapacityError` (no worker can take the job: nothing was
  dispatched), "Agent Not Deployed" is :class:`~agentcloud.NotFoundError` (their status
  is not documented; a 5xx carrying one of them is not taken for an ambiguous failure);
- the answers of ``PUT /deployments/{id}/update`` and ``PUT /versions/{id}`` are
  ``{message}``, so ``update`` reads the object back; answers that carry the object (bare
  or in ``data``) are read as they are;
- ``agent-session-*`` webhooks (``KnownWebhookType``) carry ``data.sessionId`` and the room
  as ``data.meetingId`` (or ``roomId``), as VideoSDK's room events do; they are subscribed
  on a version (``webhook{endPoint, events}``).

A dispatch is not idempotent and its answer names no session, so it is sent at most once,
through the core's start loop, with the room as the marker: after an ambiguous failure the
reconciler looks for the agent's session in that room in the deployment's session listing
(the ``deployment_id`` given, else every deployment of the agent). In a room the dispatch
created, any session of the agent is the dispatch's; in a room the caller named, a running
session that started at most five minutes before the attempt, or any that started after
it (VideoSDK's clock is compared with ours there). None there after a 5xx of VideoSDK's
own or a reset means none was started, and the dispatch is tried again; after a timeout
or a gateway's 504 the session may yet appear, so the outcome is
:class:`~agentcloud.StartOutcomeUnknownError` (its ``marker`` the room), as it is for an
agent with no deployment to look in (a self-hosted one: pass ``deployment_id=`` when
there is one). A :class:`Dispatch` is the start of the room's agent session: it is held
(and ended, under ``async with`` or ``end_on_close``) by its room, since an end is by room.
"""

from ._base import (
    DEFAULT_BASE_URL,
    SIGNATURE_HEADER,
    START_MARKER,
    WEBHOOK_EVENTS,
    WEBHOOK_FORMAT,
    Deployment,
    Deployments,
    TokenMinter,
    VideoSDKSession,
    VideoSDKSessions,
    Webhook,
    event_type,
    session_status,
    verify_signature,
)
from ._cli import CLI
from ._client import VideoSDK
from ._runtime import (
    MAX_REPLICAS,
    PROFILES,
    RUNTIME_WEBHOOK_EVENTS,
    AgentDeployment,
    AgentDeployments,
    AgentVersion,
    AgentVersions,
    Dispatch,
    Room,
    Rooms,
    Runtime,
    RuntimeSession,
    RuntimeSessions,
)

__all__ = [
    "CLI",
    "DEFAULT_BASE_URL",
    "MAX_REPLICAS",
    "PROFILES",
    "RUNTIME_WEBHOOK_EVENTS",
    "SIGNATURE_HEADER",
    "START_MARKER",
    "WEBHOOK_EVENTS",
    "WEBHOOK_FORMAT",
    "AgentDeployment",
    "AgentDeployments",
    "AgentVersion",
    "AgentVersions",
    "Deployment",
    "Deployments",
    "Dispatch",
    "Room",
    "Rooms",
    "Runtime",
    "RuntimeSession",
    "RuntimeSessions",
    "TokenMinter",
    "VideoSDK",
    "VideoSDKSession",
    "VideoSDKSessions",
    "Webhook",
    "event_type",
    "session_status",
    "verify_signature",
]
