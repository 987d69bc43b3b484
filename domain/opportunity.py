"""The sales pipeline: configurable stages and the Opportunity aggregate (a deal sales works on before an
order exists).

Stages are data (`OpportunityStage`): a name, a position on the board, a default probability (0..100) and a
kind. OPEN stages are the pipeline proper; a WON stage (probability 100) and a LOST stage (probability 0) close
the deal (rule ClosedStagesAreCertain).

An opportunity's probability is its stage's default unless it was set (at creation, or by an update). Rule
AMoveResetsTheProbability: every move sets the probability to the new stage's default, whether or not it was
set before; an estimate belongs to the stage it was made in, and a forecast must not carry a 90 % guessed in
Qualification into Negotiation. Set it again after the move (updateOpportunity) to override the new default.

`weighted_amount` is amount x probability / 100, rounded half-even to the currency's minor unit once.

Moves (`move`):

- to the stage it is in: `ForbiddenTransition`;
- from a WON stage: `ForbiddenTransition` (WonDealsAreFinal: the order exists; its life goes on as an order);
- to a LOST stage: needs a `lost_reason` (ALostDealSaysWhy); a LOST deal may be reopened to an OPEN stage
  (the reason is cleared) or won;
- to a WON stage: records `OpportunityWon`, whose handler (application/opportunities.py
  `won_deal_becomes_an_order`) creates the DRAFT order in the same transaction, with the given lines or the
  amount as one line (SKU: the opportunity's number, quantity 1). The order's id is fixed by the move
  (`order_id`), so the link and the order are written together or not at all.

An order cancelled later leaves the deal WON (rule AWonDealStaysWon): winning is a sales fact (the customer
said yes) and the forecast's won amounts are what sales closed; a cancellation is the order's story, visible on
the order and in the customer's activity. To reopen the pipeline, create a new opportunity.

Who (`may_sell`, `may_edit`, `may_define_stages`; refusals are `NotAuthorized`, checked before the version and
the rules): SALES staff (any role) and ADMINs create opportunities; the owner, SALES key users and managers,
and ADMINs update and move them; SALES key users and managers and ADMINs define stages. Everybody reads.

Events (`opportunity.<name>`): created, updated, stage_changed (a move to an OPEN stage), won, lost. Each carries
the opportunity as the event left it (`_about`), so a subscriber filters on the event's state.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.money import Money, normalise_currency, to_decimal
from domain.order import LIMIT, MAX_LINES, OrderLine
from domain.organisation import Role, Staff
from domain.shared import (
    AggregateRoot,
    DomainEvent,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    coerce_choice,
    published_as,
    require_text,
    unpublished,
)

NUMBER_PREFIX = "OPP-"
SALES_DEPARTMENT = "SALES"
MAX_NAME = 200
MAX_STAGE_NAME = 60
MAX_POSITION = 1000
MAX_LOST_REASON = 1000


class OpportunityStageKind(StrEnum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


CLOSED_PROBABILITY = {OpportunityStageKind.WON: 100, OpportunityStageKind.LOST: 0}


def opportunity_number(sequence_value: int) -> str:
    """OPP-000042: six digits at least, more once the sequence passes a million."""
    return f"{NUMBER_PREFIX}{sequence_value:06d}"


def may_define_stages(actor: Staff, department_code: str | None) -> bool:
    """Rule: SalesKeyUsersAndManagersDefineStages (and ADMINs)."""
    return actor.active and (actor.is_admin or (department_code == SALES_DEPARTMENT
                                                and actor.role.at_least(Role.KEY_USER)))


def may_sell(actor: Staff, department_code: str | None) -> bool:
    """Rule: SalesStaffCreateOpportunities (any role; and ADMINs)."""
    return actor.active and (actor.is_admin or department_code == SALES_DEPARTMENT)


def may_edit(actor: Staff, department_code: str | None, owner_id: uuid.UUID | None) -> bool:
    """Rule: OwnersAndSalesLeadsEditOpportunities: the owner, SALES key users and managers, ADMINs."""
    if not actor.active:
        return False
    return actor.is_admin or owner_id == actor.id or (department_code == SALES_DEPARTMENT
                                                      and actor.role.at_least(Role.KEY_USER))


def check_probability(value: object, field_name: str = "probability") -> int:
    """0..100, a whole percentage."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidInput(f"{field_name} must be a whole number from 0 to 100.", field=(field_name,))
    return value


