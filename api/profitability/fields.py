"""Resolvers behind Order.profitability, OrderLine.unitCost and Customer.receivables. Who reads them is the
field access policy's (api/profitability/access.py): otherwise null with a FORBIDDEN entry, and the ERP is not
asked. When the ERP or the finance system is unavailable the field is null with an error entry
(extensions.code DEPENDENCY_UNAVAILABLE, raised by `api.common.errors.read`); the rest of the response is
unaffected."""
from __future__ import annotations

import uuid

from strawberry.types import Info

from api.common.errors import read
from api.common.money import Money
from api.context import Context
from api.profitability.guard import require
from api.profitability.types import Profitability, Receivables
from application.profitability import SoldLine, order_profitability
from application.queries.orders import OrderLineView, OrderView
from domain.field_access import GuardedField


async def unit_cost(info: Info[Context, None], sku: str, currency: str, owner_id: uuid.UUID | None) -> Money | None:
    await require(info, GuardedField.UNIT_COST, owner_id)
    cost = await read(lambda: info.context.loaders.unit_cost.load((sku, currency)))
    return Money.of(cost.amount, currency) if cost is not None else None


async def profitability(info: Info[Context, None], order: OrderView, lines: list[OrderLineView]) -> Profitability:
    await require(info, GuardedField.ORDER_PROFITABILITY, order.owner_id)
    keys = [(line.sku, order.currency) for line in lines]
    costs = await read(lambda: info.context.loaders.unit_cost.load_many(keys))
    result = order_profitability(
        order.currency, [SoldLine(line.sku, line.quantity, line.line_total) for line in lines], dict(zip(keys, costs)),
        source=info.context.product_costs.source, now=info.context.clock.now())
    return Profitability.from_result(result)


async def receivables(info: Info[Context, None], customer_code: str,
                      owner_id: uuid.UUID | None) -> Receivables | None:
    await require(info, GuardedField.RECEIVABLES, owner_id)
    found = await read(lambda: info.context.loaders.receivables_by_code.load(customer_code))
    return Receivables.from_view(found) if found is not None else None
