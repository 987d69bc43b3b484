"""registerWebhook, webhooks, the Webhook node and the destinations in `integrations`, over GraphQL, with a
real receiver on 127.0.0.1 and the relay `crm worker` runs."""
from __future__ import annotations

import time
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import update

from api.common.relay import parse_global_id
from application.outbox_relay import relay_webhooks
from infrastructure.clock import SystemClock
from infrastructure.db.relay_tables import webhooks as webhooks_table
from infrastructure.outbox.health import display_url
from infrastructure.outbox.signing import verify
from infrastructure.outbox.store import SqlWebhookOutbox
from infrastructure.outbox.webhooks import HttpWebhookSender
from infrastructure.outbox.wiring import webhook_schedule
from tests.conftest import Api, unique
from tests.e2e.queries import CREATE_CUSTOMER, UPDATE_CUSTOMER
from tests.webhook_receiver import WebhookReceiver, private_receivers_allowed

REGISTER = """
mutation($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) {
    webhook { id url events active createdAt }
    secret
    userErrors { field message code }
  }
}"""
WEBHOOKS = "{ webhooks { id url events active createdAt } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Webhook { url events } } }"
INTEGRATIONS = "{ integrations { name kind state lastSuccessAt lastError lastErrorAt pendingEvents } }"


@pytest.fixture
async def receiver(api: Api) -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    with private_receivers_allowed(api.container):
        yield server
    await server.stop()


@pytest.fixture
async def registered(api: Api) -> AsyncIterator[list[str]]:
    """URLs this test registers; their webhooks are deactivated afterwards."""
    urls: list[str] = []
    yield urls
    async with api.container.core.engine().connect() as conn:
        await conn.execute(update(webhooks_table).where(webhooks_table.c.url.in_(urls)).values(active=False))
        await conn.commit()


async def register(api: Api, registered: list[str], url: str, events: list[str], *,
                   as_: str = "admin@example.com") -> dict[str, Any]:
    registered.append(url)
    return (await api(REGISTER, {"input": {"url": url, "events": events}}, as_=as_))["registerWebhook"]


async def relay_once(api: Api) -> None:
    container = api.container
    sender = HttpWebhookSender(SystemClock(), timeout=5,
                               allow_private=container.core.settings().webhook_allow_private)
    try:
        await relay_webhooks(SqlWebhookOutbox(container.core.engine(), container.core.read_engine(),
                                              container.services.secret_box()),
                             sender, SystemClock(), webhook_schedule(container.core.settings()))
    finally:
        await sender.aclose()


def health(integrations: list[dict[str, Any]], url: str) -> dict[str, Any]:
    [found] = [i for i in integrations if i["name"] == f"webhook {display_url(url)}"]
    return found


async def test_an_admin_registers_a_webhook_and_sees_the_secret_once(api: Api, registered: list[str]) -> None:
    url = f"https://hooks.example.com/{unique('crm')}?token=t0ps3cret"
    payload = await register(api, registered, url, ["complaint.filed", "order.confirmed", "complaint.filed"])
    assert payload["userErrors"] == []
    hook = payload["webhook"]
    assert hook["url"] == url and hook["events"] == ["complaint.filed", "order.confirmed"] and hook["active"]
    assert len(payload["secret"]) >= 40

    listed = (await api(WEBHOOKS))["webhooks"]
    assert hook in listed
    node = (await api(NODE, {"id": hook["id"]}))["node"]
    assert node == {"__typename": "Webhook", "url": url, "events": ["complaint.filed", "order.confirmed"]}
    assert (await api(NODE, {"id": hook["id"]}, as_="service.manager@example.com"))["node"] is None

    views = (await api(INTEGRATIONS, as_="finance.key@example.com"))["integrations"]
    view = health(views, url)
    assert "t0ps3cret" not in view["name"]  # the query string may carry a token
    assert "/crm-" not in view["name"] and view["name"].startswith("webhook https://hooks.example.com/…#")  # so may the path
    assert (view["kind"], view["state"], view["pendingEvents"]) == ("WEBHOOK", "UP", 0)


