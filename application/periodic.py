"""The loop every claiming worker runs: drain what is due in batches, then wait; stop on request."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Protocol, Self, TypeVar

from application.ports import Clock, UnitOfWork, UnitOfWorkFactory

from domain.shared import Conflict

MAX_BATCHES_PER_TICK = 1000
DEFAULT_BATCH_SIZE = 100


class Tick(Protocol):
    claimed: int

    def __add__(self, other: Self) -> Self: ...


T = TypeVar("T", bound=Tick)


async def run_batches_periodically(
    run_batch: Callable[[], Awaitable[T]],
    empty: Callable[[], T],
    *,
    batch_size: int,
    log: logging.Logger,
    interval: float = 30.0,
    once: bool = False,
    stop: asyncio.Event | None = None,
    on_tick: Callable[[T], Awaitable[None] | None] | None = None,
) -> T:
    """Tick until `stop` is set (or once): run batches until one claims less than `batch_size`, then
    wait `interval` seconds.

    A batch that loses a race (Conflict) is retried on the next tick; with `once` errors propagate,
    otherwise they are logged and the worker carries on."""
    stop = stop or asyncio.Event()
    total = empty()
    while True:
        tick = empty()
        try:
            for _ in range(MAX_BATCHES_PER_TICK):
                batch = await run_batch()
                tick += batch
                if batch.claimed < batch_size or stop.is_set():  # stopping: this batch was the last
                    break
        except Conflict as err:
            log.info("a batch lost a race, retrying next tick: %s", err.message)
        except Exception:
            if once:
                raise
            log.exception("worker tick failed; carrying on")
        total += tick
        if on_tick is not None:
            result = on_tick(tick)
            if result is not None:
                await result
        if once or stop.is_set():
            return total
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass


class Worker(Protocol[T]):  # type: ignore[misc]
    async def __call__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, interval: float = 30.0,
                       once: bool = False, batch_size: int = DEFAULT_BATCH_SIZE, stop: asyncio.Event | None = None,
                       on_tick: Callable[[T], Awaitable[None] | None] | None = None) -> T: ...


def periodic_worker(batch: Callable[..., Awaitable[T]], empty: Callable[[], T], log: logging.Logger) -> Worker[T]:
    """A worker that runs `batch(uow, clock, batch_size=...)`, each in a fresh unit of work, on the loop above:
    tick until `stop` is set (or once), drain everything due, then wait `interval` seconds."""

    async def run(uow_factory: UnitOfWorkFactory, clock: Clock, *, interval: float = 30.0, once: bool = False,
                  batch_size: int = DEFAULT_BATCH_SIZE, stop: asyncio.Event | None = None,
                  on_tick: Callable[[T], Awaitable[None] | None] | None = None) -> T:
        def one_batch() -> Awaitable[T]:
            uow: UnitOfWork = uow_factory()
            return batch(uow, clock, batch_size=batch_size)

        return await run_batches_periodically(one_batch, empty, batch_size=batch_size, log=log, interval=interval,
                                              once=once, stop=stop, on_tick=on_tick)

    return run
