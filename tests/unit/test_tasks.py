"""The attempt's timeout scope and the tasks that finish what they started.

A scope's deadline is set in the loop's past, so it expires on the loop's next turn: no
test waits for a clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentcloud._tasks import (
    Deadlines,
    TimeoutScope,
    finishing,
    honour_cancel_after,
    restore_cancel_after,
)


async def forever() -> None:
    """Waits as a request that never answers would (on a future); a watchdog fails the
    test if no cancellation came within a bounded number of loop turns (a scope whose
    deadline passed fires on the next)."""
    answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def watchdog() -> None:
        for _ in range(1000):
            await asyncio.sleep(0)
        if not answer.done():
            answer.set_exception(AssertionError("no cancellation came"))

    guard = asyncio.ensure_future(watchdog())
    try:
        await answer
    finally:
        guard.cancel()


async def turns_until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail("the condition never held")


_DEADLINES: dict[asyncio.AbstractEventLoop, Deadlines] = {}


def deadlines() -> Deadlines:
    """The running loop's deadlines, one per loop, as a transport keeps them."""
    loop = asyncio.get_running_loop()
    return _DEADLINES.setdefault(loop, Deadlines(loop))


def scope(when: float | None = None, *, passed: bool = False) -> TimeoutScope:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    return TimeoutScope(deadlines(), task, loop.time() - 1.0 if passed else when)


async def test_a_passed_deadline_turns_the_wait_into_a_timeout_error() -> None:
    timer = scope(passed=True)
    with pytest.raises(TimeoutError) as caught, timer:
        await forever()
    assert timer.expired()
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0)  # no cancellation left pending: the task goes on


async def test_a_scope_left_in_time_is_no_longer_watched() -> None:
    # Its deadline has passed, but the loop has not turned: left now, it is left in time
    # (as with asyncio.timeout), and the timer that comes due later cancels nothing.
    watched = deadlines()
    timer = scope(passed=True)
    with timer:
        assert len(watched) == 1
    assert len(watched) == 0
    for _ in range(5):
        await asyncio.sleep(0)  # a cancel would land here
    assert not timer.expired()


async def test_attempts_one_after_another_share_one_timer() -> None:
    loop = asyncio.get_running_loop()
    watched = deadlines()
    first = scope(loop.time() + 3600.0)
    with first:
        timer = watched._timer
    for n in range(50):  # later deadlines each time: the timer is never moved
        with scope(loop.time() + 3600.0 + n):
            await asyncio.sleep(0)
            assert watched._timer is timer
    assert timer is not None
    assert not timer.cancelled()
    assert len(watched) == 0


async def test_an_earlier_deadline_moves_the_timer_and_the_rest_are_watched_after_it() -> None:
    loop = asyncio.get_running_loop()
    watched = deadlines()
    later_at = loop.time() + 3600.0
    entered = asyncio.Event()
    later: list[TimeoutScope] = []

    async def long_attempt() -> None:
        later.append(scope(later_at))
        with later[0]:
            entered.set()
            await asyncio.Event().wait()

    other = asyncio.ensure_future(long_attempt())
    await entered.wait()
    soon = scope(passed=True)
    with pytest.raises(TimeoutError), soon:
        await forever()
    assert soon.expired()
    assert not later[0].expired()
    assert watched._timer_at == later_at  # set again for the deadline still to come
    assert len(watched) == 1
    other.cancel()
    with pytest.raises(asyncio.CancelledError):
        await other
    assert len(watched) == 0


async def test_no_deadline_never_expires() -> None:
    timer = scope(None)
    with timer:
        assert len(deadlines()) == 0  # nothing to watch
        for _ in range(3):
            await asyncio.sleep(0)
    assert not timer.expired()


async def test_other_errors_pass_through_unchanged() -> None:
    timer = scope(passed=True)
    with pytest.raises(KeyError), timer:
        raise KeyError("x")
    # It had not expired yet (the loop never turned): the error is the body's own.
    assert not timer.expired()


