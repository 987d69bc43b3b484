"""Use case: an ADMIN adjusts a maturity threshold (the thresholds and the levels: domain/maturity.py)."""
from __future__ import annotations

from application.ports import Clock, MaturityThresholdStore
from domain.maturity import check_threshold, limits_with
from domain.organisation import Staff
from domain.shared import NotAuthorized


async def set_maturity_threshold(store: MaturityThresholdStore, clock: Clock, actor: Staff, key: str,
                                 value: float | None) -> dict[str, float]:
    """Every threshold's value after setting `key`'s (None: back to its default). Raises NotAuthorized (not an
    active ADMIN) and InvalidInput (no such key; a negative value, a share above 1)."""
    if not (actor.active and actor.is_admin):
        raise NotAuthorized("Only an ADMIN adjusts the maturity thresholds.")
    checked = check_threshold(key, value)
    await store.save(key, checked, actor, clock.now())
    return limits_with(await store.stored())
