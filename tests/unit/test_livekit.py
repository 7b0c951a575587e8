"""LiveKit's client without a network: the status table, the wire, errors, tokens, input
checks and webhook verification (against livekit-api's own token code)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import jwt
import pytest
from livekit import api as livekit_api

import agentcloud
from agentcloud import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    LiveKitCloud,
    LiveKitSession,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    SessionEventType,
    SessionStatus,
    WebhookReceiver,
    WebhookVerificationError,
    webhooks,
)
from agentcloud.providers import connect
from agentcloud.providers.livekit import (
    AccessTokens,
    Grant,
    _dispatch,
    _error_fields,
    _room,
    session_status,
)

KEY = "APIunitkey123"
SECRET = "unit-secret-that-is-long-enough-0123456789"
OTHER_SECRET = "another-secret-that-is-long-0123456"
RESERVED = "agentcloud_request_id"
NS = 1_750_000_000_000_000_000  # 2025-06-15T15:06:40Z in unix nanoseconds


def job(status: Any = "JS_RUNNING", *, updated: int = NS, **state: Any) -> dict[str, Any]:
    return {
        "id": "AJ_1",
        "dispatch_id": "AD_1",
        "type": "JT_ROOM",
        "room": {"sid": "RM_1", "name": "r"},
        "agent_name": "bot",
        "state": {"status": status, "updated_at": str(updated), **state},
    }


def dispatch(*jobs: dict[str, Any], deleted: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "id": "AD_1",
        "agent_name": "bot",
        "room": "r",
        "metadata": "",
        "state": {"jobs": list(jobs), "created_at": str(NS), "deleted_at": str(deleted)},
        "restart_policy": "JRP_ON_FAILURE",
        "deployment": "",
        "attributes": {},
        **fields,
    }


# ---- the status table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jobs", "deleted", "status"),
    [
        ((), False, SessionStatus.QUEUED),
        (("JS_PENDING",), False, SessionStatus.STARTING),
        (("JS_RUNNING",), False, SessionStatus.RUNNING),
        (("JS_SUCCESS",), False, SessionStatus.ENDED),
        (("JS_CANCELLED",), False, SessionStatus.ENDED),
        (("JS_FAILED",), False, SessionStatus.FAILED),
        (("JS_SOMETHING_NEW",), False, SessionStatus.UNKNOWN),
        ((), True, SessionStatus.ENDED),
        (("JS_SUCCESS",), True, SessionStatus.ENDED),
        (("JS_FAILED",), True, SessionStatus.FAILED),
        (("JS_RUNNING",), True, SessionStatus.STOPPING),
        (("JS_PENDING",), True, SessionStatus.STOPPING),
        (("JS_SOMETHING_NEW",), True, SessionStatus.ENDED),
    ],
)
def test_status_follows_the_newest_job(
    jobs: tuple[str, ...], deleted: bool, status: SessionStatus
) -> None:
    wire = dispatch(*(job(name) for name in jobs), deleted=NS + 5 if deleted else 0)
    session = _dispatch(wire)
    assert session.status is status
    assert session.raw_status == (jobs[-1] if jobs else None)
    assert session_status(jobs[-1] if jobs else None, deleted=deleted) is status


def test_the_newest_job_is_the_one_updated_last() -> None:
    failed = {**job("JS_FAILED", updated=NS + 10**9), "id": "AJ_old"}
    retry = {**job("JS_PENDING", updated=NS + 2 * 10**9), "id": "AJ_new"}
    session = _dispatch(dispatch(retry, failed))
    assert (session.status, session.raw_status) == (SessionStatus.STARTING, "JS_PENDING")
    assert [j.id for j in session.jobs] == ["AJ_new", "AJ_old"]


def test_a_job_state_without_status_is_pending_as_protobuf_defaults_it() -> None:
    wire = dispatch({"id": "AJ_1", "state": {}})
    assert _dispatch(wire).status is SessionStatus.STARTING
    assert _dispatch(dispatch({"id": "AJ_1"})).jobs[0].raw_status == "JS_PENDING"


def test_lower_camel_names_and_enum_numbers_are_read_too() -> None:
    wire = {
        "id": "AD_2",
        "agentName": "bot",
        "room": "r",
        "restartPolicy": 1,
        "state": {
            "jobs": [{"id": "AJ_2", "dispatchId": "AD_2", "state": {"status": 1, "reason": 1}}],
            "createdAt": str(NS),
        },
    }
    session = _dispatch(wire)
    assert (session.agent_name, session.restart_policy) == ("bot", "JRP_NEVER")
    assert session.status is SessionStatus.RUNNING
    assert session.jobs[0].reason == "JSR_NO_CAPACITY"
    assert session.created_at == datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        str(NS),
        NS,
        str(NS // 1000),  # microseconds
        str(NS // 1_000_000),  # milliseconds
        str(NS // 1_000_000_000),  # seconds
    ],
)
def test_times_are_read_in_the_unit_their_size_shows(value: Any) -> None:
    session = _dispatch(dispatch(deleted=0) | {"state": {"created_at": value, "jobs": []}})
    assert session.created_at == datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC)


def test_times_duration_and_unset_values() -> None:
    started, ended = NS + 1_000_000_000, NS + 91_500_000_000
    wire = dispatch(
        job(
            "JS_SUCCESS",
            started_at=str(started),
            ended_at=str(ended),
            error="",
            worker_id="AW_1",
        )
    )
    session = _dispatch(wire)
    assert session.duration == 90.5
    assert session.started_at == datetime(2025, 6, 15, 15, 6, 41, tzinfo=UTC)
    assert session.deleted_at is None  # "0" is protobuf's unset
    assert session.deployment_id is None  # "" is production
    assert session.jobs[0].error is None
    assert session.jobs[0].worker_id == "AW_1"
    assert session.jobs[0].room == "r"


def test_metadata_is_parsed_when_it_holds_a_json_object() -> None:
    as_object = _dispatch(dispatch(metadata='{"user": "42"}'))
    assert as_object.metadata == {"user": "42"}
    assert as_object.metadata_text == '{"user": "42"}'
    as_text = _dispatch(dispatch(metadata="just text"))
    assert (as_text.metadata, as_text.metadata_text) == (None, "just text")
    assert _dispatch(dispatch(metadata="[1, 2]")).metadata is None


@pytest.mark.parametrize(
    "wire",
    [
        dispatch(room=5),
        dispatch() | {"state": {"jobs": "many"}},
        dispatch() | {"state": {"created_at": "yesterday", "jobs": []}},
        dispatch() | {"state": {"created_at": "9" * 23, "jobs": []}},  # past year 9999
        dispatch() | {"state": {"created_at": "\u0661\u0662\u0663", "jobs": []}},  # not ASCII
        dispatch() | {"state": {"created_at": "1" * 40, "jobs": []}},
        dispatch(attributes={"a": 1}),
        {"agent_name": "bot"},
        "AD_1",
    ],
)
def test_a_malformed_dispatch_is_a_decode_error(wire: Any) -> None:
    with pytest.raises(ResponseDecodeError):
        _dispatch(wire)


def test_rooms_are_read_from_proto_names() -> None:
    room = _room(
        {
            "sid": "RM_1",
            "name": "call-42",
            "creation_time": "1750000000",
            "creation_time_ms": "1750000000250",
            "num_participants": 2,
            "metadata": "",
            "active_recording": False,
        }
    )
    assert (room.name, room.sid, room.num_participants, room.metadata) == (
        "call-42",
        "RM_1",
        2,
        None,
    )
    assert room.created_at == datetime(2025, 6, 15, 15, 6, 40, 250000, tzinfo=UTC)


def test_sessions_are_data() -> None:
    session = _dispatch(dispatch(job("JS_RUNNING"), metadata='{"secret": "x"}'))
    as_dict = session.to_dict()
    assert as_dict["provider"] == "livekit"
    assert as_dict["status"] == "running"
    assert as_dict["jobs"][0]["raw_status"] == "JS_RUNNING"
    assert "raw" not in as_dict
    assert hash(session) == hash(_dispatch(dispatch()))  # by provider and id
    assert "secret" not in repr(session)


# ---- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "invalid_argument", BadRequestError),
        (400, "malformed", BadRequestError),
        (400, "out_of_range", BadRequestError),
        (401, "unauthenticated", AuthenticationError),
        (403, "permission_denied", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (404, "bad_route", NotFoundError),
        (409, "already_exists", ConflictError),
        (409, "aborted", ConflictError),
        (412, "failed_precondition", ConflictError),
        (429, "resource_exhausted", RateLimitError),
        (500, "internal", ServerError),
        (500, "dataloss", ServerError),
        (501, "unimplemented", ServerError),
        (503, "unavailable", ServerError),
        (418, "something_new", agentcloud.APIError),
    ],
)
def test_twirp_codes_map_to_the_error_tree(
    status: int, code: str, error_class: type[Exception]
) -> None:
    fields = _error_fields(status, {"code": code, "msg": "it went wrong", "meta": {"k": "v"}})
    assert fields.error_class is error_class
    assert (fields.code, fields.message, fields.details) == (code, "it went wrong", {"k": "v"})


def test_a_plain_text_401_is_an_authentication_error() -> None:
    fields = _error_fields(401, "invalid authorization token")
    assert fields.error_class is AuthenticationError
    assert fields.code == "unauthenticated"
    assert fields.message == "the access token was refused: invalid authorization token"


# ---- tokens ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def decoded(token: str) -> dict[str, Any]:
    return jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_nbf": False, "verify_exp": False}
    )


def test_each_call_gets_the_least_grant_it_needs() -> None:
    tokens = AccessTokens(KEY, SECRET)
    assert decoded(tokens(Grant.admin("call-42")))["video"] == {
        "roomAdmin": True,
        "room": "call-42",
    }
    assert decoded(tokens(Grant("roomCreate")))["video"] == {"roomCreate": True}
    assert decoded(tokens(Grant("roomList")))["video"] == {"roomList": True}


def test_token_claims_follow_livekits_minter() -> None:
    clock = Clock()
    claims = decoded(AccessTokens(KEY, SECRET, now=clock)(Grant("roomList")))
    assert set(claims) == {"video", "sub", "iss", "nbf", "exp"}
    assert (claims["iss"], claims["sub"]) == (KEY, "")
    assert claims["nbf"] == int(clock.now) - 60  # a minute back, for clock skew
    assert claims["exp"] == int(clock.now) + 600


def test_tokens_are_cached_per_grant_while_valid() -> None:
    clock = Clock()
    tokens = AccessTokens(KEY, SECRET, ttl=600, now=clock)
    first = tokens(Grant.admin("a"))
    clock.now += 530
    assert tokens(Grant.admin("a")) == first
    assert tokens(Grant.admin("b")) != first
    clock.now += 20  # within a minute of the end: a new one
    renewed = tokens(Grant.admin("a"))
    assert renewed != first
    assert decoded(renewed)["exp"] == int(clock.now) + 600


def test_the_token_cache_is_bounded() -> None:
    clock = Clock()
    tokens = AccessTokens(KEY, SECRET, now=clock, max_cached=2)
    first = tokens(Grant.admin("a"))
    tokens(Grant.admin("b"))
    tokens(Grant.admin("c"))
    clock.now += 1  # a token minted anew for "a" differs by its times
    assert tokens(Grant.admin("a")) != first


def test_livekits_token_verifier_accepts_the_sdks_tokens() -> None:
    token = AccessTokens(KEY, SECRET)(Grant.admin("call-42"))
    claims = livekit_api.TokenVerifier(KEY, SECRET).verify(token)
    assert claims.video is not None
    assert (claims.video.room_admin, claims.video.room) == (True, "call-42")
    assert claims.identity == ""


def test_the_client_sends_the_grant_its_resource_names() -> None:
    client = LiveKitCloud(KEY, SECRET, base_url="https://p.livekit.cloud")
    header = client._authorization(Grant.admin("r"))()
    assert header.startswith("Bearer ")
    assert decoded(header.removeprefix("Bearer "))["video"] == {"roomAdmin": True, "room": "r"}
    with pytest.raises(TypeError):
        client._authorization("private")


# ---- the client and its input ----------------------------------------------------------


def test_credentials_and_url_come_from_livekits_own_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://my-project.livekit.cloud")
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    client = connect("livekit")
    assert isinstance(client, LiveKitCloud)
    assert client.base_url == "https://my-project.livekit.cloud"
    assert KEY not in repr(client)
    assert SECRET not in repr(client)
    assert agentcloud.LiveKitCloud is LiveKitCloud


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"api_secret": SECRET, "base_url": "https://p.livekit.cloud"}, "api_key"),
        ({"api_key": KEY, "base_url": "https://p.livekit.cloud"}, "api_secret"),
        ({"api_key": KEY, "api_secret": SECRET}, "base_url"),
        ({"api_key": KEY, "api_secret": SECRET, "base_url": "ws://p.livekit.cloud"}, "base_url"),
        ({"api_key": KEY, "api_secret": SECRET, "base_url": 5}, "base_url"),
    ],
)
def test_missing_or_unsafe_settings_name_the_argument(
    monkeypatch: pytest.MonkeyPatch, arguments: dict[str, Any], named: str
) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidRequestError) as caught:
        LiveKitCloud(**arguments)
    assert caught.value.argument == named


def test_a_token_ttl_shorter_than_the_renewal_margin_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        LiveKitCloud(KEY, SECRET, base_url="https://p.livekit.cloud", token_ttl=30)
    assert caught.value.argument == "token_ttl"


@pytest.fixture
def client() -> LiveKitCloud:
    # Port 9 on loopback: anything sent would be refused, and no check below sends.
    return LiveKitCloud(KEY, SECRET, base_url="http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"agent_name": "bot", "room": None}, "room"),
        ({"agent_name": "bot", "room": ""}, "room"),
        ({"agent_name": "bot", "room": "a\nb"}, "room"),
        ({"agent_name": "", "room": "r"}, "agent_name"),
        ({"agent_name": "bot", "room": "r", "metadata": {RESERVED: "x"}}, "metadata"),
        ({"agent_name": "bot", "room": "r", "metadata": {"n": float("nan")}}, "metadata"),
        ({"agent_name": "bot", "room": "r", "metadata": 42}, "metadata"),
        ({"agent_name": "bot", "room": "r", "metadata": "\ud800"}, "metadata"),
        ({"agent_name": "bot", "room": "r", "attributes": {"a": 1}}, "attributes"),
        ({"agent_name": "bot", "room": "r", "restart_policy": "always"}, "restart_policy"),
        ({"agent_name": "bot", "room": "r", "reconcile": "yes"}, "reconcile"),
        ({"agent_name": "bot", "room": "r", "timeout": -1}, "timeout"),
    ],
)
def test_bad_start_arguments_are_refused_before_sending(
    client: LiveKitCloud, arguments: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.start(**arguments)  # refused before a handle exists
    assert caught.value.argument == named


async def test_session_calls_need_the_room(client: LiveKitCloud) -> None:
    for call in (client.sessions.get, client.sessions.end, client.sessions.wait):
        with pytest.raises(InvalidRequestError) as caught:
            await call("AD_1")
        assert caught.value.argument == "room"
    with pytest.raises(InvalidRequestError):
        client.rooms.list(names="one-room")
    with pytest.raises(InvalidRequestError) as caught:
        await client.rooms.create("r", empty_timeout=-5)
    assert caught.value.argument == "empty_timeout"
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.list(per_page=0)
    assert caught.value.argument == "per_page"
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.list(concurrency=0)
    assert caught.value.argument == "concurrency"
    for listing in (client.sessions.list, client.rooms.list):
        with pytest.raises(InvalidRequestError) as caught:
            listing(timeout=0)
        assert caught.value.argument == "timeout"
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.list(room="r", timeout=float("nan"))
    assert caught.value.argument == "timeout"


# ---- webhooks --------------------------------------------------------------------------


def body_of(event: str, **fields: Any) -> bytes:
    payload = {"event": event, "id": "EV_1", "createdAt": "1750000000", **fields}
    return json.dumps(payload).encode()


def sha256_claim(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def signed_by_livekit(body: bytes, *, key: str = KEY, secret: str = SECRET) -> dict[str, str]:
    """Headers as LiveKit sends them, signed with livekit-api's own token code."""
    token = (
        livekit_api.AccessToken(key, secret)
        .with_sha256(sha256_claim(body))
        .with_ttl(timedelta(minutes=5))
        .to_jwt()
    )
    return {"Authorization": token, "Content-Type": "application/webhook+json"}