async def test_a_caller_s_cancel_stays_a_cancel_even_when_the_deadline_also_passed() -> None:
    entered = asyncio.Event()
    timers: list[TimeoutScope] = []

    async def attempt() -> None:
        timers.append(scope(passed=True))
        with timers[0]:
            entered.set()
            await forever()

    task = asyncio.ensure_future(attempt())
    await entered.wait()
    await turns_until(lambda: timers[0].expired())
    task.cancel()  # the caller's, after the scope's own and before the task woke
    with pytest.raises(asyncio.CancelledError):
        await task
    assert timers[0].expired()


async def test_nested_scopes_each_raise_only_their_own() -> None:
    loop = asyncio.get_running_loop()
    outer = scope(loop.time() + 3600.0)
    inner = scope(passed=True)
    with outer:
        with pytest.raises(TimeoutError), inner:
            await forever()
        await asyncio.sleep(0)  # the outer scope goes on
    assert inner.expired()
    assert not outer.expired()


async def test_a_finishing_task_declines_outside_cancels_but_honours_its_own_scope() -> None:
    loop = asyncio.get_running_loop()
    results: list[Any] = []
    inside = asyncio.Event()
    release = asyncio.Event()

    async def declines() -> None:
        inside.set()
        await release.wait()
        results.append("finished")

    task = finishing(declines())
    await inside.wait()
    assert task.cancel() is False  # declined: a start must finish
    release.set()
    await task
    assert results == ["finished"]

    async def bounded() -> None:
        me = asyncio.current_task()
        assert me is not None
        timer = TimeoutScope(deadlines(), me, loop.time() - 1.0)
        with timer:
            await forever()

    with pytest.raises(TimeoutError):
        await finishing(bounded())


async def test_a_finishing_task_takes_a_cancel_once_its_attempt_s_deadline_passed() -> None:
    loop = asyncio.get_running_loop()
    inside = asyncio.Event()

    async def attempt() -> None:
        me = asyncio.current_task()
        previous = honour_cancel_after(me, loop.time() - 1.0)
        try:
            inside.set()
            await forever()
        finally:
            restore_cancel_after(me, previous)

    task = finishing(attempt())
    await inside.wait()
    assert task.cancel() is True
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_scopes_left_long_ago_do_not_pile_up() -> None:
    loop = asyncio.get_running_loop()
    watched = deadlines()
    for n in range(2000):
        with scope(loop.time() + 3600.0 + n):
            pass
    assert len(watched) == 0
    assert len(watched._heap) <= 65  # rebuilt from the scopes still watched, not grown


async def test_a_flood_of_attempts_each_expires_once_on_its_own_deadline() -> None:
    loop = asyncio.get_running_loop()
    watched = deadlines()
    base = loop.time()
    outcomes: list[str] = []
    scopes: list[TimeoutScope] = []

    async def attempt(n: int) -> None:
        # Half have passed (distinct times, in no order), half are an hour away.
        when = base - 1.0 - (n * 7919 % 300) / 1000 if n % 2 else base + 3600.0 + n
        timer = scope(when)
        scopes.append(timer)
        try:
            with timer:
                await forever() if n % 2 else await asyncio.Event().wait()
        except TimeoutError:
            outcomes.append("timeout")

    tasks = [asyncio.ensure_future(attempt(n)) for n in range(300)]
    await turns_until(lambda: len(outcomes) == 150)
    assert len(watched) == 150  # the hour-away ones, still watched
    assert all(
        timer.expired() for timer in scopes if timer._when is not None and timer._when < base
    )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes == ["timeout"] * 150
    assert len(watched) == 0


async def test_a_scope_left_keeps_nothing_of_its_task_alive() -> None:
    # The heap keeps a left scope's entry until it is swept off: it must not keep the
    # scope's task (and the task's result, a whole page of a listing) alive meanwhile.
    import gc
    import weakref

    loop = asyncio.get_running_loop()
    watched = deadlines()

    async def attempt() -> bytes:
        with scope(loop.time() + 3600.0):
            await asyncio.sleep(0)
        return b"x" * 1_000_000

    task = asyncio.ensure_future(attempt())
    await task
    gone = weakref.ref(task)
    del task
    await asyncio.sleep(0)  # the loop's handle that woke this test holds it until then
    gc.collect()
    assert len(watched._heap) >= 1  # its entry is still there
    assert gone() is None
