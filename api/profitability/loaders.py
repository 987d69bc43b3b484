"""Per-request DataLoaders for the ERP and the finance system (built in api/context.py, never module-level).

Every unitCost, profitability and receivables field of one response loads through these, so the SKUs and
customer codes a response needs reach the port in one batch: one call per system per request."""
from __future__ import annotations

from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from application.ports import CustomerReceivables, ProductCosts, Receivables, UnitCost


@dataclass
class ExternalLoaders:
    unit_cost: DataLoader[tuple[str, str], UnitCost | None]  # (sku, currency)
    receivables_by_code: DataLoader[str, CustomerReceivables | None]

    @classmethod
    def build(cls, costs: ProductCosts, receivables: Receivables) -> "ExternalLoaders":
        async def load_costs(keys: list[tuple[str, str]]) -> list[UnitCost | None]:
            found = await costs.unit_costs(list(keys))
            return [found.get(k) for k in keys]

        async def load_receivables(codes: list[str]) -> list[CustomerReceivables | None]:
            found = await receivables.receivables(list(codes))
            return [found.get(c) for c in codes]

        return cls(unit_cost=DataLoader(load_fn=load_costs), receivables_by_code=DataLoader(load_fn=load_receivables))