@dataclass(frozen=True, kw_only=True)
class OpportunityStage:
    id: uuid.UUID
    name: str
    position: int
    probability: int
    kind: OpportunityStageKind

    @classmethod
    def define(cls, *, name: str, position: object, probability: object, kind: object,
               by: Staff, department_code: str | None) -> "OpportunityStage":
        """Rules: SalesKeyUsersAndManagersDefineStages; ProbabilitiesAreZeroToOneHundred; ClosedStagesAreCertain
        (WON 100, LOST 0); positions 0..1000."""
        if not may_define_stages(by, department_code):
            raise NotAuthorized("Only sales key users and managers (or an administrator) define stages.")
        stage_kind = coerce_choice(OpportunityStageKind, kind, "kind")
        chance = check_probability(probability)
        if stage_kind in CLOSED_PROBABILITY and chance != CLOSED_PROBABILITY[stage_kind]:
            raise InvalidInput(f"A {stage_kind.value} stage has probability {CLOSED_PROBABILITY[stage_kind]}.",
                               field=("probability",))
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= MAX_POSITION:
            raise InvalidInput(f"position must be a whole number from 0 to {MAX_POSITION}.", field=("position",))
        return cls(id=uuid.uuid4(), name=require_text(name, "name", max_length=MAX_STAGE_NAME) or "",
                   position=position, probability=chance, kind=stage_kind)

    @property
    def closed(self) -> bool:
        return self.kind is not OpportunityStageKind.OPEN


@dataclass(frozen=True, kw_only=True)
class StageChange:
    from_stage_id: uuid.UUID | None
    to_stage_id: uuid.UUID
    at: datetime
    by: uuid.UUID | None


def _money(amount: object, currency: object, where: str = "amount") -> Money:
    try:
        money = Money(to_decimal(amount, "amount"), normalise_currency(currency if isinstance(currency, str)
                                                                         else None))
    except InvalidInput as err:
        raise InvalidInput(err.message, field=(where, *(err.field or ()))) from None
    if money.amount < 0:
        raise InvalidInput("amount must not be negative.", field=(where, "amount"))
    if money.amount >= LIMIT:
        raise InvalidInput("amount is too large.", field=(where, "amount"))
    return money


def _name(value: str | None) -> str:
    return require_text(value, "name", max_length=MAX_NAME) or ""