def job_event(event: str, status: str | None = None) -> bytes:
    state = {} if status is None else {"status": status}
    return body_of(
        event,
        job={"id": "AJ_1", "dispatchId": "AD_1", "room": {"name": "call-42"}, "state": state},
    )


@pytest.mark.parametrize(
    ("event", "status", "kind", "session_status_"),
    [
        ("agent_job_pending", None, SessionEventType.STARTING, SessionStatus.STARTING),
        ("agent_job_started", "JS_RUNNING", SessionEventType.STARTED, SessionStatus.RUNNING),
        ("agent_job_ended", "JS_SUCCESS", SessionEventType.STOPPED, SessionStatus.ENDED),
        ("agent_job_ended", "JS_FAILED", SessionEventType.FAILED, SessionStatus.FAILED),
    ],
)
def test_job_events_signed_by_livekit_api_are_session_events(
    event: str, status: str | None, kind: SessionEventType, session_status_: SessionStatus
) -> None:
    body = job_event(event, status)
    parsed = webhooks.parse(
        "livekit", body, signed_by_livekit(body), api_key=KEY, api_secret=SECRET
    )
    assert (parsed.type, parsed.status, parsed.name) == (kind, session_status_, event)
    assert (parsed.session_id, parsed.room, parsed.delivery_id) == ("AD_1", "call-42", "EV_1")
    assert parsed.provider == "livekit"


