"""Builds the ERP and finance adapters from the settings (the container's gateways and services use these)."""
from __future__ import annotations

from application.ports import Clock, ProductCosts, Receivables
from infrastructure.erp.static import StaticProductCosts
from infrastructure.erp.tryton import TrytonProductCosts
from infrastructure.erp.tryton_client import TrytonClient
from infrastructure.external_settings import ExternalSystem
from infrastructure.finance.static import StaticReceivables
from infrastructure.finance.tryton import TrytonReceivables
from infrastructure.resilience import CircuitBreaker, GuardedProductCosts, GuardedReceivables


class TrytonClients:
    """One client (one HTTP connection pool, one session) per Tryton login: when the ERP and the finance
    system are the same Tryton, both adapters share it."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str, str], TrytonClient] = {}

    def get(self, system: ExternalSystem) -> TrytonClient:
        key = (system.url, system.database, system.user, system.password)
        if key not in self._clients:
            # the guard enforces system.timeout_seconds on the whole call; HTTP gives up a little later
            self._clients[key] = TrytonClient(system.url, system.database, system.user, system.password,
                                              timeout=system.timeout_seconds + 1)
        return self._clients[key]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def product_costs_adapter(system: ExternalSystem, clients: TrytonClients, clock: Clock) -> ProductCosts:
    if system.adapter == "tryton":
        return TrytonProductCosts(clients.get(system), clock)
    return StaticProductCosts(system.file or None)


def receivables_adapter(system: ExternalSystem, clients: TrytonClients, clock: Clock) -> Receivables:
    if system.adapter == "tryton":
        return TrytonReceivables(clients.get(system), clock)
    return StaticReceivables(system.file or None)


def guarded_product_costs(adapter: ProductCosts, system: ExternalSystem, clock: Clock) -> GuardedProductCosts:
    return GuardedProductCosts(adapter, clock=clock, timeout=system.timeout_seconds, cache_seconds=system.cache_seconds,
                               breaker=CircuitBreaker(system.breaker_failures, system.breaker_reset_seconds))


def guarded_receivables(adapter: Receivables, system: ExternalSystem, clock: Clock) -> GuardedReceivables:
    return GuardedReceivables(adapter, clock=clock, timeout=system.timeout_seconds, cache_seconds=system.cache_seconds,
                              breaker=CircuitBreaker(system.breaker_failures, system.breaker_reset_seconds))
