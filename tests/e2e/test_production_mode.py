"""Production mode does not describe itself: introspection, "Did you mean" suggestions, GraphiQL and the
federation SDL are off unless a setting turns each back on; and a masked fault names a request id that its
logged trace names too."""
from __future__ import annotations

import logging
import re
from types import SimpleNamespace
from typing import Any, AsyncIterator

import httpx
import pytest

from api.schema import build_schema
from application.api_keys import CreateApiKey, create_api_key
from application.organisation import find_active_staff_by_email
from infrastructure.settings import Settings
from tests.conftest import Api, Database, app_with, unique

INTROSPECTION = "{ __schema { types { name } } }"
TYPE = '{ __type(name: "Customer") { fields { name } } }'
SDL = "{ _service { sdl } }"
MISSPELT_FIELD = "{ me { emial } }"
MISSPELT_ENUM = 'query($t: CustomerTier) { customers(filter: {tier: $t}) { totalCount } }'


class Client:
    def __init__(self, client: httpx.AsyncClient, token: str, container: Any) -> None:
        self.client, self.token, self.container = client, token, container

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                          headers={"Authorization": f"Bearer {self.token}"})
        return response.json()


async def serving(database: Database, **flags: str) -> AsyncIterator[Client]:
    settings = Settings.from_env({"CRM_ENV": "production", "CRM_SECRET_KEY": "p" * 40, "CRM_DATABASE_URL": database.url,
                                  "CRM_DB_POOL_SIZE": "2", "CRM_DB_MAX_OVERFLOW": "0", **flags})
    async with app_with(settings) as (app, client):
        container = app.state.container
        admin = await find_active_staff_by_email(container.services.uow(), "admin@example.com")
        yield Client(client, container.services.tokens().issue(admin.id), container)


@pytest.fixture(scope="module")
async def production(database: Database) -> AsyncIterator[Client]:
    async for client in serving(database):
        yield client


@pytest.fixture(scope="module")
async def production_opened_up(database: Database) -> AsyncIterator[Client]:
    async for client in serving(database, CRM_INTROSPECTION="true", CRM_SUGGESTIONS="true", CRM_GRAPHIQL="true",
                                CRM_FEDERATION_SDL="true"):
        yield client


@pytest.mark.parametrize(("query", "code"), [(INTROSPECTION, "GRAPHQL_VALIDATION_FAILED"),
                                             (TYPE, "GRAPHQL_VALIDATION_FAILED"), (SDL, "FORBIDDEN")])
async def test_production_refuses_to_describe_its_schema(production: Client, query: str, code: str) -> None:
    body = await production.post(query)
    assert body.get("data") is None and body["errors"][0]["extensions"]["code"] == code
    assert "Customer" not in str(body) and "sdl" not in str(body.get("data"))


async def test_a_gateways_api_key_gets_the_sdl_through_its_scope(production: Client) -> None:
    container = production.container
    admin = await find_active_staff_by_email(container.services.uow(), "admin@example.com")
    gateway = await find_active_staff_by_email(container.services.uow(), "finance.key@example.com")

    async def key(scopes: tuple[str, ...]) -> str:
        issued = await create_api_key(container.services.api_key_registry(), container.services.uow(),
                                      container.gateways.clock(), admin,
                                      CreateApiKey(unique("gateway"), scopes, gateway.id))
        return issued.secret

    with_scope = await Client(production.client, await key(("federation",)), container).post(SDL)
    assert "type Customer" in with_scope["data"]["_service"]["sdl"]
    without = await Client(production.client, await key(("read",)), container).post(SDL)
    assert without["data"] is None and without["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_typename_still_answers_in_production(production: Client) -> None:
    assert (await production.post("{ __typename me { __typename email } }"))["data"] == {
        "__typename": "Query", "me": {"__typename": "Staff", "email": "admin@example.com"}}


@pytest.mark.parametrize(("query", "variables"), [(MISSPELT_FIELD, None), (MISSPELT_ENUM, {"t": "GOLDD"})])
async def test_production_errors_make_no_suggestions(production: Client, api: Api, query: str,
                                                     variables: dict[str, Any] | None) -> None:
    [error] = (await production.post(query, variables))["errors"]
    assert "Did you mean" not in error["message"] and error["message"]
    [development] = await api.errors(query, variables)
    assert "Did you mean" in development["message"]  # what production no longer tells


async def test_production_serves_no_graphiql(production: Client, api: Api) -> None:
    page = await production.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code != 200 and "graphiql" not in page.text.lower()
    assert (await api.client.get("/graphql", headers={"Accept": "text/html"})).status_code == 200  # development


async def test_each_can_be_turned_back_on_by_its_setting(production_opened_up: Client) -> None:
    assert (await production_opened_up.post(INTROSPECTION))["data"]["__schema"]["types"]
    assert (await production_opened_up.post(TYPE))["data"]["__type"]["fields"]
    assert "type Customer" in (await production_opened_up.post(SDL))["data"]["_service"]["sdl"]
    assert "Did you mean" in (await production_opened_up.post(MISSPELT_FIELD))["errors"][0]["message"]
    page = await production_opened_up.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_the_settings_default_by_mode() -> None:
    production = Settings(env="production", secret_key="p" * 40)
    assert not any(production.describes(w) for w in ("introspection", "suggestions", "graphiql", "federation_sdl"))
    assert all(Settings(env="test").describes(w) for w in ("introspection", "suggestions", "graphiql",
                                                            "federation_sdl"))
    assert not Settings(env="test", introspection=False).describes("introspection")


async def test_a_masked_fault_names_the_request_id_its_logged_trace_names(caplog: pytest.LogCaptureFixture) -> None:
    schema = build_schema(federation=True)
    with caplog.at_level(logging.ERROR, logger="crm.api.faults"):
        result = await schema.execute("{ me { id } }", context_value=SimpleNamespace(actor=None))  # no actor: a fault
    [error] = result.errors
    request_id = error.extensions["requestId"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id) and request_id in error.message
    assert error.extensions["code"] == "INTERNAL_ERROR" and "actor" not in error.message
    [record] = [r for r in caplog.records if r.name == "crm.api.faults"]
    assert request_id in record.getMessage() and record.exc_info is not None
