"""The maturity area's GraphQL enums."""
from __future__ import annotations

from api.common.enums import graphql_enums
from domain.maturity import MaturityLevel

(MaturityLevelEnum,) = graphql_enums(MaturityLevel)
