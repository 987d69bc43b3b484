"""Dependency-injector containers, split by concern (core, gateways, services).

Tests override a provider with `container.gateways.clock.override(...)`.
"""
from __future__ import annotations

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.auth import Authenticator, TokenService
from infrastructure.clock import SystemClock
from infrastructure.db.engine import autocommit, create_engine
from infrastructure.db.reads import KeptConnections
from infrastructure.db.queries.audit import SqlAuditQueries
from infrastructure.db.repositories.api_keys import SqlApiKeyRegistry
from infrastructure.db.repositories.field_access import SqlFieldAccess
from infrastructure.db.repositories.integration_records import SqlIntegrationRecords
from infrastructure.oidc import oidc_verifier
from infrastructure.db.queries.complaints import SqlComplaintQueries
from infrastructure.db.queries.maturity import SqlMaturityQueries
from infrastructure.db.repositories.maturity import SqlMaturityThresholds
from infrastructure.db.queries.rollout import SqlRolloutQueries
from infrastructure.complaint_reads import BufferedComplaintReads
from infrastructure.db.queries.customers import SqlCustomerQueries
from infrastructure.db.queries.documents import SqlDocumentReads
from infrastructure.db.queries.events import SqlEventQueries
from infrastructure.db.queries.campaigns import SqlCampaignQueries
from infrastructure.db.queries.opportunities import SqlOpportunityQueries
from infrastructure.db.queries.orders import SqlOrderQueries
from infrastructure.db.queries.organisation import SqlOrganisationQueries
from infrastructure.db.queries.workflows import SqlWorkflowQueries
from infrastructure.db.unit_of_work import SqlUnitOfWork
from infrastructure.due_dates import DepartmentCalendarDueDates
from infrastructure.db.queries.profitability import SqlProfitabilityQueries
from infrastructure.external import (TrytonClients, guarded_product_costs, guarded_receivables, product_costs_adapter,
                                     receivables_adapter)
from infrastructure.db.queries.webhooks import SqlWebhookQueries
from infrastructure.outbox.health import BrokerHealthReporter, WebhookHealthReporter
from infrastructure.outbox.secret_box import SecretBox
from infrastructure.outbox.store import SqlWebhookRegistry
from infrastructure.outbox.wiring import open_relay
from infrastructure.pubsub import InProcessPublisher
from infrastructure.pubsub_postgres import PostgresEventRelay
from infrastructure.rate_limit_store import rate_limit_store
from infrastructure.settings import Settings


def _read_engine(settings: Settings, write_engine: AsyncEngine) -> AsyncEngine:
    """Reads run in autocommit: SQLite's in a pool of their own (never the write lock), PostgreSQL's on the
    write engine's pool."""
    return create_engine(settings.database_url, for_writes=False) if settings.is_sqlite else autocommit(write_engine)


