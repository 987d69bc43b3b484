"""The unified view: CRM revenue against ERP unit costs, per order and as a report over a period.

Each function asks the ProductCosts port once, for every (SKU, currency) it needs; the API's per-request
DataLoaders do the same for the fields of one GraphQL response.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Mapping, Sequence

from application.ports import ProductCosts, UnitCost
from application.queries.profitability import ProfitabilityGroup, ProfitabilityQueries
from domain.organisation import Role, Staff
from domain.profitability import CostedQuantity, Profitability
from domain.shared import InvalidInput, LimitExceeded, NotAuthorized

MAX_CELLS = 20_000  # (group, currency, SKU) cells one report may add up; a longer period is refused


@dataclass(frozen=True)
class SoldLine:
    sku: str
    quantity: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class OrderProfitability:
    profitability: Profitability
    cost_source: str
    as_of: datetime  # when the oldest unit cost used was read from the ERP


@dataclass(frozen=True)
class ProfitabilityRow:
    key: str
    label: str
    profitability: Profitability


def order_profitability(currency: str, lines: Sequence[SoldLine], costs: Mapping[tuple[str, str], UnitCost | None],
                        *, source: str, now: datetime) -> OrderProfitability:
    """An order's revenue, cost and margin, from its lines and the unit costs of their SKUs in its currency."""
    used = [c for c in (costs.get((line.sku, currency)) for line in lines) if c is not None]
    profitability = Profitability.of(currency, (
        CostedQuantity(line.sku, line.quantity, line.line_total, _amount(costs.get((line.sku, currency))))
        for line in lines))
    return OrderProfitability(profitability, cost_source=used[0].source if used else source,
                              as_of=min((c.as_of for c in used), default=now))


def _amount(cost: UnitCost | None) -> Decimal | None:
    return cost.amount if cost is not None else None


def check_period(placed_from: datetime, placed_to: datetime) -> None:
    if placed_from.tzinfo is None:
        raise InvalidInput("from needs a time-zone offset.", field=("from",))
    if placed_to.tzinfo is None:
        raise InvalidInput("to needs a time-zone offset.", field=("to",))
    if placed_from >= placed_to:
        raise InvalidInput("from must be before to.", field=("to",))


async def profitability_report(queries: ProfitabilityQueries, costs: ProductCosts, actor: Staff, *,
                               placed_from: datetime, placed_to: datetime,
                               group_by: ProfitabilityGroup) -> list[ProfitabilityRow]:
    """Revenue, cost and margin per customer, product or owner, one row per (key, currency): amounts in
    different currencies are never added up (there is no exchange rate the CRM could vouch for).

    Revenue basis: the lines of orders placed (confirmed) in [placed_from, placed_to) that are not DRAFT or
    CANCELLED; see `application.queries.profitability.REVENUE_STATUSES`. The CRM side is one grouped SQL
    statement; the ERP is asked once for every (SKU, currency) in it. Rows are ordered by key, then currency.

    Raises NotAuthorized (members: company-wide margins are for key users, managers and admins),
    InvalidInput (a period without offsets, or from >= to), LimitExceeded (more than MAX_CELLS cells:
    ask for a shorter period), DependencyUnavailable (the ERP).
    """
    if not actor.role.at_least(Role.KEY_USER):
        raise NotAuthorized("Only key users, managers and administrators see the profitability report.")
    check_period(placed_from, placed_to)
    cells = await queries.sold(placed_from, placed_to, group_by, MAX_CELLS)
    if len(cells) > MAX_CELLS:
        raise LimitExceeded(f"The period holds more than {MAX_CELLS:,} (group, currency, SKU) combinations; "
                            "ask for a shorter one.", field=("from",))
    keys = sorted({(c.sku, c.currency) for c in cells})
    unit_costs = await costs.unit_costs(keys) if keys else {}
    rows = []
    for (key, label, currency), group in groupby(cells, key=lambda c: (c.key, c.label, c.currency)):
        rows.append(ProfitabilityRow(key, label, Profitability.of(currency, (
            CostedQuantity(c.sku, c.quantity, c.revenue, _amount(unit_costs.get((c.sku, currency))))
            for c in group))))
    return rows