@pytest.mark.parametrize("who", ["service.manager@example.com", "sales.key@example.com", "finance.member@example.com"])
async def test_only_admins_register_and_list_webhooks(api: Api, who: str) -> None:
    errors = await api.errors(REGISTER, {"input": {"url": "https://example.com/h", "events": ["*"]}}, as_=who)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    errors = await api.errors(WEBHOOKS, as_=who)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("url", "events", "field"), [
    ("ftp://example.com/h", ["*"], ["input", "url"]),
    ("example.com/h", ["*"], ["input", "url"]),
    ("https://user:pass@example.com/h", ["*"], ["input", "url"]),
    ("https://example.com/h", [], ["input", "events"]),
    ("https://example.com/h", ["complaint.filed", "complaint filed"], ["input", "events", "1"]),
    ("https://example.com/h", ["complaints.filed"], ["input", "events", "0"]),
    ("https://example.com/h", ["complaint.filed", "*"], ["input", "events", "1"]),
])
async def test_bad_input_is_a_user_error_with_its_field(api: Api, url: str, events: list[str],
                                                         field: list[str]) -> None:
    payload = (await api(REGISTER, {"input": {"url": url, "events": events}}))["registerWebhook"]
    assert payload["webhook"] is None and payload["secret"] is None
    [error] = payload["userErrors"]
    assert error["field"] == field and error["code"] == "INVALID"
    assert url not in [w["url"] for w in (await api(WEBHOOKS))["webhooks"]]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8000/graphql",
                                 "http://localhost/", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.0.1/",
                                 "http://100.64.0.1/", "http://0.0.0.0/", "http://2130706433/", "http://0x7f000001/",
                                 "http://127.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/",
                                 "http://[fd00::1]/"])
async def test_an_internal_address_is_refused_with_a_user_error(api: Api, url: str) -> None:
    payload = (await api(REGISTER, {"input": {"url": url, "events": ["*"]}}))["registerWebhook"]
    assert payload["webhook"] is None and payload["secret"] is None
    [error] = payload["userErrors"]
    assert error["field"] == ["input", "url"] and error["code"] == "INVALID"
    assert url not in [w["url"] for w in (await api(WEBHOOKS))["webhooks"]]


async def test_a_deployment_that_allows_private_receivers_registers_them(api: Api, registered: list[str]) -> None:
    url = f"http://10.20.30.40/{unique('onprem')}"
    with private_receivers_allowed(api.container):
        payload = await register(api, registered, url, ["*"])
    assert payload["userErrors"] == [] and payload["webhook"]["url"] == url


async def test_events_reach_a_registered_receiver_signed_and_integrations_tell_how_it_goes(
        api: Api, receiver: WebhookReceiver, registered: list[str]) -> None:
    name = unique("e2e")
    url = receiver.url(name)
    payload = await register(api, registered, url, ["customer.created", "customer.updated"])
    endpoint = receiver.endpoint(name)
    failing_url = receiver.url(name + "-down")
    await register(api, registered, failing_url, ["customer.updated"])
    receiver.endpoint(name + "-down", always_fail=True)

    created = (await api(CREATE_CUSTOMER, {"input": {"name": unique("Hooked"), "kind": "COMPANY"}},
                         as_="sales.key@example.com"))["createCustomer"]["customer"]
    await api(UPDATE_CUSTOMER, {"input": {"id": created["id"], "tier": "GOLD"}}, as_="sales.key@example.com")
    views = (await api(INTEGRATIONS))["integrations"]
    assert health(views, url)["pendingEvents"] == 2 and health(views, failing_url)["pendingEvents"] == 1

    await relay_once(api)

    assert [r.event_type for r in endpoint.requests] == ["customer.created", "customer.updated"]
    for request in endpoint.requests:
        assert verify(payload["secret"], request.signature, request.body, now=time.time())
        assert request.json["aggregateId"] == str(parse_global_id(created["id"])[1])
        assert request.json["payload"]["code"] == created["code"]
    views = (await api(INTEGRATIONS, as_="service.key@example.com"))["integrations"]
    ok, down = health(views, url), health(views, failing_url)
    assert (ok["state"], ok["pendingEvents"], ok["lastError"]) == ("UP", 0, None) and ok["lastSuccessAt"]
    assert down["state"] == "DEGRADED" and down["pendingEvents"] == 1
    assert down["lastError"] == "unreachable" and down["lastSuccessAt"] is None  # details are for admins
    assert health((await api(INTEGRATIONS))["integrations"], failing_url)["lastError"] == \
        "HTTP 500 Internal Server Error"
    assert down["lastErrorAt"] and ok["lastErrorAt"] is None
    broker = [i for i in views if i["kind"] == "EVENT_BROKER"]
    assert [(b["state"], b["pendingEvents"]) for b in broker] == [("DISABLED", 0)]  # no CRM_BROKER_URL here
