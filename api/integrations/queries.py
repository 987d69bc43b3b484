from __future__ import annotations

import asyncio

import strawberry
from strawberry.types import Info

from api.common.errors import forbidden
from api.context import Context
from api.integrations.types import IntegrationHealth
from domain.organisation import Role


@strawberry.type
class IntegrationQuery:
    @strawberry.field(description="Health of every joined system; for key users, managers and admins")
    async def integrations(self, info: Info[Context, None]) -> list[IntegrationHealth]:
        actor = info.context.actor
        if not actor.role.at_least(Role.KEY_USER):
            raise forbidden()
        reporters = info.context.health_reporters
        reports = await asyncio.gather(*(r.health() for r in reporters))
        return [IntegrationHealth.from_view(v, detailed=actor.is_admin) for report in reports for v in report]
