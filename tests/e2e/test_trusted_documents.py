"""Trusted documents (CRM_TRUSTED_DOCUMENTS): only the manifest's documents run, sent whole or as a persisted
query's hash; any other document is FORBIDDEN before it is validated, however it arrives."""
from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from api.app import create_app
from api.common.trusted_documents import ManifestError
from infrastructure.container import build_container, dispose
from infrastructure.settings import Settings, SettingsError
from tests.conftest import Api, Database, settings_for

TRUSTED = "query Me { me { email } }"
DIGEST = hashlib.sha256(TRUSTED.encode()).hexdigest()


def manifest(folder: Path, *bodies: str, ids: list[str] | None = None) -> Path:
    path = folder / "manifest.json"
    operations = [{"id": (ids or [])[i] if ids else hashlib.sha256(body.encode()).hexdigest(), "name": "Me",
                   "type": "query", "body": body} for i, body in enumerate(bodies)]
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                                "operations": operations}))
    return path


@pytest.fixture
async def trusted_app(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    """An app of its own over the session's database, with a manifest of one document."""
    container = build_container(settings_for(database.url, trusted_documents=str(manifest(tmp_path, TRUSTED))))
    yield create_app(container.core.settings(), container)
    await dispose(container)


@pytest.fixture
async def trusted(api: Api, trusted_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    token = await api.token_for("admin@example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=trusted_app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


async def test_a_subscription_is_a_document_too(api: Api, trusted_app: Any) -> None:
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(trusted_app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init",
                                "payload": {"Authorization": f"Bearer {await api.token_for('admin@example.com')}"}})
            assert (await ws.receive_json())["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe",
                                "payload": {"query": "subscription { orderEvents { kind } }"}})
            message = await asyncio.wait_for(ws.receive_json(), 5)
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_only_the_manifests_documents_run(trusted: httpx.AsyncClient) -> None:
    whole = await trusted.post("/graphql", json={"query": TRUSTED})
    assert whole.json() == {"data": {"me": {"email": "admin@example.com"}}}
    by_hash = await trusted.post("/graphql", json={"extensions": {"persistedQuery": {"version": 1,
                                                                                       "sha256Hash": DIGEST}}})
    assert by_hash.json() == {"data": {"me": {"email": "admin@example.com"}}}  # known from the start
    for other in ("{ me { email } }", "{ __schema { types { name } } }", "{ customers(first: 1) { totalCount } }"):
        refused = (await trusted.post("/graphql", json={"query": other})).json()
        assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", other
    # registering a document as a persisted query does not make it trusted
    other = "{ me { name } }"
    sent = {"query": other, "extensions": {"persistedQuery": {"version": 1,
                                                              "sha256Hash": hashlib.sha256(other.encode()).hexdigest()}}}
    assert (await trusted.post("/graphql", json=sent)).json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    new_type = await trusted.post("/graphql", json={"query": other},
                                  headers={"accept": "application/graphql-response+json"})
    assert new_type.status_code == 400 and "data" not in new_type.json()  # refused before it ran


async def test_a_manifest_with_a_wrong_id_stops_the_service_from_starting(database: Database,
                                                                          tmp_path: Path) -> None:
    path = manifest(tmp_path, TRUSTED, ids=["0" * 64])
    container = build_container(settings_for(database.url, trusted_documents=str(path)))
    try:
        with pytest.raises(ManifestError, match="SHA-256"):
            create_app(container.core.settings(), container)
    finally:
        await dispose(container)
    with pytest.raises(SettingsError, match="CRM_TRUSTED_DOCUMENTS"):
        Settings.from_env({"CRM_TRUSTED_DOCUMENTS": str(tmp_path / "missing.json")})
