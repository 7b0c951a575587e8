"""The emulator's VideoSDK API: auth, every endpoint, documented errors, pagination."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from agentcloud.testing import Emulator, ManualClock
from tests.emulator.helpers import VideoSDKCaller, videosdk_example

SESSIONS = "/ai/v1/ai-deployment-sessions"
DEPLOYMENTS = "/ai/v1/ai-deployments"


def keys(value: dict[str, Any]) -> set[str]:
    return set(value)


# ---- auth


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{SESSIONS}/start", {"deploymentId": "x", "tag": "v1.0"}),
        ("POST", f"{SESSIONS}/end", {"sessionId": "x"}),
        ("GET", SESSIONS, None),
        ("GET", f"{SESSIONS}/some-session", None),
        ("POST", DEPLOYMENTS, {"name": "n"}),
        ("GET", DEPLOYMENTS, None),
        ("GET", f"{DEPLOYMENTS}/some-deployment/v1.0", None),
    ],
)
async def test_every_endpoint_requires_a_token(
    videosdk: VideoSDKCaller, method: str, path: str, body: Any
) -> None:
    status, answer = await videosdk.call(method, path, no_auth=True, json_body=body)
    assert status == 401
    assert isinstance(answer["message"], str)


@pytest.mark.parametrize(
    ("case", "make_token"),
    [
        ("bearer prefix", lambda emu: "Bearer " + emu.videosdk_token()),
        ("wrong secret", lambda emu: emu.videosdk_token(secret="not-the-secret-" + "x" * 32)),
        ("wrong api key", lambda emu: emu.videosdk_token(api_key="someone-else")),
        ("expired", lambda emu: emu.videosdk_token(ttl=-60)),
        ("no crawler role", lambda emu: emu.videosdk_token(roles=())),
        ("other roles only", lambda emu: emu.videosdk_token(roles=("rtc",))),
        ("not a jwt", lambda emu: "garbage"),
    ],
)
async def test_bad_tokens_are_refused(
    emu: Emulator, videosdk: VideoSDKCaller, case: str, make_token: Any
) -> None:
    status, answer = await videosdk.call("GET", SESSIONS, token=make_token(emu))
    assert status == 401, case
    assert answer["message"].startswith("Unauthorized")


async def test_a_raw_jwt_with_the_crawler_role_is_accepted(videosdk: VideoSDKCaller) -> None:
    status, _ = await videosdk.call("GET", SESSIONS)
    assert status == 200


async def test_public_key_endpoint_needs_no_auth(emu: Emulator, videosdk: VideoSDKCaller) -> None:
    status, answer = await videosdk.call("GET", "/v2/public/rsa-public-key", no_auth=True)
    assert status == 200
    assert answer == {"publicKey": emu.videosdk_webhook_public_key}
    assert answer["publicKey"].startswith("-----BEGIN PUBLIC KEY-----")


# ---- start


async def test_start_answers_the_documented_envelope(
    emu: Emulator, videosdk: VideoSDKCaller
) -> None:
    status, answer = await videosdk.call(
        "POST",
        f"{SESSIONS}/start",
        json_body={"deploymentId": emu.videosdk_deployment_id, "tag": "v1.0"},
    )
    example = videosdk_example("start-session")
    assert status == 200
    assert keys(answer) == keys(example)
    assert keys(answer["data"]) == keys(example["data"])
    assert answer["message"] == example["message"]
    data = answer["data"]
    assert data["status"] == "queued"
    assert data["deploymentId"] == emu.videosdk_deployment_id
    assert data["tag"] == "v1.0"
    # The manual clock starts at 2025-06-18T12:00:00Z.
    assert data["start"] == data["createdAt"] == data["updatedAt"] == "2025-06-18T12:00:00.000Z"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"tag": "v1.0"}, 400),
        ({"deploymentId": "DEPLOYMENT"}, 400),
        ({"deploymentId": "", "tag": "v1.0"}, 400),
        ({"deploymentId": "no-such-deployment", "tag": "v1.0"}, 404),
        ({"deploymentId": "DEPLOYMENT", "tag": "v9.9"}, 404),
        ({"deploymentId": "DEPLOYMENT", "tag": "v1.0", "metaData": "text"}, 400),
        ({"deploymentId": "DEPLOYMENT", "tag": "v1.0", "env": [1]}, 400),
        ({"deploymentId": "DEPLOYMENT", "tag": "v1.0", "webhook": {"events": []}}, 400),
        (
            {
                "deploymentId": "DEPLOYMENT",
                "tag": "v1.0",
                "webhook": {"endPoint": "http://127.0.0.1:1/h", "events": ["session-exploded"]},
            },
            400,
        ),
        ([1, 2], 400),
    ],
)
async def test_start_validation(
    emu: Emulator, videosdk: VideoSDKCaller, body: Any, status: int
) -> None:
    if isinstance(body, dict) and body.get("deploymentId") == "DEPLOYMENT":
        body = {**body, "deploymentId": emu.videosdk_deployment_id}
    got, answer = await videosdk.call("POST", f"{SESSIONS}/start", json_body=body)
    assert got == status
    assert isinstance(answer["message"], str)
    assert emu.requests[-1].body == body


async def test_start_rejects_a_body_that_is_not_json(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        emu.url + f"{SESSIONS}/start",
        data=b"{not json",
        headers={"Authorization": emu.videosdk_token(), "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert "message" in await response.json()


DEEP = b"[" * 50_000 + b"]" * 50_000


def nested(depth: int) -> bytes:
    """A start body whose metaData nests `depth` objects in all."""
    inner = b'{"k":' * (depth - 1) + b"1" + b"}" * (depth - 1)
    return b'{"deploymentId":"D","tag":"v1.0","metaData":' + inner + b"}"


@pytest.mark.parametrize(
    "raw",
    [
        DEEP,
        nested(600),
        b'{"deploymentId": NaN, "tag": "v1.0"}',
        b'{"deploymentId": "D", "tag": "v1.0", "metaData": {"x": Infinity}}',
        b'{"deploymentId": "D", "tag": "v1.0", "metaData": {"x": -Infinity}}',
    ],
    ids=["50000 deep", "600 deep", "NaN", "Infinity", "-Infinity"],
)
async def test_json_a_vendor_would_not_parse_is_400(
    emu: Emulator, videosdk: VideoSDKCaller, raw: bytes
) -> None:
    body = raw.replace(b'"D"', f'"{emu.videosdk_deployment_id}"'.encode())
    status, answer = await videosdk.call("POST", f"{SESSIONS}/start", raw_body=body)
    assert status == 400
    assert answer == {"message": "Request body must be valid JSON"}
    assert emu.requests[-1].body == body.decode()  # recorded as text, not as JSON


async def test_json_nested_to_the_limit_is_accepted(
    emu: Emulator, videosdk: VideoSDKCaller
) -> None:
    body = nested(512).replace(b'"D"', f'"{emu.videosdk_deployment_id}"'.encode())
    status, answer = await videosdk.call("POST", f"{SESSIONS}/start", raw_body=body)
    assert status == 200, answer
    status, listing = await videosdk.call("GET", SESSIONS)
    assert status == 200
    assert listing["data"][0]["metadata"] == json.loads(body)["metaData"]


# ---- get, end, list


async def test_details_have_exactly_the_documented_keys(videosdk: VideoSDKCaller) -> None:
    started = await videosdk.start()
    details = await videosdk.get(started["sessionId"])
    assert keys(details) == keys(videosdk_example("fetch-session-details"))
    assert details["end"] is None
    assert details["duration"] is None


async def test_unknown_session_is_404(videosdk: VideoSDKCaller) -> None:
    status, answer = await videosdk.call("GET", f"{SESSIONS}/no-such-session")
    assert status == 404
    assert isinstance(answer["message"], str)


async def test_end_answers_completed_with_whole_second_duration(
    clock: ManualClock, videosdk: VideoSDKCaller
) -> None:
    started = await videosdk.start()
    clock.advance(43.7)
    status, answer = await videosdk.call(
        "POST", f"{SESSIONS}/end", json_body={"sessionId": started["sessionId"]}
    )
    example = videosdk_example("end-session")
    assert status == 200
    assert keys(answer) == keys(example)
    assert keys(answer["data"]) == keys(example["data"])
    assert answer["message"] == example["message"]
    data = answer["data"]
    assert data["status"] == "completed"
    assert data["end"] == "2025-06-18T12:00:43.700Z"
    assert data["duration"] == 43
    assert isinstance(data["duration"], int)
    details = await videosdk.get(started["sessionId"])
    assert details["status"] == "completed"
    assert details["duration"] == 43


async def test_ending_twice_answers_the_same_final_state(
    clock: ManualClock, videosdk: VideoSDKCaller
) -> None:
    started = await videosdk.start()
    body = {"sessionId": started["sessionId"]}
    _, first = await videosdk.call("POST", f"{SESSIONS}/end", json_body=body)
    clock.advance(5)
    status, second = await videosdk.call("POST", f"{SESSIONS}/end", json_body=body)
    assert status == 200
    assert second["data"] == first["data"]


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"sessionId": "nope"}, 404)])
async def test_end_errors(videosdk: VideoSDKCaller, body: dict[str, str], status: int) -> None:
    got, answer = await videosdk.call("POST", f"{SESSIONS}/end", json_body=body)
    assert got == status
    assert isinstance(answer["message"], str)


async def test_listing_returns_the_documented_casing(videosdk: VideoSDKCaller) -> None:
    hook = {"endPoint": "http://127.0.0.1:9/hook", "events": ["ai-deployment-session-started"]}
    started = await videosdk.start(metaData={"user": "42"}, env={"K": "V"}, webhook=hook)
    status, answer = await videosdk.call("GET", SESSIONS)
    example = videosdk_example("fetch-sessions")
    assert status == 200
    assert keys(answer) == keys(example)
    assert keys(answer["pageInfo"]) == keys(example["pageInfo"])
    [item] = answer["data"]
    assert keys(item) == keys(example["data"][0])
    assert item["sessionId"] == started["sessionId"]
    assert item["metadata"] == {"user": "42"}
    assert item["webhook"] == {
        "endpoint": "http://127.0.0.1:9/hook",
        "events": ["ai-deployment-session-started"],
    }
    assert "env" not in item


async def test_pagination_pages_and_page_info(emu: Emulator, videosdk: VideoSDKCaller) -> None:
    seeded = emu.seed_sessions("videosdk", 25, seed=3)
    status, first = await videosdk.call("GET", SESSIONS)
    assert status == 200
    assert first["pageInfo"] == {"totalItems": 25, "currentPage": 1, "perPage": 10, "total": 25}
    assert [s["sessionId"] for s in first["data"]] == seeded[:10]

    _, third = await videosdk.call("GET", SESSIONS, params={"page": "3", "perPage": "10"})
    assert [s["sessionId"] for s in third["data"]] == seeded[20:]
    assert third["pageInfo"]["currentPage"] == 3

    _, past_end = await videosdk.call("GET", SESSIONS, params={"page": "4"})
    assert past_end["data"] == []
    assert past_end["pageInfo"]["totalItems"] == 25

    walked: list[str] = []
    for page in range(1, 5):  # ceil(25 / 7) == 4
        _, answer = await videosdk.call("GET", SESSIONS, params={"page": str(page), "perPage": "7"})
        walked.extend(s["sessionId"] for s in answer["data"])
    assert walked == seeded


async def test_new_sessions_list_before_seeded_ones(
    emu: Emulator, videosdk: VideoSDKCaller
) -> None:
    seeded = emu.seed_sessions("videosdk", 3)
    started = await videosdk.start()
    _, answer = await videosdk.call("GET", SESSIONS)
    assert [s["sessionId"] for s in answer["data"]] == [started["sessionId"], *seeded]


@pytest.mark.parametrize(
    "params", [{"page": "0"}, {"perPage": "0"}, {"page": "x"}, {"perPage": "-3"}]
)
async def test_invalid_paging_is_400(videosdk: VideoSDKCaller, params: dict[str, str]) -> None:
    status, answer = await videosdk.call("GET", SESSIONS, params=params)
    assert status == 400
    assert isinstance(answer["message"], str)


# ---- deployments


async def test_deployments_create_list_get(emu: Emulator, videosdk: VideoSDKCaller) -> None:
    status, created = await videosdk.call(
        "POST", DEPLOYMENTS, json_body={"name": "bot", "description": "a bot"}
    )
    assert status == 200
    assert keys(created) == {"id", "name", "description", "status", "createdAt", "updatedAt"}
    assert created["status"] == "available"
    assert (created["name"], created["description"]) == ("bot", "a bot")

    status, listing = await videosdk.call("GET", DEPLOYMENTS, params={"perPage": "1"})
    assert status == 200
    [item] = listing["data"]
    assert keys(item) == {"id", "name", "tag", "description", "status", "created_at"}
    assert item["id"] == created["id"]  # newest first
    assert listing["pageInfo"] == {"totalItems": 2, "currentPage": 1, "perPage": 1, "total": 2}

    _, second_page = await videosdk.call("GET", DEPLOYMENTS, params={"page": "2", "perPage": "1"})
    assert second_page["data"][0]["id"] == emu.videosdk_deployment_id

    status, fetched = await videosdk.call("GET", f"{DEPLOYMENTS}/{created['id']}/v1.0")
    assert status == 200
    assert keys(fetched) == {"id", "name", "tag", "description", "status", "createdAt"}
    assert fetched["tag"] == "v1.0"

    # A deployment made over the API can start sessions at once.
    start = {"deploymentId": created["id"], "tag": "v1.0"}
    status, _ = await videosdk.call("POST", f"{SESSIONS}/start", json_body=start)
    assert status == 200


@pytest.mark.parametrize("suffix", ["no-such-deployment/v1.0", "DEPLOYMENT/v7"])
async def test_unknown_deployment_or_tag_is_404(
    emu: Emulator, videosdk: VideoSDKCaller, suffix: str
) -> None:
    path = f"{DEPLOYMENTS}/{suffix.replace('DEPLOYMENT', emu.videosdk_deployment_id)}"
    status, answer = await videosdk.call("GET", path)
    assert status == 404
    assert isinstance(answer["message"], str)


async def test_create_deployment_needs_a_name(videosdk: VideoSDKCaller) -> None:
    status, answer = await videosdk.call("POST", DEPLOYMENTS, json_body={"description": "x"})
    assert status == 400
    assert isinstance(answer["message"], str)


async def test_added_deployments_and_tags(emu: Emulator, videosdk: VideoSDKCaller) -> None:
    deployment = emu.add_videosdk_deployment(name="multi", tags=("v1.0", "v2.0"))
    status, fetched = await videosdk.call("GET", f"{DEPLOYMENTS}/{deployment.id}/v2.0")
    assert status == 200
    assert fetched["name"] == "multi"
    data = await videosdk.start(deploymentId=deployment.id, tag="v2.0")
    assert data["tag"] == "v2.0"


async def test_unknown_route_is_a_json_404(videosdk: VideoSDKCaller) -> None:
    status, answer = await videosdk.call("GET", "/ai/v1/nothing-here")
    assert status == 404
    assert isinstance(answer["message"], str)
