"""`require`, which every resolver of a guarded money field calls first (unitCost, profitability, receivables, the
report), so `node`, `_entities` and subscriptions, which resolve the same types, obey the same rule. A denied
field is null with a FORBIDDEN error entry. Who may read is data (api/profitability/access.py, domain/
field_access.py)."""
from __future__ import annotations

import uuid

from strawberry.types import Info

from api.common.errors import forbidden
from api.context import Context
from domain.field_access import GuardedField


async def require(info: Info[Context, None], field: GuardedField, owner_id: uuid.UUID | None = None) -> None:
    """FORBIDDEN unless the caller reads `field` (of a thing `owner_id` owns). ADMINs always do: no read."""
    if info.context.admin:
        return
    actor = info.context.actor
    rules = await info.context.loaders.field_access.load("rules")  # once per request
    if not rules[field].allows(actor, owner_id):
        raise forbidden()
