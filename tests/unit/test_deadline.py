"""The edge's per-request deadline (api/common/timeouts.py): `Deadline` behaves as `asyncio.timeout`, and
`running_loop` finds the loop that runs now, in another thread, after another loop, and in a fork's child."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from api.common.timeouts import Deadline, running_loop


async def test_past_the_deadline_the_block_is_cancelled_and_raises_timeout_error() -> None:
    deadline = Deadline(0.02)
    with pytest.raises(TimeoutError):
        async with deadline:
            await asyncio.sleep(5)
    assert deadline.expired()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]  # the cancel it sent is taken back


async def test_a_block_that_ends_in_time_leaves_no_timer_and_no_cancellation() -> None:
    deadline = Deadline(0.05)
    async with deadline:
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)  # where the timer would have fired
    assert not deadline.expired()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_none_is_no_deadline() -> None:
    deadline = Deadline(None)
    async with deadline:
        await asyncio.sleep(0.02)
    assert not deadline.expired()


async def test_a_timeout_error_from_inside_is_not_the_deadlines() -> None:
    deadline = Deadline(5)
    with pytest.raises(TimeoutError):
        async with deadline:
            raise TimeoutError("a statement's own")
    assert not deadline.expired()


async def test_a_cancellation_from_outside_stays_a_cancellation_even_past_the_deadline() -> None:
    async def held() -> None:
        async with Deadline(0.01):
            try:
                await asyncio.sleep(5)
            finally:
                await asyncio.sleep(0.05)  # the deadline passes while the outside cancel is handled

    task = asyncio.ensure_future(held())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_running_loop_is_the_loop_that_runs_now_in_each_thread_and_after_another() -> None:
    async def check() -> bool:
        return running_loop() is asyncio.get_running_loop()

    assert asyncio.run(check()) and asyncio.run(check())  # two loops, one after the other
    found: list[bool] = []

    def other_thread() -> None:
        found.append(asyncio.run(check()))

    async def while_another_thread_runs_its_own() -> bool:
        thread = threading.Thread(target=other_thread)
        thread.start()
        await asyncio.sleep(0.05)
        thread.join()
        return await check()

    assert asyncio.run(while_another_thread_runs_its_own()) and found == [True]
    with pytest.raises(RuntimeError):
        running_loop()  # none runs here


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forks_child_finds_its_own_loop() -> None:
    script = textwrap.dedent("""
        import asyncio, os
        from api.common.timeouts import running_loop

        async def check():
            return running_loop() is asyncio.get_running_loop()

        async def parent():
            assert await check()
            child = os.fork()
            if child == 0:  # the parent's loop is copied here, still marked running
                os._exit(0 if asyncio.run(check()) else 3)
            return os.waitpid(child, 0)[1]

        print(asyncio.run(parent()))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.stdout.strip() == "0", done.stderr