def test_other_events_keep_their_name() -> None:
    body = body_of("room_finished", room={"sid": "RM_1", "name": "call-42"})
    parsed = webhooks.parse(
        "livekit", body, signed_by_livekit(body), api_key=KEY, api_secret=SECRET
    )
    assert (parsed.type, parsed.name, parsed.session_id, parsed.room) == (
        SessionEventType.UNKNOWN,
        "room_finished",
        None,
        "call-42",
    )


def test_a_tampered_body_is_refused() -> None:
    body = job_event("agent_job_started", "JS_RUNNING")
    headers = signed_by_livekit(body)
    tampered = body.replace(b"AD_1", b"AD_2")
    with pytest.raises(WebhookVerificationError, match="does not match"):
        webhooks.parse("livekit", tampered, headers, api_key=KEY, api_secret=SECRET)


@pytest.mark.parametrize(
    ("headers_for", "match"),
    [
        (
            lambda body: signed_by_livekit(body, secret="another-secret-that-is-long-0123456"),
            "signed",
        ),
        (lambda body: signed_by_livekit(body, key="APIotherkey"), "another API key"),
        (lambda body: {"Authorization": "not a token"}, "signed"),
        (
            lambda body: {
                "Authorization": livekit_api.AccessToken(KEY, SECRET).to_jwt()  # no sha256
            },
            "sha256",
        ),
        (
            lambda body: {
                "Authorization": jwt.encode(
                    {
                        "iss": KEY,
                        "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
                    },
                    SECRET,
                )
            },
            "expiry",
        ),
    ],
)
def test_bad_tokens_are_refused(headers_for: Any, match: str) -> None:
    body = job_event("agent_job_started", "JS_RUNNING")
    with pytest.raises(WebhookVerificationError, match=match):
        webhooks.parse("livekit", body, headers_for(body), api_key=KEY, api_secret=SECRET)


