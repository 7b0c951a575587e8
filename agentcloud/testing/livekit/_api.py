"""LiveKit's Twirp endpoints: ``AgentDispatchService`` and ``RoomService``.

Every path under ``/twirp/`` comes here, so unknown paths, other methods and other
content types get Twirp's own ``bad_route`` (404, ``meta.twirp_invalid_route``). The
token is checked first, as LiveKit's HTTP middleware does before Twirp routes; each method
then checks its grant. Each check raises a `Refusal`, which the world writes as Twirp's
``{code, msg, meta}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._world import Refusal
from ._records import LiveKitRoomRecord
from ._wire import JSON, METHODS, PROTOBUF, answer, protobuf_available, read

if TYPE_CHECKING:
    from ._world import LiveKitWorld

__all__ = ["LiveKitApi", "ROOM_NOT_FOUND"]

ROOM_NOT_FOUND = "requested room does not exist"

Handler = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


def _bad_route(request: web.Request, message: str) -> Refusal:
    route = f"{request.method} {request.path}"
    return Refusal(404, message, code="bad_route", meta={"twirp_invalid_route": route})


class LiveKitApi:
    """Route handlers for LiveKit's Twirp services, bound to its world."""

    def __init__(self, world: LiveKitWorld) -> None:
        self._world = world
        self._handlers: dict[str, Handler] = {
            "/twirp/livekit.AgentDispatchService/CreateDispatch": self.create_dispatch,
            "/twirp/livekit.AgentDispatchService/ListDispatch": self.list_dispatch,
            "/twirp/livekit.AgentDispatchService/DeleteDispatch": self.delete_dispatch,
            "/twirp/livekit.RoomService/CreateRoom": self.create_room,
            "/twirp/livekit.RoomService/ListRooms": self.list_rooms,
            "/twirp/livekit.RoomService/DeleteRoom": self.delete_room,
        }

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/twirp/{method:.*}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        grants = self._world.tokens.video_grants(request)
        if request.method != "POST":
            raise _bad_route(
                request, f'unsupported method "{request.method}" (only POST is allowed)'
            )
        method = METHODS.get(request.path)
        if method is None:
            raise _bad_route(request, f'no handler for path "{request.path}"')
        given = request.headers.get("Content-Type", "")
        content_type = given.split(";", 1)[0].strip().lower()
        if content_type not in (JSON, PROTOBUF) or (
            content_type == PROTOBUF and not protobuf_available()
        ):
            raise _bad_route(request, f'unexpected Content-Type: "{given}"')
        message = read(await request.read(), method.request, content_type)
        view = self._handlers[request.path](message, grants)
        return answer(view, method.response, content_type)

    # ---- AgentDispatchService

    def create_dispatch(self, message: dict[str, Any], grants: dict[str, Any]) -> dict[str, Any]:
        room = message["room"]
        self._world.tokens.require_admin(grants, room)
        if not room:
            raise Refusal(400, "room name must be set", code="invalid_argument")
        return self._world.create_dispatch(
            agent_name=message["agent_name"],
            room=room,
            metadata=message["metadata"],
            restart_policy=message["restart_policy"],
            deployment=message["deployment"],
            attributes=message["attributes"],
        )

    def list_dispatch(self, message: dict[str, Any], grants: dict[str, Any]) -> dict[str, Any]:
        room = self._room(message["room"], grants)
        wanted = message["dispatch_id"]
        views = [
            self._world.dispatch_view(dispatch)
            for dispatch in self._world.room_dispatches(room.name)
            if not wanted or dispatch.id == wanted
        ]
        return {"agent_dispatches": views}

    def delete_dispatch(self, message: dict[str, Any], grants: dict[str, Any]) -> dict[str, Any]:
        room = self._room(message["room"], grants)
        dispatch_id = message["dispatch_id"]
        if dispatch_id not in room.dispatch_ids:
            raise Refusal(404, "dispatch ID not found", code="not_found")
        return self._world.delete_dispatch(self._world.sessions[dispatch_id])

    def _room(self, name: str, grants: dict[str, Any]) -> LiveKitRoomRecord:
        self._world.tokens.require_admin(grants, name)
        room = self._world.rooms.get(name)
        if room is None:
            raise Refusal(404, ROOM_NOT_FOUND, code="not_found")
        return room

    # ---- RoomService

    def create_room(self, message: dict[str, Any], grants: dict[str, Any]) -> dict[str, Any]:
        self._world.tokens.require(grants, "roomCreate")
        if not message["name"]:
            raise Refusal(400, "room name must be set", code="invalid_argument")
        room = self._world.create_room(
            message["name"],
            empty_timeout=message["empty_timeout"],
            departure_timeout=message["departure_timeout"],
            max_participants=message["max_participants"],
            metadata=message["metadata"],
        )
        for agent in message["agents"]:
            self._world.create_dispatch(room=room.name, **agent)
        return self._world.room_view(room)

    def list_rooms(self, message: dict[str, Any], grants: dict[str, Any]) -> dict[str, Any]:
        self._world.tokens.require(grants, "roomList")
        names = set(message["names"])
        rooms = [
            self._world.room_view(room)
            for room in self._world.rooms.values()
            if not names or room.name in names
        ]
        return {"rooms": rooms}

    def delete_room(self, message: dict[str, Any], grants: dict[str, Any]) -> dict[str, Any]:
        self._world.tokens.require(grants, "roomCreate")
        room = self._world.rooms.get(message["room"])
        if room is None:
            raise Refusal(404, ROOM_NOT_FOUND, code="not_found")
        self._world.delete_room(room)
        return {}
