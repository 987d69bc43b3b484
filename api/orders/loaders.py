"""Per-request DataLoaders for orders (built in api/context.py; never module-level)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from application.queries.orders import OrderLineView, OrderQueries, OrderView


def _loader(fetch):  # type: ignore[no-untyped-def]
    async def load(keys):  # type: ignore[no-untyped-def]
        return await fetch(list(keys))

    return DataLoader(load_fn=load)


@dataclass
class OrderLoaders:
    order_by_id: DataLoader[uuid.UUID, OrderView | None]
    lines_by_order: DataLoader[uuid.UUID, list[OrderLineView]]

    @classmethod
    def build(cls, orders: OrderQueries) -> "OrderLoaders":
        return cls(order_by_id=_loader(orders.by_ids), lines_by_order=_loader(orders.lines))
