"""The campaign area's GraphQL enums."""
from __future__ import annotations

from api.common.enums import graphql_enums
from domain.campaign import CampaignMemberStatus, CampaignStatus

CampaignStatusEnum, CampaignMemberStatusEnum = graphql_enums(CampaignStatus, CampaignMemberStatus)
