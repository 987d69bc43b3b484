"""The access matrix of docs/security.md for the operations this service guards by role and department, as a
table: every (operation, person) pair is asked over GraphQL and must be refused with FORBIDDEN exactly where the
table says. A write an allowed person sends is made invalid on purpose (it ends in userErrors, nothing changes),
so the table can be asked in any order on the shared database."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

PEOPLE = ["sales.member@example.com", "sales.key@example.com", "sales.manager@example.com",
          "finance.member@example.com", "finance.key@example.com", "admin@example.com"]
ADMIN = {"admin@example.com"}
KEY_USERS_UP = {"sales.key@example.com", "sales.manager@example.com", "finance.key@example.com", "admin@example.com"}
FINANCE_MANAGERS_ADMINS = {"sales.manager@example.com", "finance.key@example.com", "admin@example.com"}

REPORT = """{ profitability(from: "2020-01-01T00:00:00Z", to: "2040-01-01T00:00:00Z", groupBy: PRODUCT) { key } }"""
MATRIX: dict[str, tuple[str, dict[str, Any] | None, set[str]]] = {
    "webhooks": ("{ webhooks { id } }", None, ADMIN),
    "registerWebhook": ("""mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) { userErrors { code } } }""",
                        {"i": {"url": "http://127.0.0.1/", "events": ["*"]}}, ADMIN),
    "apiKeys": ("{ apiKeys { id } }", None, ADMIN),
    "createApiKey": ("""mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { userErrors { code } } }""",
                     {"i": {"name": " ", "scopes": ["read"], "actsAsId": "U3RhZmY6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"}},
                     ADMIN),
    "revokeApiKey": ("""mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { userErrors { code } } }""",
                     {"i": {"apiKeyId": "QXBpS2V5OjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"}}, ADMIN),
    "auditLog": ("{ auditLog(first: 1) { totalCount } }", None, ADMIN),
    "fieldAccess": ("{ fieldAccess { field } }", None, ADMIN),
    "setFieldAccess": ("""mutation($i: SetFieldAccessInput!) { setFieldAccess(input: $i) { userErrors { code } } }""",
                       {"i": {"field": "UNIT_COST", "roles": [], "owner": True,
                              "departmentIds": ["RGVwYXJ0bWVudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"]}},
                       ADMIN),
    "integrations": ("{ integrations { name } }", None, KEY_USERS_UP),
    "events": ("{ events(first: 1) { edges { cursor } } }", None, KEY_USERS_UP),
    "profitability report": (REPORT, None, FINANCE_MANAGERS_ADMINS),
}


@pytest.mark.parametrize("operation", list(MATRIX))
async def test_the_access_matrix(api: Api, operation: str) -> None:
    query, variables, allowed = MATRIX[operation]
    answers: dict[str, bool] = {}
    for who in PEOPLE:
        body = (await api.post(query, variables, as_=who)).json()
        codes = {e["extensions"]["code"] for e in body.get("errors") or []}
        assert codes <= {"FORBIDDEN"}, (operation, who, body)
        answers[who] = "FORBIDDEN" not in codes
        if answers[who] and body["data"] and query.lstrip().startswith("mutation"):
            [payload] = body["data"].values()
            assert payload["userErrors"], (operation, who, body)  # invalid on purpose: nothing written
    assert {who for who, ok in answers.items() if ok} == allowed, operation
