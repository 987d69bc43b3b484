"""The sales pipeline's GraphQL enums."""
from __future__ import annotations

from api.common.enums import graphql_enums
from application.queries.opportunities import ForecastGroup
from domain.opportunity import OpportunityStageKind

OpportunityStageKindEnum, ForecastGroupEnum = graphql_enums(OpportunityStageKind, ForecastGroup)
