"""The rollout area's GraphQL enums."""
from __future__ import annotations

from api.common.enums import graphql_enums
from domain.rollout import RolloutPhase

(RolloutPhaseEnum,) = graphql_enums(RolloutPhase)
