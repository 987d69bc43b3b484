"""Marketing campaigns: the Campaign aggregate, its members' status machine, and the segment that picks them.

A campaign (name, channel, PLANNED -> ACTIVE -> COMPLETED, or CANCELLED from PLANNED or ACTIVE; dates with
endsOn >= startsOn; a budget as exact Money; an owner) targets customers as its **members**: one per
(campaign, customer), with an optional contact.

A member's status machine (`MEMBER_MOVES`)::

    TARGETED -> SENT -> RESPONDED -> CONVERTED      (forward jumps allowed: TARGETED -> RESPONDED ...)
    any status but OPTED_OUT -> OPTED_OUT            (final)

Rules:

- MembersOnlyMoveForward: a response counts even if "sent" was never recorded (a marketer logs the reply that
  came in, whatever the mailing tool said), so any later status may follow any earlier one; no move goes back
  (a CONVERTED customer does not become RESPONDED again).
- AnOptOutIsFinal: OPTED_OUT is reachable from every status and leads nowhere. A customer who opted out of
  ANY campaign is left out of every later segment, and naming them by id is refused (`OptedOut`, with the field
  of the id): regulators expect the opt-out to hold across campaigns, and a silent skip would leave a
  marketer believing they were added.
- RecordingTheSameStatusChangesNothing: a repeated response (a retry, a re-import) is no error and records no
  event.
- respondedAt is when the member first reached RESPONDED or CONVERTED (a jump straight to CONVERTED counts);
  it is never moved later.
- MembersJoinLiveCampaigns: members are added to PLANNED or ACTIVE campaigns only; responses are recorded on
  any but a CANCELLED one (late replies to a COMPLETED campaign still count).

Who runs campaigns (`may_create_campaign`, `may_run_campaign`; a refusal is `NotAuthorized`, checked before
anything else): MARKETING staff of any role create campaigns (they own what they create); the campaign's owner,
MARKETING's KEY_USERs and MANAGERs, and ADMINs add members, record responses and import members. Everybody reads.

Events (`campaign.<name>`, every one carrying the campaign's name, channel, status and owner): campaign.created,
campaign.status_changed, campaign.members_added (how many, and the segment or ids asked for), and
campaign.response_recorded (one member's move: customer, contact, from, to, note, respondedAt).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.customer import CustomerTier, LifecycleStage, check_tags
from domain.money import Money, normalise_currency, to_decimal
from domain.organisation import Role, Staff
from domain.shared import (
    AggregateRoot,
    DomainEvent,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    published_as,
    require_text,
)

MARKETING_DEPARTMENT = "MARKETING"
MAX_BUDGET = Decimal(10) ** 12
MAX_NAMED_CUSTOMERS = 1000  # customerIds per addCampaignMembers
MAX_SEGMENT_VALUES = 50  # entries of each list of a segment
MAX_NOTE_LENGTH = 2000


class CampaignStatus(StrEnum):
    PLANNED = "PLANNED"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class CampaignMemberStatus(StrEnum):
    TARGETED = "TARGETED"
    SENT = "SENT"
    RESPONDED = "RESPONDED"
    CONVERTED = "CONVERTED"
    OPTED_OUT = "OPTED_OUT"


C = CampaignStatus
CAMPAIGN_MOVES: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    C.PLANNED: frozenset({C.ACTIVE, C.CANCELLED}),
    C.ACTIVE: frozenset({C.COMPLETED, C.CANCELLED}),
    C.COMPLETED: frozenset(),
    C.CANCELLED: frozenset(),
}
OPEN_FOR_MEMBERS = frozenset({C.PLANNED, C.ACTIVE})

M = CampaignMemberStatus
FUNNEL: tuple[CampaignMemberStatus, ...] = (M.TARGETED, M.SENT, M.RESPONDED, M.CONVERTED)  # the forward order
MEMBER_MOVES: dict[CampaignMemberStatus, frozenset[CampaignMemberStatus]] = {
    **{status: frozenset(FUNNEL[i + 1:]) | {M.OPTED_OUT} for i, status in enumerate(FUNNEL)},
    M.OPTED_OUT: frozenset(),
}
RESPONSES = frozenset({M.RESPONDED, M.CONVERTED})  # reaching one of these sets respondedAt


class OptedOut(InvalidInput):
    """The customer opted out of a campaign: not to be targeted again."""


def may_create_campaign(actor: Staff, department_code: str | None) -> bool:
    """Rule MarketingRunsCampaigns (and ADMINs)."""
    return actor.active and (actor.is_admin or department_code == MARKETING_DEPARTMENT)


def may_run_campaign(actor: Staff, department_code: str | None, owner_id: uuid.UUID | None) -> bool:
    """Rule TheOwnerOrMarketingsKeyUsersAndManagersRunACampaign (and ADMINs): add members, record responses,
    import members."""
    if not actor.active:
        return False
    if actor.is_admin or (owner_id is not None and owner_id == actor.id):
        return True
    return department_code == MARKETING_DEPARTMENT and actor.role.at_least(Role.KEY_USER)


@dataclass(frozen=True)
class Segment:
    """Which customers a campaign targets: every given condition must hold; within one condition any of its values
    will do (a tier of the list, a stage of the list, at least one of the tags, an owner of the list).
    `inactive_since`: no interaction recorded (occurred) at or after that moment. Opted-out customers are never
    in a segment."""

    tiers: tuple[CustomerTier, ...] = ()
    stages: tuple[LifecycleStage, ...] = ()
    tags: tuple[str, ...] = ()
    owner_ids: tuple[uuid.UUID, ...] = ()
    inactive_since: datetime | None = None

    @classmethod
    def of(cls, *, tiers: list[Any] | None = None, stages: list[Any] | None = None, tags: list[str] | None = None,
           owner_ids: list[uuid.UUID] | None = None, inactive_since: datetime | None = None) -> "Segment":
        """Rules: ASegmentHasAtLeastOneCondition (an empty one would be every customer); at most 50 values per
        list; an aware inactiveSince. Fields are reported as ("segment", "<condition>")."""
        for name, values in (("tiers", tiers), ("lifecycleStages", stages), ("tags", tags), ("ownerIds", owner_ids)):
            if values is not None and len(values) > MAX_SEGMENT_VALUES:
                raise InvalidInput(f"A segment takes at most {MAX_SEGMENT_VALUES} {name}.", field=("segment", name))
        if inactive_since is not None and (inactive_since.tzinfo is None or inactive_since.utcoffset() is None):
            raise InvalidInput("inactiveSince needs a time-zone offset.", field=("segment", "inactiveSince"))
        try:
            clean_tags = tuple(check_tags(list(tags or [])))
        except InvalidInput as err:
            raise InvalidInput(err.message, field=("segment", *(err.field or ()))) from None
        segment = cls(tiers=tuple(dict.fromkeys(CustomerTier(t) for t in tiers or ())),
                      stages=tuple(dict.fromkeys(LifecycleStage(s) for s in stages or ())), tags=clean_tags,
                      owner_ids=tuple(dict.fromkeys(owner_ids or ())), inactive_since=inactive_since)
        if segment.empty:
            raise InvalidInput("A segment needs at least one condition (tiers, lifecycleStages, tags, ownerIds or "
                               "inactiveSince); an empty one would be every customer.", field=("segment",))
        return segment

    @property
    def empty(self) -> bool:
        return not (self.tiers or self.stages or self.tags or self.owner_ids or self.inactive_since)

    def published(self) -> dict[str, Any]:
        return {"tiers": [t.value for t in self.tiers], "lifecycleStages": [s.value for s in self.stages],
                "tags": list(self.tags), "ownerIds": [str(o) for o in self.owner_ids],
                "inactiveSince": self.inactive_since.isoformat() if self.inactive_since else None}


@dataclass(eq=False, kw_only=True)
class CampaignMember:
    """One customer targeted by one campaign (not an aggregate of its own: its moves are the campaign's events)."""

    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None = None
    status: CampaignMemberStatus = CampaignMemberStatus.TARGETED
    responded_at: datetime | None = None
    added_at: datetime
    updated_at: datetime

    def may_become(self, to: CampaignMemberStatus) -> bool:
        return to in MEMBER_MOVES[self.status]

    def _move(self, to: CampaignMemberStatus, at: datetime) -> bool:
        """Rules MembersOnlyMoveForward, AnOptOutIsFinal, RecordingTheSameStatusChangesNothing (False)."""
        if to is self.status:
            return False
        if not self.may_become(to):
            raise ForbiddenTransition.listing(f"This member is {self.status.value} and cannot become {to.value}: "
                                              "a member's status only moves forward.", self.status,
                                              MEMBER_MOVES[self.status], field=("status",))
        self.status, self.updated_at = to, at
        if to in RESPONSES and self.responded_at is None:
            self.responded_at = at
        return True


@dataclass(eq=False, kw_only=True)
class Campaign(AggregateRoot):
    aggregate_type = "campaign"

    name: str
    channel: str
    status: CampaignStatus = CampaignStatus.PLANNED
    starts_on: date | None = None
    ends_on: date | None = None
    budget: Money | None = None
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def plan(cls, *, by: Staff, department_code: str | None, name: str, channel: str, starts_on: date | None,
             ends_on: date | None, budget_amount: object | None, budget_currency: str | None,
             at: datetime) -> "Campaign":
        """A PLANNED campaign owned by `by`. Rules: MarketingRunsCampaigns (NotAuthorized, first); a name (200) and
        a channel (50); EndsOnOrAfterItStarts; ABudgetIsExactAndNotNegative (rounded half-even to the currency's
        minor unit, below 10^12)."""
        if not may_create_campaign(by, department_code):
            raise NotAuthorized("Only marketing staff (or an administrator) create campaigns.")
        clean_name = require_text(name, "name", max_length=200) or ""
        clean_channel = require_text(channel, "channel", max_length=50) or ""
        if starts_on is not None and ends_on is not None and ends_on < starts_on:
            raise InvalidInput("endsOn must not be before startsOn.", field=("endsOn",))
        campaign = cls(id=uuid.uuid4(), name=clean_name, channel=clean_channel, starts_on=starts_on, ends_on=ends_on,
                       budget=_budget(budget_amount, budget_currency), owner_id=by.id, created_at=at, updated_at=at)
        budget = campaign.budget
        campaign.record(CampaignCreated(**campaign._about(at, by.id), starts_on=_day(starts_on),
                                        ends_on=_day(ends_on), budget=f"{budget.amount:f}" if budget else None,
                                        currency=budget.currency if budget else None))
        return campaign

    def require_runner(self, actor: Staff, department_code: str | None) -> None:
        if not may_run_campaign(actor, department_code, self.owner_id):
            raise NotAuthorized("Only the campaign's owner, marketing's key users and managers (or an administrator) "
                                "run a campaign.")

    def transition(self, to: CampaignStatus, *, at: datetime, by: uuid.UUID | None) -> None:
        """Along CAMPAIGN_MOVES (PLANNED -> ACTIVE -> COMPLETED, CANCELLED from PLANNED or ACTIVE)."""
        if to not in CAMPAIGN_MOVES[self.status]:
            raise ForbiddenTransition.listing(f"Campaign {self.name} is {self.status.value} and cannot become "
                                              f"{to.value}.", self.status, CAMPAIGN_MOVES[self.status],
                                              field=("status",))
        previous, self.status, self.updated_at = self.status, to, at
        self.record(CampaignStatusChanged(**self._about(at, by), from_=previous, to=to))

    def require_open_for_members(self) -> None:
        """Rule MembersJoinLiveCampaigns."""
        if self.status not in OPEN_FOR_MEMBERS:
            raise InvalidInput(f"Campaign {self.name} is {self.status.value}: members join PLANNED or ACTIVE "
                               "campaigns only.", field=("campaignId",))

    def members_added(self, added: int, *, segment: Segment | None, customer_ids: tuple[uuid.UUID, ...],
                      at: datetime, by: uuid.UUID | None) -> None:
        """Record that `added` new members joined (nothing when none did)."""
        if added:
            self.record(CampaignMembersAdded(**self._about(at, by), added=added,
                                             segment=segment.published() if segment else None,
                                             customer_ids=[str(i) for i in customer_ids]))

    def new_member(self, customer_id: uuid.UUID, *, contact_id: uuid.UUID | None, at: datetime) -> CampaignMember:
        self.require_open_for_members()
        return CampaignMember(campaign_id=self.id, customer_id=customer_id, contact_id=contact_id, added_at=at,
                              updated_at=at)

    def record_response(self, member: CampaignMember, to: CampaignMemberStatus, *, at: datetime, by: uuid.UUID | None,
                        note: str | None = None) -> bool:
        """Move `member` (of this campaign) to `to`; False when it is there already (nothing recorded).
        Rules: not on a CANCELLED campaign; the member rules (module docstring); a note of at most 2,000."""
        assert member.campaign_id == self.id
        if self.status is CampaignStatus.CANCELLED:
            raise InvalidInput(f"Campaign {self.name} was cancelled; it records no responses.", field=("campaignId",))
        clean_note = require_text(note, "note", max_length=MAX_NOTE_LENGTH, required=False)
        previous = member.status
        if not member._move(to, at):
            return False
        self.record(CampaignResponseRecorded(**self._about(at, by), customer_id=member.customer_id,
                                             contact_id=member.contact_id, from_=previous, to=to, note=clean_note,
                                             responded_at=member.responded_at))
        return True

    def _about(self, at: datetime, by: uuid.UUID | None) -> dict[str, Any]:
        return {"aggregate_id": self.id, "occurred_at": at, "actor_id": by, "name": self.name,
                "channel": self.channel, "status": self.status, "owner_id": self.owner_id}


def _budget(amount: object | None, currency: str | None) -> Money | None:
    if amount is None and currency is None:
        return None
    if amount is None:
        raise InvalidInput("budget needs an amount.", field=("budget", "amount"))
    value = to_decimal(amount, "amount")
    if value < 0 or value >= MAX_BUDGET:
        raise InvalidInput(f"budget must be from 0 to below {MAX_BUDGET:,}.", field=("budget", "amount"))
    try:
        code = normalise_currency(currency)
    except InvalidInput as err:
        raise InvalidInput(err.message, field=("budget", "currency")) from None
    return Money(value, code)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


# ----------------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class CampaignEvent(DomainEvent):
    """What every campaign event carries: the campaign as the event left it."""

    aggregate_type = "campaign"

    name: str
    channel: str
    status: CampaignStatus
    owner_id: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class CampaignCreated(CampaignEvent):
    event_name = "created"
    starts_on: str | None  # ISO dates
    ends_on: str | None
    budget: str | None  # the exact decimal, as text
    currency: str | None


@dataclass(frozen=True, kw_only=True)
class CampaignStatusChanged(CampaignEvent):
    event_name = "status_changed"
    from_: CampaignStatus = published_as("from")
    to: CampaignStatus


@dataclass(frozen=True, kw_only=True)
class CampaignMembersAdded(CampaignEvent):
    event_name = "members_added"
    added: int
    segment: dict[str, Any] | None
    customer_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CampaignResponseRecorded(CampaignEvent):
    event_name = "response_recorded"
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None
    from_: CampaignMemberStatus = published_as("from")
    to: CampaignMemberStatus
    note: str | None
    responded_at: datetime | None