@dataclass(eq=False, kw_only=True)
class Opportunity(AggregateRoot):
    aggregate_type = "opportunity"

    number: str
    name: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    department_id: uuid.UUID
    stage: OpportunityStage
    amount: Money
    probability: int
    expected_close_date: date | None = None
    campaign_id: uuid.UUID | None = None
    lost_reason: str | None = None
    order_id: uuid.UUID | None = None
    history: list[StageChange] = field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def open(cls, *, number: str, name: str, customer_id: uuid.UUID, owner: Staff, stage: OpportunityStage,
             amount: object, currency: object, probability: object | None = None,
             expected_close_date: date | None = None, campaign_id: uuid.UUID | None = None,
             by: Staff, department_code: str | None, at: datetime) -> "Opportunity":
        """A new deal in `stage` (an OPEN one: deals are won or lost by moving them). Rules:
        SalesStaffCreateOpportunities; AmountsAreExactAndNotNegative; ProbabilitiesAreZeroToOneHundred
        (default: the stage's); NewDealsStartOpen."""
        if not may_sell(by, department_code):
            raise NotAuthorized("Only sales staff (or an administrator) create opportunities.")
        if stage.closed:
            raise InvalidInput("A new opportunity starts in an OPEN stage; move it to win or lose it.",
                               field=("stageId",))
        opportunity = cls(
            id=uuid.uuid4(), number=number, name=_name(name), customer_id=customer_id, owner_id=owner.id,
            department_id=owner.department_id, stage=stage, amount=_money(amount, currency),
            probability=stage.probability if probability is None else check_probability(probability),
            expected_close_date=expected_close_date, campaign_id=campaign_id, created_at=at, updated_at=at,
            history=[StageChange(from_stage_id=None, to_stage_id=stage.id, at=at, by=by.id)])
        opportunity.record(OpportunityCreated(**opportunity._about(at, by.id)))
        return opportunity

    # ----------------------------------------------------------------- derived

    @property
    def weighted_amount(self) -> Money:
        """amount x probability / 100, half-even to the currency's minor unit."""
        return self.amount.times(Decimal(self.probability) / Decimal(100))

    @property
    def versioned_state(self) -> tuple[Any, ...]:
        return (self.name, self.owner_id, self.department_id, self.stage.id, self.amount, self.probability,
                self.expected_close_date, self.lost_reason, self.order_id)

    # ----------------------------------------------------------------- changes

    def require_editor(self, actor: Staff, department_code: str | None) -> None:
        if not may_edit(actor, department_code, self.owner_id):
            raise NotAuthorized("Only the owner, sales key users and managers (or an administrator) change "
                                "this opportunity.")

    def update(self, *, by: Staff, department_code: str | None, at: datetime, expected_version: int | None = None,
               name: str | None = None, amount: tuple[object, object] | None = None,
               probability: object | None = None, expected_close_date: date | None = None,
               owner: Staff | None = None) -> bool:
        """Change what is given (None: unchanged). Rules: OwnersAndSalesLeadsEditOpportunities;
        ClosedDealsKeepTheirNumbers (a WON or LOST deal's amount and probability stay as closed).
        False (no event, no version bump) when nothing changes."""
        self.require_editor(by, department_code)
        self.check_version(expected_version)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = _name(name)
        if amount is not None:
            changes["amount"] = _money(*amount)
        if probability is not None:
            changes["probability"] = check_probability(probability)
        if expected_close_date is not None:
            changes["expected_close_date"] = expected_close_date
        if owner is not None:
            if not owner.active:
                raise InvalidInput("The owner must be an active staff member.", field=("ownerId",))
            changes["owner_id"] = owner.id
            changes["department_id"] = owner.department_id
        changed = [key for key, value in changes.items() if getattr(self, key) != value]
        if self.stage.closed:
            for key in ("amount", "probability"):
                if key in changed:
                    raise ForbiddenTransition(f"Opportunity {self.number} is {self.stage.kind.value}; its {key} "
                                              "stays as it was closed.", field=(key,))
        if not changed:
            return False
        for key in changed:
            setattr(self, key, changes[key])
        self.updated_at = at
        published = sorted({"department_id": "owner_id"}.get(key, key) for key in changed)
        self.record(OpportunityUpdated(**self._about(at, by.id), changed=[_camel(k) for k in published]))
        return True

    def move(self, to: OpportunityStage, *, by: Staff, department_code: str | None, at: datetime,
             expected_version: int | None = None, lost_reason: str | None = None,
             order_lines: list[dict[str, Any]] | None = None) -> None:
        """Move to another stage (see the module docstring for the rules). `order_lines` (dicts of
        OrderLine.create's keyword arguments but the currency) are for a move to WON only; checked here, so a
        bad line is a userError at ("orderLines", "<i>", "<field>") before anything is written."""
        self.require_editor(by, department_code)
        self.check_version(expected_version)
        if to.id == self.stage.id:
            raise ForbiddenTransition(f"Opportunity {self.number} is in {self.stage.name} already.", field=("stageId",))
        if self.stage.kind is OpportunityStageKind.WON:
            raise ForbiddenTransition(f"Opportunity {self.number} is won; a won deal is final (its order goes on).",
                                      field=("stageId",))
        reason = require_text(lost_reason, "lostReason", max_length=MAX_LOST_REASON, required=False)
        if to.kind is OpportunityStageKind.LOST and reason is None:
            raise InvalidInput("Say why the deal was lost (lostReason).", field=("lostReason",))
        if to.kind is not OpportunityStageKind.LOST and reason is not None:
            raise InvalidInput("lostReason is for a move to a LOST stage.", field=("lostReason",))
        if order_lines is not None and to.kind is not OpportunityStageKind.WON:
            raise InvalidInput("orderLines are for a move to a WON stage.", field=("orderLines",))
        lines = self._order_lines(order_lines) if to.kind is OpportunityStageKind.WON else []
        previous = self.stage
        self.stage, self.probability, self.lost_reason, self.updated_at = to, to.probability, reason, at
        self.history.append(StageChange(from_stage_id=previous.id, to_stage_id=to.id, at=at, by=by.id))
        if to.kind is OpportunityStageKind.WON:
            self.order_id = uuid.uuid4()
        moved = {**self._about(at, by.id), "from_stage_id": previous.id, "from_stage": previous.name}
        if to.kind is OpportunityStageKind.WON:
            self.record(OpportunityWon(**moved, order_lines=lines))
        elif to.kind is OpportunityStageKind.LOST:
            self.record(OpportunityLost(**moved, lost_reason=reason or ""))
        else:
            self.record(OpportunityStageChanged(**moved))

    def _order_lines(self, given: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        """The won deal's order lines, checked as the order will check them; the amount as one line if none."""
        currency = self.amount.currency
        if given is None:
            return [{"sku": self.number, "description": self.name, "quantity": Decimal(1),
                     "unit_price": self.amount.amount, "discount_percent": None}]
        if not given:
            raise InvalidInput("Give at least one order line, or none at all for the amount as one line.",
                               field=("orderLines",))
        if len(given) > MAX_LINES:
            raise InvalidInput(f"An order has at most {MAX_LINES} lines.", field=("orderLines",))
        total = Money.zero(currency)
        for i, line in enumerate(given):
            try:
                total = total + OrderLine.create(i, currency=currency, **line).line_total
            except InvalidInput as err:
                raise InvalidInput(err.message, field=("orderLines", *(err.field or ())[1:])) from None
        if total.amount >= LIMIT:
            raise InvalidInput("The order total is too large.", field=("orderLines",))
        return given

    def _about(self, at: datetime, by: uuid.UUID | None) -> dict[str, Any]:
        return {"aggregate_id": self.id, "occurred_at": at, "actor_id": by, "number": self.number,
                "name": self.name, "customer_id": self.customer_id, "owner_id": self.owner_id,
                "department_id": self.department_id, "stage_id": self.stage.id, "stage": self.stage.name,
                "stage_kind": self.stage.kind, "amount": f"{self.amount.amount:f}", "currency": self.amount.currency,
                "probability": self.probability, "weighted_amount": f"{self.weighted_amount.amount:f}",
                "expected_close_date": self.expected_close_date.isoformat() if self.expected_close_date else None,
                "campaign_id": self.campaign_id, "order_id": self.order_id}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# ----------------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class OpportunityEvent(DomainEvent):
    """The opportunity as the event left it."""

    aggregate_type = "opportunity"

    number: str
    name: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    department_id: uuid.UUID
    stage_id: uuid.UUID
    stage: str
    stage_kind: OpportunityStageKind
    amount: str  # the exact decimal, as text
    currency: str
    probability: int
    weighted_amount: str
    expected_close_date: str | None  # ISO 8601 date
    campaign_id: uuid.UUID | None
    order_id: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class OpportunityCreated(OpportunityEvent):
    event_name = "created"


@dataclass(frozen=True, kw_only=True)
class OpportunityUpdated(OpportunityEvent):
    event_name = "updated"
    changed: list[str]


@dataclass(frozen=True, kw_only=True)
class OpportunityMoved(OpportunityEvent):
    """A move to another stage; the subclass names the kind of stage it reached."""

    from_stage_id: uuid.UUID = published_as("fromStageId")
    from_stage: str


@dataclass(frozen=True, kw_only=True)
class OpportunityStageChanged(OpportunityMoved):
    event_name = "stage_changed"


@dataclass(frozen=True, kw_only=True)
class OpportunityWon(OpportunityMoved):
    """Its handler creates the DRAFT order `order_id` with `order_lines` in the same transaction."""

    event_name = "won"
    order_lines: list[dict[str, Any]] = unpublished()


@dataclass(frozen=True, kw_only=True)
class OpportunityLost(OpportunityMoved):
    event_name = "lost"
    lost_reason: str
