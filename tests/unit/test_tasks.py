"""The attempt's timeout scope and the tasks that finish what they started.

A scope's deadline is set in the loop's past, so it expires on the loop's next turn: no
test waits for a clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentcloud._tasks import TimeoutScope, finishing, honour_cancel_after, restore_cancel_after


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


def scope(when: float | None = None, *, passed: bool = False) -> TimeoutScope:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    return TimeoutScope(loop, task, loop.time() - 1.0 if passed else when)


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


async def test_a_scope_left_in_time_leaves_no_timer_behind() -> None:
    timer = scope(asyncio.get_running_loop().time() + 3600.0)
    with timer:
        handle = timer._handle
        await asyncio.sleep(0)
    assert not timer.expired()
    assert handle is not None
    assert handle.cancelled()
    assert timer._handle is None


async def test_no_deadline_never_expires() -> None:
    timer = scope(None)
    with timer:
        for _ in range(3):
            await asyncio.sleep(0)
    assert not timer.expired()
    assert timer._handle is None


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
        timer = TimeoutScope(loop, me, loop.time() - 1.0)
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
