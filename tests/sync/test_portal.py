"""The portal's hop between threads, on its own: a caller waits on one lock the loop's
thread releases once the call is settled. Ctrl-C in that wait cancels the call and waits for
its clean-up (a second Ctrl-C stops waiting), a call settled just as its caller gave up is
undone, a call cancelled before it ever ran still releases its caller, and any number of
threads may call at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from agentcloud import InvalidRequestError
from agentcloud._sync import _portal
from agentcloud._sync._portal import Portal, _Call
from tests.sync.helpers import sigint_when

BOUND = 30.0  # seconds: the most any call here waits for something that should come


@pytest.fixture
def portal() -> Iterator[Portal]:
    portal = Portal("test")
    yield portal
    portal.close()


async def tasks_running() -> list[asyncio.Task[Any]]:
    here = asyncio.current_task()
    return [task for task in asyncio.all_tasks() if task is not here and not task.done()]


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


def test_arguments_are_passed_and_values_and_errors_returned(portal: Portal) -> None:
    assert portal.run(add, 2, 3) == 5

    async def fails() -> None:
        await asyncio.sleep(0)
        raise LookupError("its own error")

    with pytest.raises(LookupError, match="its own error") as caught:
        portal.run(fails)
    assert caught.traceback[-1].name == "fails"  # raised with where it came from
    assert portal.run(add, 1, 1) == 2  # and nothing of it stays behind
    assert portal.run(tasks_running) == []


def test_ctrl_c_while_waiting_cancels_the_call_and_waits_for_its_clean_up(
    portal: Portal,
) -> None:
    started = threading.Event()
    cleaned: list[str] = []

    async def call() -> None:
        try:
            started.set()
            await asyncio.sleep(BOUND)
        finally:
            await asyncio.sleep(0)  # a clean-up that takes turns of the loop
            cleaned.append("done")

    with sigint_when(started), pytest.raises(KeyboardInterrupt):
        portal.run(call)
    assert cleaned == ["done"]  # waited for before the interruption went on
    assert portal.run(tasks_running) == []
    assert portal.run(add, 1, 2) == 3  # the portal works on


def test_a_second_ctrl_c_stops_waiting_for_the_clean_up(portal: Portal) -> None:
    started, cleaning, finish, cleaned = (threading.Event() for _ in range(4))

    async def call() -> None:
        try:
            started.set()
            await asyncio.sleep(BOUND)
        finally:
            cleaning.set()
            for _ in range(int(BOUND / 0.01)):  # a clean-up that goes on until told
                if finish.is_set():
                    break
                await asyncio.sleep(0.01)
            cleaned.set()

    with sigint_when(started), sigint_when(cleaning), pytest.raises(KeyboardInterrupt):
        portal.run(call)
    assert not cleaned.is_set()  # the caller stopped waiting for it...
    finish.set()
    assert cleaned.wait(BOUND)  # ...and it went on in the background


def test_a_call_that_succeeded_as_its_caller_gave_up_is_undone(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window between a call's success and its caller receiving it (the caller has
    taken the lock, and Ctrl-C lands before it reads the value): the value is undone (a
    start's session ended) before the interruption goes on."""
    undone: list[str] = []

    class Started:
        async def _undo_abandoned(self) -> None:
            await asyncio.sleep(0)
            undone.append("ended")

    async def start() -> Started:
        return Started()

    def interrupted_once_settled(lock: threading.Lock) -> None:
        lock.acquire()  # settled: the value is there
        raise KeyboardInterrupt

    monkeypatch.setattr(_portal, "_wait", interrupted_once_settled)
    with pytest.raises(KeyboardInterrupt):
        portal.run(start)
    assert undone == ["ended"]
    monkeypatch.undo()
    assert portal.run(tasks_running) == []


