"""Pipecat's webhooks: Standard Webhooks, checked against the specification's vector and the
`standardwebhooks` reference library, and refused when tampered, stale, wrongly keyed or
replayed."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from agentcloud import InvalidRequestError, SessionEventType, SessionStatus
from agentcloud.providers.pipecat import webhook_secret, webhook_signature
from agentcloud.webhooks import (
    WebhookReceiver,
    WebhookVerificationError,
    parse,
    verify_signature,
)

standardwebhooks = pytest.importorskip("standardwebhooks")

# The specification's test vector (Svix's documentation).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
NOW = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)


def at(moment: datetime) -> Any:
    return lambda: moment


def headers(
    message_id: str, stamp: int, signature: str, *, prefix: str = "webhook"
) -> dict[str, str]:
    return {
        f"{prefix}-id": message_id,
        f"{prefix}-timestamp": str(stamp),
        f"{prefix}-signature": signature,
    }


def event_body(event_type: str = "session.started", **data: Any) -> bytes:
    envelope = {
        "event_type": event_type,
        "org": "acme",
        "created_at": "2026-09-10T12:00:00.000Z",
        "data": data or {"session_id": "s-1", "service": "bot", "region": "us-west"},
    }
    return json.dumps(envelope).encode()


def signed(body: bytes, *, secret: str = SECRET, when: datetime = NOW, **kw: Any) -> dict[str, str]:
    message_id = "msg_" + secrets.token_hex(8)
    stamp = int(when.timestamp())
    return headers(
        message_id,
        stamp,
        webhook_signature(webhook_secret(secret), message_id, str(stamp), body),
        **kw,
    )


@pytest.mark.parametrize("prefix", ["webhook", "svix"])
def test_the_specification_vector_verifies(prefix: str) -> None:
    moment = datetime.fromtimestamp(VECTOR_TS, UTC)
    delivery = headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE, prefix=prefix)
    verify_signature("pipecat", VECTOR_BODY, delivery, now=at(moment), secret=VECTOR_SECRET)
    assert (
        webhook_signature(webhook_secret(VECTOR_SECRET), VECTOR_ID, str(VECTOR_TS), VECTOR_BODY)
        == VECTOR_SIGNATURE
    )


def test_signatures_agree_with_the_reference_library() -> None:
    reference = standardwebhooks.Webhook(SECRET)
    # The reference library checks the timestamp against the real clock: sign with it.
    moment = datetime.now(UTC).replace(microsecond=0)
    stamp = int(moment.timestamp())
    for size in (0, 1, 100, 5000):
        body = event_body(note="x" * size)
        message_id = "msg_" + secrets.token_hex(6)
        theirs = reference.sign(message_id, moment, body.decode())
        ours = webhook_signature(webhook_secret(SECRET), message_id, str(stamp), body)
        assert ours == theirs
        delivery = headers(message_id, stamp, theirs)
        event = parse("pipecat", body, delivery, now=at(moment), secret=SECRET)
        assert event.delivery_id == message_id
        # And the reference library accepts what we would sign.
        reference.verify(body, headers(message_id, stamp, ours))


def test_session_started_is_typed_and_other_events_keep_their_name() -> None:
    event = parse("pipecat", event_body(), signed(event_body()), now=at(NOW), secret=SECRET)
    assert (event.type, event.status, event.session_id, event.name) == (
        SessionEventType.STARTED,
        SessionStatus.RUNNING,
        "s-1",
        "session.started",
    )
    assert event.received_at == NOW
    assert event.raw["org"] == "acme"
    other = event_body("deployment.updated", deployment_id="d", service_id="x", session_id="no")
    event = parse("pipecat", other, signed(other), now=at(NOW), secret=SECRET)
    assert (event.type, event.name, event.session_id) == (
        SessionEventType.UNKNOWN,
        "deployment.updated",
        None,
    )


def test_any_of_several_signatures_may_match() -> None:
    body = event_body()
    delivery = signed(body)
    good = delivery["webhook-signature"]
    wrong = webhook_signature(b"other key", "msg_x", "1", body)
    delivery["webhook-signature"] = f"v1a,c2lnbmVk {wrong} {good}"
    parse("pipecat", body, delivery, now=at(NOW), secret=SECRET)
    delivery["webhook-signature"] = f"v1a,c2lnbmVk {wrong}"
    with pytest.raises(WebhookVerificationError):
        parse("pipecat", body, delivery, now=at(NOW), secret=SECRET)


def test_a_tampered_body_is_refused() -> None:
    body = event_body()
    delivery = signed(body)
    with pytest.raises(WebhookVerificationError):
        parse("pipecat", body.replace(b"s-1", b"s-2"), delivery, now=at(NOW), secret=SECRET)


def test_a_tampered_id_or_timestamp_is_refused() -> None:
    body = event_body()
    for header in ("webhook-id", "webhook-timestamp"):
        delivery = signed(body)
        delivery[header] = delivery[header][:-1] + ("0" if delivery[header][-1] != "0" else "1")
        with pytest.raises(WebhookVerificationError):
            parse("pipecat", body, delivery, now=at(NOW), secret=SECRET)


def test_a_wrong_secret_is_refused() -> None:
    body = event_body()
    other = "whsec_" + base64.b64encode(b"z" * 24).decode()
    with pytest.raises(WebhookVerificationError):
        parse("pipecat", body, signed(body), now=at(NOW), secret=other)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(0), True),
        (timedelta(seconds=299), True),
        (timedelta(seconds=-299), True),
        (timedelta(seconds=301), False),
        (timedelta(seconds=-301), False),
        (timedelta(days=2), False),
    ],
)
def test_the_tolerance_is_five_minutes_either_way(offset: timedelta, accepted: bool) -> None:
    body = event_body()
    delivery = signed(body, when=NOW - offset)
    if accepted:
        parse("pipecat", body, delivery, now=at(NOW), secret=SECRET)
    else:
        with pytest.raises(WebhookVerificationError, match="timestamp"):
            parse("pipecat", body, delivery, now=at(NOW), secret=SECRET)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing: str) -> None:
    body = event_body()
    delivery = signed(body)
    del delivery[missing]
    with pytest.raises(WebhookVerificationError):
        parse("pipecat", body, delivery, now=at(NOW), secret=SECRET)


def test_secrets_are_checked() -> None:
    assert webhook_secret(SECRET) == b"k" * 24
    assert webhook_secret(SECRET.removeprefix("whsec_")) == b"k" * 24
    assert webhook_secret(SECRET.rstrip("=")) == b"k" * 24  # unpadded, as the libraries take
    for bad in ("whsec_!!!", "", "whsec_", 42):
        with pytest.raises(InvalidRequestError) as caught:
            parse("pipecat", b"{}", {}, secret=bad)
        assert caught.value.argument == "secret"
    with pytest.raises(InvalidRequestError) as caught:
        parse("pipecat", b"{}", {})
    assert caught.value.argument == "secret"


def test_a_secret_never_appears_in_an_error() -> None:
    body = event_body()
    with pytest.raises(WebhookVerificationError) as caught:
        parse("pipecat", body, signed(body, secret=SECRET), now=at(NOW), secret=VECTOR_SECRET)
    assert VECTOR_SECRET.removeprefix("whsec_") not in str(caught.value)
    assert SECRET.removeprefix("whsec_") not in str(caught.value)


async def test_the_receiver_verifies_and_drops_replays() -> None:
    async with WebhookReceiver.serve(provider="pipecat", secret=SECRET, now=at(NOW)) as receiver:
        assert receiver.url is not None
        body = event_body()
        delivery = {**signed(body, prefix="svix"), "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(3):
                async with http.post(receiver.url, data=body, headers=delivery) as response:
                    statuses.append(response.status)
            stale = {
                **signed(body, when=NOW - timedelta(minutes=10)),
                "Content-Type": "application/json",
            }
            async with http.post(receiver.url, data=body, headers=stale) as response:
                statuses.append(response.status)
            tampered = {**delivery, "svix-id": "msg_other"}
            async with http.post(receiver.url, data=body, headers=tampered) as response:
                statuses.append(response.status)
        assert statuses == [200, 200, 200, 401, 401]
        assert receiver.stats.accepted == 1
        assert receiver.stats.duplicates == 2
        assert receiver.stats.bad_signature == 2
        event = await receiver.next(timeout=1)
        assert event.session_id == "s-1"
        assert event.delivery_id == delivery["svix-id"]
