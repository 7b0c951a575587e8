"""Pipecat adapter against the vendor's own documents: every documented example parses with
its exact values, and every request the adapter sends (and every example answer) validates
against Pipecat Cloud's OpenAPI document with openapi-core."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentcloud import (
    Agent,
    AgentAtCapacityError,
    APIError,
    Connection,
    MeetingId,
    PipecatCloud,
    PipecatSession,
    RateLimitError,
    ResourceMetrics,
    ResourceSample,
    SessionStatus,
)
from agentcloud.errors import error_class_for_status
from agentcloud.providers.pipecat import _error_fields, session_status
from tests.helpers import PIPECAT_URL, FakeTime, HoldRecorder
from tests.unit.pipecat_openapi import (
    Example,
    WireRequest,
    check_request,
    check_response,
    documented_examples,
    operation_request,
    response_schema_errors,
    sent_requests,
    spec,
)

PRIVATE = "sk_test_private_0123456789"
PUBLIC = "pk_test_public_0123456789"
AGENT = "my-agent"
SID = "639f91d8-d511-4677-a83b-bd7564d5d92f"
SESSIONS = f"{PIPECAT_URL}/v1/agents/{AGENT}/sessions"
START = f"{PIPECAT_URL}/v1/public/{AGENT}/start"
LIST_URL = re.compile(r"^https://api\.pipecat\.daily\.co/v1/agents/my-agent/sessions\?.*$")
REFERENCE_PAGE = Path(__file__).parents[3] / "shared/reference/pipecat-get-session-details.md"

#: The operations the adapter calls, by operationId.
ADAPTER_OPERATIONS = (
    "startService",
    "getSession",
    "getSessions",
    "stopSession",
    "getService",
    "listServices",
)

#: Examples in which the vendor's document contradicts its own schema, and where. The test
#: asserts exactly these fields fail, so a fixed document (or a new defect) is noticed.
DOCUMENT_DEFECTS: dict[str, set[str]] = {
    # reconciledDeploymentId is null; ServiceDetailsResponse types it as a plain string.
    "createService-200-example": {"reconciledDeploymentId"},
    # previousRevision is null; RevisionInfo is not nullable.
    "getService-200-example": {"previousRevision"},
    "updateService-200-example": {"previousRevision"},
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def examples(*, operations: tuple[str, ...] | None = None, errors: bool = False) -> list[Any]:
    return [
        pytest.param(example, id=example.id)
        for example in documented_examples()
        if (operations is None or example.operation in operations)
        and (not errors or example.status >= 400)
    ]


def example_of(operation: str, status: int) -> Any:
    for example in documented_examples():
        if example.operation == operation and example.status == status:
            return example.body
    raise LookupError(operation)


@pytest.fixture
async def client(clock: FakeTime) -> Any:
    async with PipecatCloud(PRIVATE, PUBLIC, agent=AGENT, retry=clock.policy(max_attempts=1)) as pc:
        yield pc


# -- the seed page: session details with every documented value -------------------------


async def test_session_details_seed_example_parses_with_every_value(
    client: PipecatCloud, mocked: Any
) -> None:
    wire = example_of("getSession", 200)
    sid = "800d444a-e67e-4686-afb3-b0de509cccb3"
    mocked.get(f"{SESSIONS}/{sid}", payload=wire)
    session = await client.sessions.get(sid)

    assert isinstance(session, PipecatSession)
    assert session.id == sid
    assert session.provider == "pipecat"
    assert session.agent == AGENT
    assert session.service_id == "b900ae4a-f710-4ef1-95d8-c5f5b2789da9"
    assert session.organization_id == "cc71b52d-4271-46c9-87be-cac600fd821a"
    assert session.deployment_id == "81f4da55-106d-401f-b069-a1f1992f871a"
    assert session.ended_at == datetime(2025, 10, 22, 8, 39, 26, tzinfo=UTC)
    assert session.bot_start_seconds == 2
    assert session.cold_start is True
    assert session.completion_status == "HTTP_COMPLETED"
    assert session.end_state is None
    assert session.created_at == datetime(2025, 10, 22, 8, 39, 20, tzinfo=UTC)
    assert session.updated_at == datetime(2025, 10, 22, 8, 39, 26, tzinfo=UTC)
    assert session.started_at == session.created_at
    assert session.duration == 6.0
    assert session.status is SessionStatus.ENDED
    assert session.raw_status == "HTTP_COMPLETED"
    assert session.metadata is None  # Pipecat sessions carry no metadata
    assert session.connection is None
    assert session.raw == wire
    for stamp in (session.created_at, session.updated_at, session.ended_at):
        assert stamp is not None
        assert stamp.tzinfo is UTC

    assert session.resource_metrics == ResourceMetrics(
        id="a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        session_id=sid,
        sample_count=12,
        cpu_millicores_p50=150,
        cpu_millicores_p90=280,
        cpu_millicores_p95=320,
        cpu_millicores_p99=450,
        memory_bytes_p50=134217728,
        memory_bytes_p90=201326592,
        memory_bytes_p95=234881024,
        memory_bytes_p99=268435456,
        timeseries=(
            ResourceSample(
                t=datetime(2024, 10, 22, 7, 59, 20, tzinfo=UTC),
                cpu_millicores=150,
                memory_bytes=134217728,
            ),
            ResourceSample(
                t=datetime(2024, 10, 22, 7, 59, 25, tzinfo=UTC),
                cpu_millicores=280,
                memory_bytes=201326592,
            ),
        ),
        event_ts=datetime(2025, 10, 22, 8, 39, 25, tzinfo=UTC),
        created_at=datetime(2025, 10, 22, 8, 39, 25, tzinfo=UTC),
    )
    metrics = session.resource_metrics
    assert metrics is not None
    assert [sample.t.timestamp() for sample in metrics.timeseries] == [1729583960, 1729583965]
    assert all(sample.t.tzinfo is UTC for sample in metrics.timeseries)
    assert session.meeting_ids == (
        MeetingId(
            meeting_id="f1e2d3c4-b5a6-9780-1234-567890abcdef",
            participant_id="d4e5f6a7-b8c9-0123-4567-890abcdef012",
        ),
    )


def test_seed_page_example_is_the_openapi_example() -> None:
    if not REFERENCE_PAGE.exists():
        pytest.skip("the vendor reference pages are not beside this checkout")
    yaml = pytest.importorskip("yaml")
    text = REFERENCE_PAGE.read_text()
    block = text.split("````yaml", 1)[1].split("````", 1)[0]
    # The first line names the operation; the rest is an OpenAPI document.
    page = yaml.safe_load(block.split("\n", 2)[2])
    operation = page["paths"]["/agents/{agentName}/sessions/{sessionId}"]["get"]
    page_example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert json.loads(json.dumps(page_example, default=str)) == example_of("getSession", 200)


async def test_list_example_parses(client: PipecatCloud, mocked: Any) -> None:
    wire = example_of("getSessions", 200)
    mocked.get(LIST_URL, payload=wire)
    pages = [page async for page in client.sessions.list(per_page=3, max_items=3).pages()]
    (page,) = pages
    assert page.total == 330
    assert page.offset == 0
    assert [s.id for s in page.items] == [item["sessionId"] for item in wire["sessions"]]
    first, second, third = page.items
    assert first.status is SessionStatus.ENDED
    assert first.duration == 0.0
    assert first.cold_start is False
    assert first.bot_start_seconds == 0
    assert second.cold_start is True
    assert third.status is SessionStatus.FAILED
    assert third.raw_status == "HTTP_ERROR"
    assert third.duration == 25.0
    assert third.deployment_id == "f76bae42-5ce8-4ae3-8a75-0349bfd7ec63"
    assert third.updated_at == utc("2025-10-21T08:17:38.000Z")
    assert all(s.agent == AGENT and s.resource_metrics is None for s in page.items)
    assert all(s.meeting_ids is None for s in page.items)  # the listing does not carry them


async def test_start_example_parses_with_its_connection(client: PipecatCloud, mocked: Any) -> None:
    wire = example_of("startService", 200)
    mocked.post(START, payload=wire)
    holds = HoldRecorder(client)
    session = await client.sessions.start(create_daily_room=True)
    assert session.id == "639f91d8-d511-4677-a83b-bd7564d5d92f"
    assert session.agent == AGENT
    assert session.status is SessionStatus.STARTING  # Pipecat took it; the bot is not up yet
    assert session.raw_status is None
    assert session.ended_at is None
    assert session.duration is None
    assert session.connection == Connection(
        daily_room="https://cloud-354b1860310a444ba0f528b6a2f467c4.daily.co/qZbK9nyXCDCmQ0zDDZta",
        daily_token="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
        ice_servers=tuple(wire["iceConfig"]["iceServers"]),
        ws_url="wss://us-west.api.pipecat.daily.co/ws/generic/my-agent.my-org",
        token=wire["token"],
        body="eyJjYWxsZXJfaWQiOiJhYmMxMjMifQ==",
    )
    assert session.raw == wire
    assert holds.managed == {session.id: False}
    assert session.id not in client._held  # awaited, and no end_on_close: not kept
    # Tokens stay out of repr.
    assert wire["dailyToken"] not in repr(session.connection)
    assert wire["token"] not in repr(session.connection)


async def test_start_answer_with_only_a_session_id_has_no_connection(
    client: PipecatCloud, mocked: Any
) -> None:
    mocked.post(START, payload={"sessionId": SID})
    session = await client.sessions.start()
    assert session.id == SID
    assert session.connection is None
    assert session.status is SessionStatus.STARTING


async def test_stop_example_parses(client: PipecatCloud, mocked: Any) -> None:
    wire = example_of("stopSession", 200)
    assert wire == {"status": "terminated", "session_id": SID}
    mocked.delete(f"{SESSIONS}/{SID}", payload=wire)
    session = await client.sessions.end(SID)
    assert session.id == SID
    assert session.agent == AGENT
    assert session.status is SessionStatus.ENDED
    assert session.raw_status == "terminated"
    assert session.raw == wire


async def test_agent_examples_parse(client: PipecatCloud, mocked: Any) -> None:
    details = example_of("getService", 200)
    mocked.get(f"{PIPECAT_URL}/v1/agents/voice-starter", payload=details)
    agent = await client.agents.get("voice-starter")
    assert agent == Agent(
        name="voice-starter",
        ready=True,
        active_session_count=0,
        available=True,
        region="us-west",
        created_at=utc("2025-04-19T01:20:27.564Z"),
        updated_at=utc("2025-04-19T01:25:47.229Z"),
        desired_deployment_id=details["desiredDeploymentId"],
        reconciled_deployment_id=details["reconciledDeploymentId"],
        min_agents=details["autoScaling"]["minReplicas"],
        max_agents=details["autoScaling"]["maxReplicas"],
        agent_profile=details["agentProfile"],
    )
    assert agent.deployed is (details["desiredDeploymentId"] == details["reconciledDeploymentId"])
    assert agent.raw == details

    listing = example_of("listServices", 200)
    mocked.get(f"{PIPECAT_URL}/v1/agents", payload=listing)
    agents = await client.agents.list().collect()
    assert [a.name for a in agents] == ["voice-starter", "voice-starter-krisp"]
    assert all(a.ready is None and a.active_session_count is None for a in agents)
    assert agents[1].created_at == utc("2025-04-09T15:59:50.465Z")
    assert [a.raw for a in agents] == listing["services"]


# -- every documented answer: valid per the document, and parsed by the adapter ----------


@pytest.mark.parametrize("example", examples())
def test_every_documented_example_matches_its_schema(example: Example) -> None:
    request = operation_request(example.method, example.path)
    defects = DOCUMENT_DEFECTS.get(example.id)
    if defects is not None:
        assert response_schema_errors(request, example.status, example.body) == defects
    else:
        check_response(request, example.status, example.body)


def test_the_walk_finds_every_adapter_operation() -> None:
    found = {(e.operation, e.status) for e in documented_examples()}
    for operation in ADAPTER_OPERATIONS:
        assert (operation, 200) in found, operation
    assert sum(1 for e in documented_examples() if e.status >= 400) >= 30


@pytest.mark.parametrize("example", examples(errors=True))
def test_every_documented_error_maps_to_its_class(example: Example) -> None:
    fields = _error_fields(example.status, example.body)
    assert fields.error_class is error_class_for_status(example.status)
    assert fields.message.startswith(example.body["error"])
    assert fields.code == example.body["code"]


async def _call(client: PipecatCloud, operation: str) -> Any:
    if operation == "startService":
        return await client.sessions.start()
    if operation == "getSession":
        return await client.sessions.get(SID)
    if operation == "stopSession":
        return await client.sessions.end(SID)
    if operation == "getSessions":
        # The example says total_count 330 but holds 3 sessions: read just those.
        return await client.sessions.list(max_items=3).collect()
    if operation == "getService":
        return await client.agents.get(AGENT)
    return await client.agents.list().collect()


_URLS: dict[str, tuple[str, Any]] = {
    "startService": ("POST", START),
    "getSession": ("GET", f"{SESSIONS}/{SID}"),
    "stopSession": ("DELETE", f"{SESSIONS}/{SID}"),
    "getSessions": ("GET", LIST_URL),
    "getService": ("GET", f"{PIPECAT_URL}/v1/agents/{AGENT}"),
    "listServices": ("GET", f"{PIPECAT_URL}/v1/agents"),
}


@pytest.mark.parametrize("example", examples(operations=ADAPTER_OPERATIONS))
async def test_every_adapter_example_parses_through_the_client(
    client: PipecatCloud, mocked: Any, example: Example
) -> None:
    method, url = _URLS[example.operation]
    mocked.add(url, method, status=example.status, payload=example.body)
    if example.status >= 400:
        with pytest.raises(APIError) as caught:
            await _call(client, example.operation)
        error = caught.value
        assert type(error) is error_class_for_status(example.status)
        assert error.status == example.status
        assert error.code == example.body["code"]
        assert error.message.startswith(example.body["error"])
        assert error.provider == "pipecat"
        assert error.body == example.body
        return
    result = await _call(client, example.operation)
    items = result if isinstance(result, list) else [result]
    assert items
    for item in items:
        assert isinstance(item, (PipecatSession, Agent))
        assert item.raw


# -- every request the adapter sends: valid per the document ----------------------------

_AFTER = datetime(2025, 10, 22, 8, 0, 0, tzinfo=UTC)
_BEFORE = datetime(2025, 10, 23, 8, 0, 0, tzinfo=UTC)

Scenario = Callable[[PipecatCloud], Awaitable[Any]]

REQUESTS: dict[str, Scenario] = {
    "start-bare": lambda c: c.sessions.start(),
    "start-daily-room": lambda c: c.sessions.start(
        create_daily_room=True,
        daily_room_properties={"enable_recording": "cloud", "exp": 1900000000},
        daily_meeting_token_properties={"is_owner": True, "start_cloud_recording": True},
    ),
    "start-ice": lambda c: c.sessions.start(enable_default_ice_servers=True, transport="webrtc"),
    "start-daily": lambda c: c.sessions.start(transport="daily", create_daily_room=False),
    "start-websocket-body": lambda c: c.sessions.start(
        transport="websocket", body={"caller_id": "abc123"}
    ),
    "start-body": lambda c: c.sessions.start(body={"user": "42", "nested": {"a": [1, 2.5]}}),
    "start-everything": lambda c: c.sessions.start(
        create_daily_room=True,
        daily_room_properties={"enable_recording": "cloud"},
        daily_meeting_token_properties={"is_owner": True},
        enable_default_ice_servers=True,
        transport="daily",
        body={"foo": "bar"},
    ),
    "get": lambda c: c.sessions.get(SID),
    "end": lambda c: c.sessions.end(SID),
    "list-bare": lambda c: c.sessions.list().collect(),
    "list-status-active": lambda c: c.sessions.list(status="active").collect(),
    "list-status-ended": lambda c: c.sessions.list(status="ended").collect(),
    "list-status-all": lambda c: c.sessions.list(status="all").collect(),
    "list-deployment": lambda c: c.sessions.list(deployment_id="81f4da55").collect(),
    "list-start-type-cold": lambda c: c.sessions.list(start_type="cold").collect(),
    "list-start-type-warm": lambda c: c.sessions.list(start_type="warm").collect(),
    "list-start-type-all": lambda c: c.sessions.list(start_type="all").collect(),
    "list-after": lambda c: c.sessions.list(started_after=_AFTER).collect(),
    "list-before": lambda c: c.sessions.list(started_before=_BEFORE).collect(),
    "list-every-filter": lambda c: c.sessions.list(
        status="ended",
        deployment_id="81f4da55",
        start_type="warm",
        started_after=_AFTER,
        started_before=_BEFORE,
        per_page=7,
    ).collect(),
    "agents-get": lambda c: c.agents.get(AGENT),
    "agents-list": lambda c: c.agents.list().collect(),
    "agents-list-region": lambda c: c.agents.list(region="us-west").collect(),
}


def _answer_everything(mocked: Any) -> None:
    start = example_of("startService", 200)
    listing = {"total_count": 1, "sessions": [{"sessionId": SID}]}
    mocked.post(START, payload=start, repeat=True)
    mocked.get(f"{SESSIONS}/{SID}", payload=example_of("getSession", 200), repeat=True)
    mocked.delete(f"{SESSIONS}/{SID}", payload=example_of("stopSession", 200), repeat=True)
    mocked.get(LIST_URL, payload=listing, repeat=True)
    mocked.get(f"{PIPECAT_URL}/v1/agents/{AGENT}", payload=example_of("getService", 200))
    mocked.get(
        re.compile(r"^https://api\.pipecat\.daily\.co/v1/agents(\?.*)?$"),
        payload=example_of("listServices", 200),
        repeat=True,
    )


@pytest.mark.parametrize("scenario", list(REQUESTS), ids=list(REQUESTS))
async def test_every_request_matches_the_document(
    client: PipecatCloud, mocked: Any, scenario: str
) -> None:
    _answer_everything(mocked)
    await REQUESTS[scenario](client)
    requests = sent_requests(mocked)
    assert requests
    for request in requests:
        result = check_request(request)
        public = request.path.startswith("/v1/public/")
        key = PUBLIC if public else PRIVATE
        assert request.parameters.header["Authorization"] == f"Bearer {key}"
        if public:
            assert result.body is not None


async def test_filters_reach_the_wire_as_documented(client: PipecatCloud, mocked: Any) -> None:
    _answer_everything(mocked)
    await REQUESTS["list-every-filter"](client)
    (request,) = sent_requests(mocked)
    result = check_request(request)
    assert result.parameters.query == {
        "status": "ended",
        "deploymentId": "81f4da55",
        "startType": "warm",
        "startTime": int(_AFTER.timestamp()),
        "endTime": int(_BEFORE.timestamp()),
        "limit": 7,
        "offset": 0,
        # Defaults openapi-core fills in for parameters the adapter leaves out.
        "startTimeMin": 0,
        "startTimeMax": 0,
    }


def test_the_validator_is_strict() -> None:
    """The checks above mean something: wrong requests fail them."""
    good = f"{PIPECAT_URL}/v1/agents/{AGENT}/sessions?limit=10&offset=0"
    check_request(WireRequest.build("GET", good, headers={"Authorization": "Bearer k"}))
    for request in (
        WireRequest.build("GET", good + "&status=bogus", headers={"Authorization": "Bearer k"}),
        WireRequest.build("GET", good, headers={"Authorization": "k"}),
        WireRequest.build(
            "POST",
            f"{PIPECAT_URL}/v1/agents/{AGENT}/start",
            headers={"Authorization": "Bearer k"},
            body=b"{}",
        ),
        WireRequest.build(
            "POST",
            START,
            headers={"Authorization": "Bearer k"},
            body=json.dumps({"transport": "sip"}).encode(),
        ),
    ):
        with pytest.raises(AssertionError):
            check_request(request)
    with pytest.raises(AssertionError):
        check_response(
            operation_request("get", "/agents/{agentName}/sessions/{sessionId}"),
            200,
            {"sessionId": SID, "createdAt": "yesterday"},
        )


def test_openapi_servers_carry_the_version_prefix() -> None:
    """The adapter's paths are the document's server path plus the operation path."""
    assert spec()["servers"][0]["url"] == "https://api.pipecat.daily.co/v1"
    start_item = spec()["paths"]["/{agentName}/start"]
    assert start_item["servers"][0]["url"] == "https://api.pipecat.daily.co/v1/public"


# -- the status table ------------------------------------------------------------------

ENDED = "2025-10-22T08:39:26.000Z"


@pytest.mark.parametrize(
    ("ended_at", "end_state", "completion", "expected"),
    [
        (None, None, None, SessionStatus.RUNNING),
        (None, "active", None, SessionStatus.RUNNING),
        (None, "ACTIVE", None, SessionStatus.RUNNING),
        (ENDED, None, "HTTP_COMPLETED", SessionStatus.ENDED),
        (ENDED, "active", None, SessionStatus.ENDED),
        (None, "completed", None, SessionStatus.ENDED),
        (ENDED, "completed", "HTTP_COMPLETED", SessionStatus.ENDED),
        (ENDED, "terminated", None, SessionStatus.ENDED),
        (None, "ended", None, SessionStatus.ENDED),
        (ENDED, "agent_error", None, SessionStatus.FAILED),
        (None, "agent_start_timeout", None, SessionStatus.FAILED),
        (ENDED, "ended_before_agent_start", "HTTP_COMPLETED", SessionStatus.FAILED),
        (ENDED, None, "HTTP_ERROR", SessionStatus.FAILED),
        (ENDED, "completed", "HTTP_ERROR", SessionStatus.FAILED),
        (ENDED, None, "500", SessionStatus.FAILED),
        (ENDED, None, 503, SessionStatus.FAILED),
        (ENDED, None, "404", SessionStatus.ENDED),
        (ENDED, None, "WS_CONNECTION_CLOSED", SessionStatus.ENDED),
        (ENDED, "unknown", None, SessionStatus.ENDED),
        (None, "unknown", None, SessionStatus.UNKNOWN),
        (None, "something_new", None, SessionStatus.UNKNOWN),
        (None, 42, True, SessionStatus.RUNNING),
    ],
)
def test_status_table(ended_at: Any, end_state: Any, completion: Any, expected: Any) -> None:
    assert (
        session_status(ended_at=ended_at, end_state=end_state, completion_status=completion)
        is expected
    )


@pytest.mark.parametrize(
    ("bot_started", "expected"),
    [(None, SessionStatus.RUNNING), (True, SessionStatus.RUNNING), (False, SessionStatus.STARTING)],
)
@pytest.mark.parametrize("end_state", [None, "active", " Active "])
def test_a_session_under_way_is_read_by_whether_its_bot_started(
    bot_started: bool | None, expected: SessionStatus, end_state: str | None
) -> None:
    # Every start answer has no end state, completion status or end: the quick way
    # through the table must agree with the full one (an "active" end state).
    assert session_status(end_state=end_state, bot_started=bot_started) is expected


async def test_raw_status_prefers_end_state(client: PipecatCloud, mocked: Any) -> None:
    wire = {
        "total_count": 3,
        "sessions": [
            {"sessionId": "a", "endState": "agent_error", "completionStatus": "HTTP_ERROR"},
            {"sessionId": "b", "completionStatus": "500", "endedAt": ENDED},
            {"sessionId": "c", "endState": "active", "endedAt": None, "extra": {"x": 1}},
        ],
    }
    mocked.get(LIST_URL, payload=wire)
    a, b, c = await client.sessions.list().collect()
    assert (a.status, a.raw_status, a.end_state) == (
        SessionStatus.FAILED,
        "agent_error",
        "agent_error",
    )
    assert (b.status, b.raw_status, b.completion_status) == (SessionStatus.FAILED, "500", "500")
    assert (c.status, c.raw_status, c.duration) == (SessionStatus.RUNNING, "active", None)
    assert c.raw["extra"] == {"x": 1}


async def test_null_collections_read_as_empty(client: PipecatCloud, mocked: Any) -> None:
    wire = {"sessionId": SID, "meetingIds": None, "resourceMetrics": {"timeseries": None}}
    mocked.get(f"{SESSIONS}/{SID}", payload=wire)
    session = await client.sessions.get(SID)
    assert session.meeting_ids is None  # null: unknown, not an invented empty list
    assert session.resource_metrics == ResourceMetrics()


def test_at_capacity_code_is_rate_limited_whatever_the_status() -> None:
    for status in (429, 503, 400):
        fields = _error_fields(status, {"error": "at capacity", "code": "PCC-AGENT-AT-CAPACITY"})
        assert fields.error_class is AgentAtCapacityError
        assert issubclass(fields.error_class, RateLimitError)
        assert fields.unprocessed  # nothing was started: a start may be sent again
        assert fields.code == "PCC-AGENT-AT-CAPACITY"