def test_a_call_given_up_before_its_first_step_is_cancelled_and_released(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C just after the call was scheduled: its task is cancelled before its coroutine
    ever ran (the loop runs the start and the abandoning in one turn), and the caller is
    still released."""
    ran: list[str] = []

    async def call() -> None:
        ran.append("ran")

    loop = portal.loop()
    go = threading.Event()
    loop.call_soon_threadsafe(go.wait, BOUND)  # hold the loop until both are scheduled
    wait_event = _portal._wait_event

    def interrupted_at_once(lock: threading.Lock) -> None:
        raise KeyboardInterrupt

    def release_the_loop_then_wait(event: threading.Event) -> None:
        go.set()
        wait_event(event)

    monkeypatch.setattr(_portal, "_wait", interrupted_at_once)
    monkeypatch.setattr(_portal, "_wait_event", release_the_loop_then_wait)
    with pytest.raises(KeyboardInterrupt):
        portal.run(call)
    monkeypatch.undo()
    assert ran == []
    assert portal.run(tasks_running) == []

    async def calls_left() -> int:
        return len(portal._calls)

    assert portal.run(calls_left) == 1  # the one asking


def test_a_call_cancelled_before_its_first_step_releases_its_caller(portal: Portal) -> None:
    """A task cancelled before its coroutine starts never runs it: the caller is told the
    client closed (as when close() cancels it), not left waiting."""
    ran: list[str] = []

    async def call() -> None:
        ran.append("ran")

    loop = portal.loop()
    call_ = _Call(call, (), portal)

    def begin_and_cancel() -> None:
        call_.begin(loop)
        assert call_._task is not None
        call_._task.cancel()

    loop.call_soon_threadsafe(begin_and_cancel)
    assert call_._done.acquire(timeout=BOUND)
    assert ran == []
    assert isinstance(call_._error, InvalidRequestError)
    assert "closed while this call ran" in str(call_._error)


def test_many_threads_call_one_portal_at_once(portal: Portal) -> None:
    threads, calls = 16, 200
    start = threading.Barrier(threads)

    async def echo(worker: int, n: int) -> tuple[int, int]:
        await asyncio.sleep(0)
        if n % 9 == 0:
            raise ValueError(worker, n)
        return worker, n

    def work(worker: int) -> list[object]:
        start.wait(timeout=BOUND)
        answers: list[object] = []
        for n in range(calls):
            try:
                answers.append(portal.run(echo, worker, n))
            except ValueError as error:
                answers.append(error.args)
        return answers

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(work, range(threads)))
    for worker, answers in enumerate(results):
        assert answers == [(worker, n) for n in range(calls)]  # each its own, in order
    assert portal.run(tasks_running) == []


def test_calls_running_when_the_portal_closes_are_told_so() -> None:
    portal = Portal("test")
    threads = 4
    entered = threading.Semaphore(0)

    async def long_call() -> None:
        entered.release()
        await asyncio.sleep(BOUND)

    def caller() -> BaseException | None:
        try:
            portal.run(long_call)
        except BaseException as error:
            return error
        return None

    with ThreadPoolExecutor(threads) as pool:
        outcomes = [pool.submit(caller) for _ in range(threads)]
        for _ in range(threads):
            assert entered.acquire(timeout=BOUND)
        portal.close()
        errors = [outcome.result(timeout=BOUND) for outcome in outcomes]
    for error in errors:
        assert isinstance(error, InvalidRequestError)
        assert "closed while this call ran" in str(error)
    with pytest.raises(InvalidRequestError, match="closed"):
        portal.run(add, 1, 2)


def test_a_blocking_call_from_the_portals_own_loop_is_refused(portal: Portal) -> None:
    async def calls_itself() -> BaseException | None:
        try:
            portal.run(add, 1, 2)
        except InvalidRequestError as error:
            return error
        return None

    refused = portal.run(calls_itself)
    assert isinstance(refused, InvalidRequestError)
    assert "own event loop" in str(refused)


@pytest.mark.parametrize("interrupted", [False, True], ids=["answered", "interrupted"])
def test_waits_made_in_slices_behave_the_same(
    portal: Portal, monkeypatch: pytest.MonkeyPatch, interrupted: bool
) -> None:
    """Waits are made in slices (a Ctrl-C landing just before a wait begins is acted on
    when its slice ends; on Windows nothing interrupts a wait); however short the slices,
    the answer, and an interruption, are the same."""
    monkeypatch.setattr(_portal, "_WAIT_SLICE", 0.001)
    started = threading.Event()

    async def slow(turns: int) -> int:
        started.set()
        for _ in range(turns):
            await asyncio.sleep(0.002)  # several slices long
        return turns

    if not interrupted:
        assert portal.run(slow, 5) == 5
        return
    with sigint_when(started), pytest.raises(KeyboardInterrupt):
        portal.run(slow, int(BOUND / 0.002))
    assert portal.run(tasks_running) == []
