from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Context
from api.rollout.types import DepartmentRollout


@strawberry.type
class RolloutQuery:
    @strawberry.field(description="Every department's rollout, by department code, so a project manager sees the "
                                  "staggered introduction on one page (any signed-in staff member)")
    async def rollout(self, info: Info[Context, None]) -> list[DepartmentRollout]:
        loaders = info.context.loaders
        found = await info.context.rollout.rollouts()
        for each in found:  # what the fields below load by the department's id: read already
            loaders.department_by_id.prime(each.department.id, each.department)
            loaders.rollout_by_department.prime(each.rollout.id, each.rollout)
        return [DepartmentRollout.from_view(each.rollout) for each in found]
