"""The sales Order aggregate: lines with exact money, its status machine, and the advance-payment
state an approval workflow drives.

Status machine (`ORDER_MOVES`)::

    DRAFT -> CONFIRMED -> IN_FULFILLMENT -> SHIPPED -> INVOICED -> PAID
    DRAFT | CONFIRMED -> CANCELLED

Every other move, including staying put, is a `ForbiddenTransition`. Confirming sets `placed_at`
(the moment the customer's order counts as placed) and needs at least one line. PAID and CANCELLED
are final.

Who moves an order (`may_move_order`; a refusal is `NotAuthorized`, checked before the version and
the machine, so it never depends on the order's state): each target status belongs to the department
that does that work --

- SALES confirms and cancels (CONFIRMED, CANCELLED); so does the order's owner, whatever their
  department (a key-account manager elsewhere still owns their orders);
- WAREHOUSE picks and ships (IN_FULFILLMENT, SHIPPED);
- FINANCE invoices and books the payment (INVOICED, PAID);
- ADMINs move any order anywhere the machine allows.

Any role within the department may (the department, not seniority, owns the step). No move leads
back to DRAFT, so asking for it is a `ForbiddenTransition` for anybody.

Events: each move records one event named after the new status, `order.<status in lower case>` --
order.confirmed, order.in_fulfillment, order.shipped, order.invoiced, order.paid, order.cancelled --
whose payload carries `from` and `to` beside the order as the event left it (number, customer, owner,
currency, total, status, advancePayment, placedAt; `_about`, on every order event). One type per status lets webhooks and the event feed subscribe to exactly what they
care about (`order.shipped`) or to all of them (`order.*`).

The advance payment moves NONE -> REQUESTED (the advance-payment workflow started) -> APPROVED or
REJECTED (the workflow ended); cancelling that workflow withdraws the request (back to NONE), and a
rejected request may be asked for again.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.money import MAX_DIGITS_BEFORE_POINT, Money, normalise_currency, plain, to_decimal
from domain.organisation import Staff
from domain.shared import (
    AggregateRoot,
    DomainEvent,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    published_as,
    require_text,
)

MAX_LINES = 500
MAX_QUANTITY = Decimal(1_000_000_000)
MAX_QUANTITY_DECIMALS = 6
MAX_DISCOUNT_DECIMALS = 4
MAX_UNIT_PRICE = Decimal(10) ** 12
LIMIT = Decimal(10) ** MAX_DIGITS_BEFORE_POINT
NUMBER_PREFIX = "SO-"


class OrderStatus(StrEnum):
    DRAFT = "DRAFT"
    CONFIRMED = "CONFIRMED"
    IN_FULFILLMENT = "IN_FULFILLMENT"
    SHIPPED = "SHIPPED"
    INVOICED = "INVOICED"
    PAID = "PAID"
    CANCELLED = "CANCELLED"


class AdvancePaymentStatus(StrEnum):
    NONE = "NONE"
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    RECEIVED = "RECEIVED"


AP = AdvancePaymentStatus
# Which advance-payment moves are allowed, and why each exists.
ADVANCE_PAYMENT_MOVES: dict[AdvancePaymentStatus, frozenset[AdvancePaymentStatus]] = {
    AP.NONE: frozenset({AP.REQUESTED}),  # the approval workflow started
    AP.REQUESTED: frozenset({AP.APPROVED, AP.REJECTED, AP.NONE}),  # it completed, was rejected, was cancelled
    AP.REJECTED: frozenset({AP.REQUESTED}),  # asked again, e.g. for a smaller amount
    AP.APPROVED: frozenset(),
    AP.RECEIVED: frozenset(),
}
CLOSED_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.CANCELLED})

S = OrderStatus
# The status machine: where an order may go from each status.
ORDER_MOVES: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.DRAFT: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.IN_FULFILLMENT, S.CANCELLED}),
    S.IN_FULFILLMENT: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.INVOICED}),
    S.INVOICED: frozenset({S.PAID}),
    S.PAID: frozenset(),
    S.CANCELLED: frozenset(),
}
BOARD_STATUSES: tuple[OrderStatus, ...] = tuple(OrderStatus)  # Kanban columns, in status order

SALES_DEPARTMENT, WAREHOUSE_DEPARTMENT, FINANCE_DEPARTMENT = "SALES", "WAREHOUSE", "FINANCE"
# Which department's work each target status is.
RESPONSIBLE_DEPARTMENT: dict[OrderStatus, str] = {
    S.CONFIRMED: SALES_DEPARTMENT,
    S.CANCELLED: SALES_DEPARTMENT,
    S.IN_FULFILLMENT: WAREHOUSE_DEPARTMENT,
    S.SHIPPED: WAREHOUSE_DEPARTMENT,
    S.INVOICED: FINANCE_DEPARTMENT,
    S.PAID: FINANCE_DEPARTMENT,
}


def status_event_type(status: OrderStatus) -> str:
    """The event an order records on reaching `status`: order.confirmed, order.in_fulfillment ..."""
    return f"order.{status.value.lower()}"


STATUS_EVENT_TYPES: frozenset[str] = frozenset(status_event_type(s) for s in OrderStatus if s is not OrderStatus.DRAFT)


def may_move_order(actor: Staff, department_code: str | None, owner_id: uuid.UUID | None, to: OrderStatus) -> bool:
    """Rules: SalesConfirmsAndCancels (and the order's owner); TheWarehouseFulfilsAndShips;
    FinanceInvoicesAndBooksPayments; AdminsMoveAnything. A target no move leads to (DRAFT) is left to the
    status machine to refuse."""
    if not actor.active:
        return False
    if actor.is_admin:
        return True
    department = RESPONSIBLE_DEPARTMENT.get(to)
    if department is None:
        return True
    if department_code == department:
        return True
    return department == SALES_DEPARTMENT and owner_id is not None and owner_id == actor.id


def order_number(sequence_value: int) -> str:
    """SO-000042: six digits at least, more once the sequence passes a million."""
    return f"{NUMBER_PREFIX}{sequence_value:06d}"


def _decimals(number: Decimal) -> int:
    exponent = plain(number).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@dataclass(frozen=True)
class OrderLine:
    """One line: quantity x unit price, less a discount. Built through `create`, which validates."""

    sku: str
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal = Decimal(0)

    @classmethod
    def create(cls, index: int, *, sku: str, description: str | None, quantity: object, unit_price: object,
               discount_percent: object | None, currency: str) -> "OrderLine":
        """Rules: QuantitiesArePositive (at most 6 decimals); PricesAreNotNegative (rounded half-even to the
        currency's minor unit); DiscountsAreFromZeroToOneHundredPercent (at most 4 decimals); plus bounds.
        Fields are reported as ("lines", "<index>", "<field>")."""
        where = ("lines", str(index))
        try:
            clean_sku = require_text(sku, "sku", max_length=64) or ""
            text = require_text(description, "description", max_length=500, required=False) or ""
            qty = to_decimal(quantity, "quantity")
            if qty <= 0:
                raise InvalidInput("quantity must be greater than 0.", field=("quantity",))
            if qty > MAX_QUANTITY or _decimals(qty) > MAX_QUANTITY_DECIMALS:
                raise InvalidInput(f"quantity may be at most {MAX_QUANTITY:,} with at most "
                                   f"{MAX_QUANTITY_DECIMALS} decimals.", field=("quantity",))
            price = to_decimal(unit_price, "unitPrice")
            if price < 0:
                raise InvalidInput("unitPrice must not be negative.", field=("unitPrice",))
            if price >= MAX_UNIT_PRICE:
                raise InvalidInput(f"unitPrice must be below {MAX_UNIT_PRICE:,}.", field=("unitPrice",))
            discount = Decimal(0) if discount_percent is None else to_decimal(discount_percent, "discountPercent")
            if not Decimal(0) <= discount <= Decimal(100) or _decimals(discount) > MAX_DISCOUNT_DECIMALS:
                raise InvalidInput("discountPercent must be from 0 to 100, with at most "
                                   f"{MAX_DISCOUNT_DECIMALS} decimals.", field=("discountPercent",))
            line = cls(sku=clean_sku, description=text, quantity=plain(qty), unit_price=Money(price, currency),
                       discount_percent=plain(discount))
            if abs(line.line_total.amount) >= LIMIT:
                raise InvalidInput("The line total is too large.", field=("quantity",))
            return line
        except InvalidInput as err:
            raise InvalidInput(err.message, field=where + (err.field or ())) from None

    @property
    def line_total(self) -> Money:
        """quantity x unit price x (1 - discount / 100), computed exactly and rounded half-even once."""
        return self.unit_price.times(self.quantity * (Decimal(100) - self.discount_percent) / Decimal(100))


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot):
    aggregate_type = "order"

    number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    status: OrderStatus = OrderStatus.DRAFT
    currency: str
    lines: list[OrderLine] = field(default_factory=list)
    advance_payment: AdvancePaymentStatus = AdvancePaymentStatus.NONE
    placed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(cls, *, number: str, customer_id: uuid.UUID, owner_id: uuid.UUID | None, currency: str,
               lines: list[dict[str, Any]], at: datetime, by: uuid.UUID | None,
               id: uuid.UUID | None = None) -> "Order":
        """A DRAFT order. `lines` are dicts of OrderLine.create's keyword arguments (sku, description,
        quantity, unit_price, discount_percent). `id`: fixed beforehand by whoever links to it (a won
        opportunity, domain/opportunity.py); a new one otherwise.

        Rules: AnOrderHasAtLeastOneLine (and at most 500); OneCurrencyPerOrder (ISO 4217); the line rules.
        """
        currency = normalise_currency(currency)
        if not lines:
            raise InvalidInput("An order needs at least one line.", field=("lines",))
        if len(lines) > MAX_LINES:
            raise InvalidInput(f"An order has at most {MAX_LINES} lines.", field=("lines",))
        built = [OrderLine.create(i, currency=currency, **line) for i, line in enumerate(lines)]
        order = cls(id=id or uuid.uuid4(), number=number, customer_id=customer_id, owner_id=owner_id, currency=currency,
                    lines=built, created_at=at, updated_at=at)
        if abs(order.total.amount) >= LIMIT:
            raise InvalidInput("The order total is too large.", field=("lines",))
        order.record(OrderCreated(**order._about(at, by), lines=len(built)))
        return order

    @property
    def total(self) -> Money:
        return Money.total((line.line_total for line in self.lines), self.currency)

    @property
    def versioned_state(self) -> tuple[Any, ...]:
        """What the order's `version` counts: all but the advance payment. That is the approval workflow's state
        (versioned by the workflow instance), so starting or ending the workflow leaves an `expectedVersion`
        read before it valid for confirming the order. Repositories bump the version only when this changes."""
        return self.owner_id, self.status, self.placed_at, tuple(self.lines)

    # ----------------------------------------------------------------- status machine

    def require_mover(self, actor: Staff, department_code: str | None, to: OrderStatus | str) -> None:
        """NotAuthorized unless `actor` (of the department with `department_code`) may move orders to `to`."""
        target = _status(to)
        if not may_move_order(actor, department_code, self.owner_id, target):
            department = RESPONSIBLE_DEPARTMENT.get(target)
            raise NotAuthorized(f"Only {department.lower()} staff (or an administrator) move orders to {target.value}."
                                if department else "You are not allowed to do this.")

    def transition(self, to: OrderStatus | str, *, at: datetime, by: uuid.UUID | None) -> None:
        """Move along ORDER_MOVES. Rules: OnlyAllowedMoves; AConfirmedOrderHasAtLeastOneLine;
        ConfirmingPlacesTheOrder (placed_at). Records order.<to> (see the module docstring)."""
        target = _status(to)
        if target not in ORDER_MOVES[self.status]:
            raise ForbiddenTransition.listing(f"Order {self.number} is {self.status.value} and cannot become "
                                              f"{target.value}.", self.status, ORDER_MOVES[self.status], field=("to",))
        if target is OrderStatus.CONFIRMED:
            if not self.lines:
                raise ForbiddenTransition(f"Order {self.number} has no lines; a confirmed order needs at least one.",
                                          field=("to",))
            self.placed_at = at
        previous, self.status, self.updated_at = self.status, target, at
        self.record(OrderMoved(**self._about(at, by), from_=previous, to=target))

    # ----------------------------------------------------------------- advance payment

    def request_advance_payment(self, *, at: datetime, by: uuid.UUID | None, workflow_id: uuid.UUID) -> None:
        """Rules: AnAdvancePaymentIsRequestedOnce (not while one is requested, approved or received);
        ClosedOrdersTakeNoAdvancePayment (PAID, CANCELLED)."""
        if self.status in CLOSED_STATUSES:
            raise ForbiddenTransition(f"A {self.status.value} order takes no advance payment.", field=("subjectId",))
        self._move_advance_payment(AP.REQUESTED, at=at, by=by, workflow_id=workflow_id)

    def approve_advance_payment(self, *, at: datetime, by: uuid.UUID | None, workflow_id: uuid.UUID) -> None:
        self._move_advance_payment(AP.APPROVED, at=at, by=by, workflow_id=workflow_id)

    def reject_advance_payment(self, *, at: datetime, by: uuid.UUID | None, workflow_id: uuid.UUID) -> None:
        self._move_advance_payment(AP.REJECTED, at=at, by=by, workflow_id=workflow_id)

    def withdraw_advance_payment(self, *, at: datetime, by: uuid.UUID | None, workflow_id: uuid.UUID) -> None:
        """The approval was cancelled before it ended: nothing is requested any more."""
        self._move_advance_payment(AP.NONE, at=at, by=by, workflow_id=workflow_id)

    def _move_advance_payment(self, to: AdvancePaymentStatus, *, at: datetime, by: uuid.UUID | None,
                              workflow_id: uuid.UUID) -> None:
        if to not in ADVANCE_PAYMENT_MOVES[self.advance_payment]:
            raise ForbiddenTransition.listing(
                f"The advance payment of {self.number} is {self.advance_payment.value} and cannot become {to.value}.",
                self.advance_payment, ADVANCE_PAYMENT_MOVES[self.advance_payment], field=("subjectId",))
        previous, self.advance_payment, self.updated_at = self.advance_payment, to, at
        self.record(AdvancePaymentChanged(**self._about(at, by), from_=previous, to=to, workflow_id=workflow_id))

    def _about(self, at: datetime, by: uuid.UUID | None) -> dict[str, Any]:
        """The envelope and the fields every OrderEvent carries."""
        return {"aggregate_id": self.id, "occurred_at": at, "actor_id": by, "number": self.number,
                "customer_id": self.customer_id, "owner_id": self.owner_id, "currency": self.currency,
                "total": f"{self.total.amount:f}", "status": self.status, "advance_payment": self.advance_payment,
                "placed_at": self.placed_at}


# ----------------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class OrderEvent(DomainEvent):
    """What every order event carries: the order as it is once the event happened, so a subscriber
    filters and shows the event's own state, not whatever the order has become by delivery."""

    aggregate_type = "order"

    number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    currency: str
    total: str  # the exact decimal, as text
    status: "OrderStatus"
    advance_payment: "AdvancePaymentStatus"
    placed_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class OrderCreated(OrderEvent):
    event_name = "created"
    lines: int


@dataclass(frozen=True, kw_only=True)
class OrderMoved(OrderEvent):
    """The order reached a status; named after it (order.confirmed, order.in_fulfillment ...)."""

    from_: "OrderStatus" = published_as("from")
    to: "OrderStatus"

    @property  # type: ignore[override]
    def event_name(self) -> str:  # type: ignore[override]
        return self.to.value.lower()


@dataclass(frozen=True, kw_only=True)
class AdvancePaymentChanged(OrderEvent):
    event_name = "advance_payment_changed"
    from_: "AdvancePaymentStatus" = published_as("from")
    to: "AdvancePaymentStatus"
    workflow_id: uuid.UUID


def _status(value: OrderStatus | str) -> OrderStatus:
    try:
        return OrderStatus(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not an order status.", field=("to",)) from None
