"""Per-request DataLoaders for orders (built in api/context.py; never module-level)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from application.queries.orders import BoardPageRequest, OrderLineView, OrderQueries, OrderView
from application.queries.pagination import Page


def _loader(fetch):  # type: ignore[no-untyped-def]
    async def load(keys):  # type: ignore[no-untyped-def]
        return await fetch(list(keys))

    return DataLoader(load_fn=load)


@dataclass
class OrderLoaders:
    order_by_id: DataLoader[uuid.UUID, OrderView | None]
    lines_by_order: DataLoader[uuid.UUID, list[OrderLineView]]
    # the Kanban's column pages: all columns asked for in one request are fetched in one statement
    board_page: DataLoader[BoardPageRequest, Page[OrderView]]

    @classmethod
    def build(cls, orders: OrderQueries) -> "OrderLoaders":
        return cls(order_by_id=_loader(orders.by_ids), lines_by_order=_loader(orders.lines),
                   board_page=_loader(orders.board_pages))