class Core(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    engine = providers.Singleton(create_engine, settings.provided.database_url, for_writes=True,
                                 pool_size=settings.provided.db_pool_size,
                                 max_overflow=settings.provided.db_max_overflow,
                                 connect_timeout=settings.provided.db_connect_timeout,
                                 statement_timeout=settings.provided.db_statement_timeout,
                                 pool_timeout=settings.provided.db_pool_timeout,
                                 pgbouncer=settings.provided.db_pgbouncer)
    read_engine = providers.Singleton(_read_engine, settings, engine)
    # the hot reads' connections, kept checked out of the read engine's pool between requests (db/reads.py)
    kept_connections = providers.Singleton(KeptConnections, read_engine, settings.provided.kept_connections)


class Gateways(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    publisher = providers.Singleton(InProcessPublisher)
    # the ERP (ProductCosts) and finance (Receivables) adapters, unguarded: tests override these with fakes
    tryton = providers.Singleton(TrytonClients)
    erp = providers.Singleton(product_costs_adapter, settings.provided.erp, tryton, clock)
    finance = providers.Singleton(receivables_adapter, settings.provided.finance, tryton, clock)
    # the rate limits' shared buckets (CRM_RATE_LIMIT_STORE); None: each process keeps its own
    rate_limit_store = providers.Singleton(rate_limit_store, settings.provided.rate_limit_store,
                                           settings.provided.rate_limit_prefix)


class Services(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    gateways = providers.DependenciesContainer()

    # PostgreSQL: committed events go out by NOTIFY to every process (see event_relay)
    notify = providers.Callable(lambda settings: not settings.is_sqlite, core.settings)
    # a new unit of work per call; the provider itself is the UnitOfWorkFactory the workers and the API take
    uow = providers.Factory(SqlUnitOfWork, core.engine, gateways.publisher, notify=notify)
    event_relay = providers.Singleton(
        lambda settings, engine, publisher: None if settings.is_sqlite
        else PostgresEventRelay(settings.database_listen_url or settings.database_url, engine, publisher),
        core.settings, core.read_engine, gateways.publisher)
    tokens = providers.Singleton(TokenService, core.settings.provided.secret_key,
                                 core.settings.provided.token_ttl_seconds, core.settings.provided.token_max_ttl_seconds)
    api_key_registry = providers.Singleton(SqlApiKeyRegistry, core.engine, core.read_engine)
    oidc = providers.Singleton(oidc_verifier, core.settings.provided.oidc_issuer, core.settings.provided.oidc_audience,
                               core.settings.provided.oidc_jwks_url)
    authenticator = providers.Singleton(Authenticator, tokens, core.read_engine, api_key_registry, oidc)
    customer_queries = providers.Singleton(SqlCustomerQueries, core.read_engine)
    organisation_queries = providers.Singleton(SqlOrganisationQueries, core.read_engine)
    order_queries = providers.Singleton(SqlOrderQueries, core.read_engine)
    campaign_queries = providers.Singleton(SqlCampaignQueries, core.read_engine)
    opportunity_queries = providers.Singleton(SqlOpportunityQueries, core.read_engine)
    workflow_queries = providers.Singleton(SqlWorkflowQueries, core.read_engine)
    complaint_queries = providers.Singleton(SqlComplaintQueries, core.read_engine)
    document_reads = providers.Singleton(SqlDocumentReads, core.read_engine, gateways.clock.provider)  # JSON built by the database
    event_queries = providers.Singleton(SqlEventQueries, core.read_engine)  # the outbox as a feed
    audit_queries = providers.Singleton(SqlAuditQueries, core.read_engine)
    field_access = providers.Singleton(SqlFieldAccess, core.engine, core.read_engine)
    due_dates = providers.Singleton(DepartmentCalendarDueDates, core.read_engine)  # department calendars
    events = providers.Callable(lambda publisher: publisher, gateways.publisher)
    # the ports the application uses: each adapter behind a timeout, a cache and a circuit breaker
    product_costs = providers.Singleton(guarded_product_costs, gateways.erp, core.settings.provided.erp,
                                        gateways.clock)
    receivables = providers.Singleton(guarded_receivables, gateways.finance, core.settings.provided.finance,
                                      gateways.clock)
    profitability_queries = providers.Singleton(SqlProfitabilityQueries, core.read_engine)
    rollout_queries = providers.Singleton(SqlRolloutQueries, core.read_engine)
    maturity_queries = providers.Singleton(SqlMaturityQueries, core.read_engine)
    maturity_thresholds = providers.Singleton(SqlMaturityThresholds, core.engine, core.read_engine)
    complaint_reads = providers.Singleton(BufferedComplaintReads, core.engine)  # written behind the read path
    integration_records = providers.Singleton(SqlIntegrationRecords, core.engine)  # the integration sync's
    # events out (infrastructure/outbox/): webhooks and the broker; `crm worker` runs the relay
    secret_box = providers.Singleton(SecretBox, core.settings.provided.secret_key)
    webhook_registry = providers.Singleton(SqlWebhookRegistry, core.engine, secret_box)
    webhook_queries = providers.Singleton(SqlWebhookQueries, core.read_engine)
    relay = providers.Factory(open_relay, core.settings, core.engine, core.read_engine, secret_box, gateways.clock)
    # every adapter joined to the CRM (ERP, finance, broker, webhooks) adds its HealthReporter here
    health_reporters = providers.List(
        product_costs,
        receivables,
        providers.Singleton(WebhookHealthReporter, core.read_engine),
        providers.Singleton(BrokerHealthReporter, core.read_engine, core.settings.provided.broker_url,
                            core.settings.provided.broker_exchange),
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.Container(Core, settings=settings)
    gateways = providers.Container(Gateways, settings=settings)
    services = providers.Container(Services, core=core, gateways=gateways)


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)


async def dispose(container: Container) -> None:
    await container.core.kept_connections().close()  # back to the pool, which is closed next
    engine = container.core.engine()
    read_engine = container.core.read_engine()
    if read_engine.sync_engine.pool is not engine.sync_engine.pool:
        await read_engine.dispose()
    await engine.dispose()
    await container.gateways.tryton().aclose()
    store = container.gateways.rate_limit_store()
    if store is not None:
        await store.aclose()
