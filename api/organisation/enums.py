"""The organisation's GraphQL enums."""
from __future__ import annotations

import strawberry

from domain.organisation import Role

RoleEnum = strawberry.enum(Role, name="Role", description="MEMBER < KEY_USER < MANAGER < ADMIN")
