"""Leases and the reaper on a real Redis, against the emulator."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from agentcloud import RetryPolicy
from agentcloud.errors import FleetUnavailableError, InvalidRequestError, ServerError
from agentcloud.fleet import Fleet
from agentcloud.testing import Emulator, FaultKind, FaultPlan

from .helpers import REDIS_URL, eventually, orphan

END_PATH = "/ai/v1/ai-deployment-sessions/end"


def keys(namespace: str, session_id: str, provider: str = "videosdk") -> tuple[str, str, str]:
    prefix = f"agentcloud:{{{namespace}}}:"
    return prefix + "leases", f"{provider}:{session_id}", f"{prefix}lease:{provider}:{session_id}"


async def lease_of(
    redis: aioredis.Redis, namespace: str, session_id: str, provider: str = "videosdk"
) -> tuple[dict[str, Any] | None, int]:
    """The lease's record (None when absent) and its liveness key's PTTL (-2: absent)."""
    records, field, liveness = keys(namespace, session_id, provider)
    raw = await redis.hget(records, field)
    return (json.loads(raw) if raw else None), await redis.pttl(liveness)


def start_kwargs(emu: Emulator) -> dict[str, Any]:
    return {"deployment_id": emu.videosdk_deployment_id, "tag": "v1.0"}


async def test_a_managed_session_is_leased_while_its_block_runs(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    async with emu.videosdk(fleet=fleet) as vs:
        async with vs.sessions.start(**start_kwargs(emu)) as session:
            record, ttl = await eventually(
                lambda: _present(lease_of(redis, namespace, session.id)), what="the lease"
            )
            assert 0 < ttl <= 1000
            assert record["provider"] == "videosdk"
            assert record["session_id"] == session.id
            assert record["end"] == {}
            assert record["attempts"] == 0
            assert record["holder"].startswith("holder:")
        # Ended: released at once.
        await eventually(
            lambda: _absent(lease_of(redis, namespace, session.id)), what="the release"
        )


async def test_a_lease_keeps_what_ending_needs_and_nothing_more(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    async with (
        emu.pipecat(fleet=fleet) as pc,
        pc.sessions.start(create_daily_room=True) as session,
    ):
        assert session.connection is not None
        token = session.connection.daily_token
        assert token  # it carries a room token...
        record, _ = await eventually(
            lambda: _present(lease_of(redis, namespace, session.id, "pipecat"))
        )
        assert record["end"] == {"agent": "my-agent"}
        text = json.dumps(record)
        assert token not in text  # ...which the lease does not
        assert "token" not in text


async def test_only_sessions_the_client_promised_to_end_are_leased(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    async with (
        emu.videosdk(fleet=fleet) as plain,
        emu.videosdk(fleet=fleet, end_on_close=True) as closing,
    ):
        mine = await plain.sessions.start(**start_kwargs(emu))
        promised = await closing.sessions.start(**start_kwargs(emu))
        await eventually(lambda: _present(lease_of(redis, namespace, promised.id)))
        assert await lease_of(redis, namespace, mine.id) == (None, -2)
        await closing.sessions.end(promised.id)
        await eventually(lambda: _absent(lease_of(redis, namespace, promised.id)))
        await plain.sessions.end(mine.id)


async def test_a_session_no_longer_managed_gives_its_lease_up(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    """What a blocking start does: entered as managed (so an abandoned start is ended),
    then merely held when no ``with`` block takes it; a lease left behind would have a
    reaper end the session once its holder closed."""
    async with emu.videosdk(fleet=fleet) as vs:
        start = vs.sessions.start(**start_kwargs(emu))
        session = await start.__aenter__()
        await eventually(lambda: _present(lease_of(redis, namespace, session.id)))
        start.set_managed(False)
        await eventually(lambda: _absent(lease_of(redis, namespace, session.id)))
        assert vs._fleet_listener is not None
        assert session.id not in vs._fleet_listener.leased
    async with emu.videosdk() as reaper:
        assert await fleet.reap([reaper]) == []
    assert emu.session_phase("videosdk", session.id).value not in ("stopping", "completed")


async def test_the_heartbeat_renews_a_lease_beyond_its_ttl(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    async with emu.videosdk(fleet=fleet) as vs, vs.sessions.start(**start_kwargs(emu)) as session:
        _, first = await eventually(lambda: _present(lease_of(redis, namespace, session.id)))
        lowest = first

        async def renewed() -> bool:
            nonlocal lowest
            _, ttl = await lease_of(redis, namespace, session.id)
            lowest = min(lowest, ttl)
            return ttl > lowest + 100

        await eventually(renewed, timeout=2.0, what="a renewal")


async def test_a_lease_a_reaper_took_is_given_up_and_logged(
    emu: Emulator,
    fleet: Fleet,
    namespace: str,
    redis: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with emu.videosdk(fleet=fleet) as vs, vs.sessions.start(**start_kwargs(emu)) as session:
        await eventually(lambda: _present(lease_of(redis, namespace, session.id)))
        _, _, liveness = keys(namespace, session.id)
        with caplog.at_level(logging.WARNING, "agentcloud"):
            await redis.set(liveness, "reaper:elsewhere", px=60_000)  # as a claim does
            listener = vs._fleet_listener
            await eventually(lambda: session.id not in listener.leased, what="the lease given up")
        assert "taken by a reaper" in caplog.text
        assert await redis.get(liveness) == b"reaper:elsewhere"  # not taken back


async def test_sessions_a_closing_client_could_not_end_are_left_to_the_reaper(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    vs = emu.videosdk(fleet=fleet, end_on_close=True, retry=RetryPolicy.never())
    session = await vs.sessions.start(**start_kwargs(emu))
    await eventually(lambda: _present(lease_of(redis, namespace, session.id)))
    emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.SERVER_ERROR], paths=[END_PATH])
    await vs.aclose()
    record, ttl = await lease_of(redis, namespace, session.id)
    assert record is not None
    assert ttl == -2  # expired at once, not after its TTL
    emu.faults = None
    async with emu.videosdk() as reaper:
        reaped = await fleet.reap({"videosdk": reaper})
    assert [(item.session_id, item.ended) for item in reaped] == [(session.id, True)]
    assert emu.session_phase("videosdk", session.id).value in ("stopping", "completed")
    assert await lease_of(redis, namespace, session.id) == (None, -2)


async def test_a_live_lease_is_not_reaped(emu: Emulator, fleet: Fleet) -> None:
    async with emu.videosdk(fleet=fleet) as vs, vs.sessions.start(**start_kwargs(emu)) as session:
        await eventually(lambda: session.id in vs._fleet_listener.leased)
        async with emu.videosdk() as reaper:
            assert await fleet.reap({"videosdk": reaper}) == []
        assert emu.session_phase("videosdk", session.id).value in ("queued", "running")


async def test_a_failed_end_is_retried_after_a_lease_ttl_and_never_lost(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    session = await _dead_lease(emu, fleet, namespace, redis)
    emu.faults = FaultPlan(script=[FaultKind.SERVER_ERROR], paths=[END_PATH])
    async with emu.videosdk(retry=RetryPolicy.never()) as reaper:
        first = await fleet.reap({"videosdk": reaper})
        assert len(first) == 1
        assert not first[0].ended
        assert first[0].attempts == 1
        assert isinstance(first[0].error, ServerError)
        record, ttl = await lease_of(redis, namespace, session)
        assert record is not None
        assert record["attempts"] == 1
        assert record["last_error"].startswith("ServerError")
        assert 0 < ttl <= 1000  # claimed until it is tried again
        assert await fleet.reap({"videosdk": reaper}) == []  # not before then

        async def ended_again() -> list[Any]:
            return [item for item in await fleet.reap({"videosdk": reaper}) if item.ended]

        second = await eventually(ended_again, timeout=3.0, what="the retried end")
    assert second[0].attempts == 2
    ends = [r for r in emu.requests if r.path == END_PATH]
    assert [r.fault for r in ends] == [FaultKind.SERVER_ERROR, None]
    assert await lease_of(redis, namespace, session) == (None, -2)


async def test_a_session_the_vendor_no_longer_knows_is_let_go(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    records, field, _ = keys(namespace, "gone-session")
    await redis.hset(records, field, json.dumps({"provider": "videosdk", "session_id": "x"}))
    async with emu.videosdk() as reaper:
        reaped = await fleet.reap([reaper])
    # The field decides which session it is, whatever the record says.
    assert [(item.session_id, item.ended) for item in reaped] == [("gone-session", True)]
    assert await redis.hlen(records) == 0


async def test_a_record_that_does_not_parse_still_names_its_session(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    session = await _dead_lease(emu, fleet, namespace, redis)
    records, field, _ = keys(namespace, session)
    await redis.hset(records, field, b"\xff{not json")
    async with emu.videosdk() as reaper:
        reaped = await fleet.reap({"videosdk": reaper})
    assert [(item.session_id, item.ended) for item in reaped] == [(session, True)]


async def test_leases_of_providers_without_a_client_are_left_alone(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    records, field, _ = keys(namespace, "abc", "pipecat")
    await redis.hset(records, field, json.dumps({"end": {"agent": "my-agent"}}))
    async with emu.videosdk() as reaper:
        assert await fleet.reap({"videosdk": reaper}) == []
    assert await redis.hexists(records, field)


async def test_a_reaper_ends_pipecat_sessions_with_the_agent_of_the_lease(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    holder = emu.pipecat(fleet=fleet, end_on_close=True)
    session = await holder.sessions.start()
    await eventually(lambda: _present(lease_of(redis, namespace, session.id, "pipecat")))
    _, _, liveness = keys(namespace, session.id, "pipecat")
    await orphan(holder)
    await redis.delete(liveness)  # as if its TTL ran out
    async with emu.pipecat(agent=None) as reaper:  # no default agent: the lease's is used
        reaped = await fleet.reap({"pipecat": reaper})
    assert [(item.session_id, item.ended) for item in reaped] == [(session.id, True)]
    assert emu.session_phase("pipecat", session.id).value in ("stopping", "completed")


@pytest.mark.parametrize(
    ("clients", "problem"),
    [
        ("videosdk", "map provider names"),
        ({"pipecat": "not a client"}, "must name its client's provider"),
        ({"videosdk": object()}, "must name"),
    ],
)
async def test_reap_refuses_clients_it_cannot_use(fleet: Fleet, clients: Any, problem: str) -> None:
    with pytest.raises(InvalidRequestError, match=problem) as caught:
        await fleet.reap(clients)
    assert caught.value.argument == "clients"


async def test_reap_refuses_bad_bounds(emu: Emulator, fleet: Fleet) -> None:
    async with emu.videosdk() as vs:
        with pytest.raises(InvalidRequestError, match="timeout"):
            await fleet.reap([vs], timeout=0)
        with pytest.raises(InvalidRequestError, match="concurrency"):
            await fleet.reap([vs], concurrency=0)
        with pytest.raises(InvalidRequestError, match="two clients"):
            await fleet.reap([vs, vs])


async def _dead_lease(emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis) -> str:
    """A running session whose holder died: its lease is in Redis, expired."""
    holder = emu.videosdk(fleet=fleet, end_on_close=True)
    session = await holder.sessions.start(**start_kwargs(emu))
    await eventually(lambda: _present(lease_of(redis, namespace, session.id)))
    await orphan(holder)
    await redis.delete(keys(namespace, session.id)[2])
    return session.id


async def _present(found: Any) -> Any:
    record, ttl = await found
    return (record, ttl) if record is not None and ttl > 0 else None


async def _absent(found: Any) -> bool:
    return await found == (None, -2)


async def test_a_fleet_repr_and_errors_keep_the_password(namespace: str) -> None:
    fleet = Fleet("redis://:hunter2-secret@127.0.0.1:9/0", namespace=namespace, timeout=0.5)
    assert "hunter2" not in repr(fleet)
    with pytest.raises(FleetUnavailableError) as caught:
        await fleet.seen("k")
    assert "hunter2" not in str(caught.value)
    await fleet.aclose()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"url": "http://127.0.0.1:6379"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "redis://127.0.0.1:notaport"}, "url"),
        # Options redis-py would refuse only on the first operation, as a raw error:
        ({"url": "redis://127.0.0.1:6379/0?socket_timeout=soon"}, "url"),
        ({"url": "redis://127.0.0.1:6379/0?health_check_interval=often"}, "url"),
        ({"url": "rediss://127.0.0.1:6379/0?ssl_cert_reqs=bogus"}, "url"),
        ({"url": "redis://:hunter2-secret@127.0.0.1:6379?db=zero"}, "url"),
        ({"url": "redis://127.0.0.1:6379/0?retry=3"}, "url"),
        ({"namespace": ""}, "namespace"),
        ({"namespace": "a b"}, "namespace"),
        ({"namespace": "{tag}"}, "namespace"),
        ({"lease_ttl": 0}, "lease_ttl"),
        ({"lease_ttl": float("inf")}, "lease_ttl"),
        ({"lease_ttl": 1.0, "heartbeat": 1.0}, "heartbeat"),
        ({"timeout": -1}, "timeout"),
        ({"max_events": 0}, "max_events"),
        ({"replay_window": float("nan")}, "replay_window"),
    ],
)
def test_bad_fleet_options_are_refused(kwargs: dict[str, Any], argument: str) -> None:
    options = {"url": REDIS_URL, **kwargs}
    with pytest.raises(InvalidRequestError) as caught:
        Fleet(options.pop("url"), **options)
    assert caught.value.argument == argument
    assert "hunter2" not in str(caught.value)


async def test_a_reaper_ends_a_dispatch_by_its_room_as_its_holder_would(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    """A runtime dispatch is no ``sessions.end`` session: its lease names the route, and
    the reaper ends the room's agent session (not an ai-deployment session of that id)."""
    holder = emu.videosdk(fleet=fleet)
    dispatch = await holder.runtime.dispatch(agent_id=emu.videosdk_agent_id).__aenter__()
    record, _ = await eventually(lambda: _present(lease_of(redis, namespace, dispatch.id)))
    assert record["route"] == "runtime"
    [running] = [
        s for s in emu.worlds["videosdk"].runtime.sessions.values() if s.room_id == dispatch.room_id
    ]
    await orphan(holder)
    async with emu.videosdk() as reaper:

        async def reaped() -> list[Any]:
            return [(item.session_id, item.ended) for item in await fleet.reap([reaper])]

        assert await eventually(reaped, what="the dispatch reaped") == [(dispatch.id, True)]
    assert emu.videosdk_runtime_session(running.id).timeline.terminated
    assert not [r for r in emu.requests if r.path == END_PATH]
    assert await lease_of(redis, namespace, dispatch.id) == (None, -2)


async def test_a_lease_of_a_route_this_sdk_does_not_know_is_kept_for_a_later_reaper(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    records, field, _ = keys(namespace, "s-new")
    await redis.hset(
        records, field, json.dumps({"provider": "videosdk", "session_id": "s-new", "route": "x"})
    )
    async with emu.videosdk() as reaper:
        [item] = await fleet.reap([reaper])
    assert (item.ended, item.attempts) == (False, 1)
    assert "'x'" in str(item.error)
    assert not [r for r in emu.requests if r.path == END_PATH]  # nothing guessed
    record, _ = await lease_of(redis, namespace, "s-new")
    assert record is not None
    assert record["attempts"] == 1
