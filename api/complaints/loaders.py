"""What a reader may see of complaints: their `ComplaintScope`, for the request's loaders (api/context.py) and
the fast path (api/fast_path.py)."""
from __future__ import annotations

import uuid
from typing import Any

from application.queries.complaints import ComplaintScope
from application.queries.views import OrganisationQueries

# A department's code never changes (departments come with the migrations; no operation renames one), so each
# process looks a department's code up once, not on every request that reads complaints.
_DEPARTMENT_CODES: dict[uuid.UUID, str | None] = {}


async def scope_of(organisation: OrganisationQueries, actor: Any) -> ComplaintScope:
    if actor is None:  # pragma: no cover - every operation is authenticated
        raise PermissionError("no actor")
    if actor.department_id not in _DEPARTMENT_CODES:
        (department,) = await organisation.departments_by_ids([actor.department_id])
        if department is None:
            return ComplaintScope.of(actor, None)
        _DEPARTMENT_CODES[actor.department_id] = department.code
    return ComplaintScope.of(actor, _DEPARTMENT_CODES[actor.department_id])