def test_an_expired_token_is_refused_on_the_injected_clock() -> None:
    body = job_event("agent_job_started", "JS_RUNNING")
    headers = signed_by_livekit(body)
    later = datetime.now(UTC) + timedelta(minutes=10)
    with pytest.raises(WebhookVerificationError, match="expired"):
        webhooks.parse("livekit", body, headers, api_key=KEY, api_secret=SECRET, now=lambda: later)


def test_a_bearer_prefix_is_accepted_and_no_signature_is_refused() -> None:
    body = job_event("agent_job_started", "JS_RUNNING")
    token = signed_by_livekit(body)["Authorization"]
    parsed = webhooks.parse(
        "livekit", body, {"Authorization": f"Bearer {token}"}, api_key=KEY, api_secret=SECRET
    )
    assert parsed.session_id == "AD_1"
    with pytest.raises(WebhookVerificationError):
        webhooks.parse("livekit", body, {}, api_key=KEY, api_secret=SECRET)


def test_key_material_is_required_and_named() -> None:
    body = job_event("agent_job_started", "JS_RUNNING")
    with pytest.raises(InvalidRequestError) as caught:
        webhooks.parse("livekit", body, signed_by_livekit(body))
    assert caught.value.argument == "api_key"
    with pytest.raises(InvalidRequestError) as caught:
        webhooks.parse("livekit", body, signed_by_livekit(body), api_key=KEY)
    assert caught.value.argument == "api_secret"
    with pytest.raises(InvalidRequestError) as caught:
        WebhookReceiver(api_secret=SECRET)
    assert caught.value.argument == "api_key"


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"id": "EV_1"}', b'{"event": "agent_job_started", "job": "AD_1"}', b"{"],
)
def test_a_body_that_is_no_event_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        webhooks.parse("livekit", body, signed_by_livekit(body), api_key=KEY, api_secret=SECRET)
    assert caught.value.argument == "body"


async def test_the_receiver_refuses_a_replayed_delivery() -> None:
    body = job_event("agent_job_started", "JS_RUNNING")
    headers = signed_by_livekit(body)
    # The provider is found by its key arguments.
    async with (
        WebhookReceiver.serve(api_key=KEY, api_secret=SECRET) as receiver,
        aiohttp.ClientSession() as http,
    ):
        assert receiver.provider == "livekit"
        for _ in range(2):
            async with http.post(str(receiver.url), data=body, headers=headers) as response:
                assert response.status == 200
        tampered = body.replace(b"AD_1", b"AD_9")
        async with http.post(str(receiver.url), data=tampered, headers=headers) as response:
            assert response.status == 401
        assert (receiver.stats.accepted, receiver.stats.duplicates) == (1, 1)
        assert receiver.stats.bad_signature == 1
        event = await receiver.next(session_id="AD_1", timeout=1)
        assert event.type is SessionEventType.STARTED


def test_livekit_session_is_exported() -> None:
    assert agentcloud.LiveKitSession is LiveKitSession
    assert {"LiveKitCloud", "LiveKitSession", "LiveKitJob", "LiveKitRoom"} <= set(
        agentcloud.__all__
    )
