"""Create-once semantics for `idempotencyKey` on create mutations."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, is_dataclass
from typing import Any, Awaitable, Callable

from application.ports import UnitOfWork
from domain.shared import InvalidInput


def fingerprint(command: Any) -> str:
    data = asdict(command) if is_dataclass(command) else dict(command)
    data.pop("idempotency_key", None)
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def replay_or_create(
    uow: UnitOfWork,
    *,
    scope: str,
    key: str | None,
    command: Any,
    create: Callable[[], Awaitable[uuid.UUID]],
) -> tuple[uuid.UUID, bool]:
    """Run `create` once per (scope, key).

    Returns (id, created). A retry with the same key and input returns the first
    result's id and writes nothing; the same key with other input is INVALID.
    """
    if key is None:
        return await create(), True
    if not key.strip() or len(key) > 200:
        raise InvalidInput("idempotencyKey must be 1 to 200 characters.", field=("idempotencyKey",))
    print_ = fingerprint(command)
    seen = await uow.idempotency.lookup(scope, key)
    if seen is not None:
        stored_print, result_id = seen
        if stored_print != print_:
            raise InvalidInput(
                "This idempotencyKey was already used with different input.", field=("idempotencyKey",)
            )
        return result_id, False
    result_id = await create()
    await uow.idempotency.remember(scope, key, print_, result_id)
    return result_id, True
