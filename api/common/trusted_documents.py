"""Trusted documents: with CRM_TRUSTED_DOCUMENTS set, only the documents of that manifest run, for a production
API whose clients are known (its web and mobile apps, partners' integrations): an attacker cannot send a
document of their own, however cheap it looks. Clients send the document or, as persisted queries, its hash
(api/common/persisted_queries.py finds it in the manifest too); anything else is FORBIDDEN before it is
validated. The check is a schema extension, so it holds for every way a document arrives (JSON, GET, multipart
uploads, WebSocket subscriptions); the fast path answers only documents the regular path ran.

The manifest is Apollo's persisted query manifest, as `@apollo/generate-persisted-query-manifest` writes it:
{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "<sha256 of body>", "name":
..., "type": ..., "body": "<document>"}]}; every id must be its body's SHA-256, or the service does not start."""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension


class ManifestError(ValueError):
    pass


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def load_manifest(path: str) -> dict[str, str]:
    """{sha256: document} of the manifest at `path` (read once per process). Raises ManifestError."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
        operations = manifest["operations"] if manifest.get("format") == "apollo-persisted-query-manifest" \
            and manifest.get("version") == 1 else None
        if not isinstance(operations, list):
            raise ManifestError(f"{path} is not an Apollo persisted query manifest (format, version 1, operations)")
        documents = {operation["id"]: operation["body"] for operation in operations}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        if isinstance(err, ManifestError):
            raise
        raise ManifestError(f"{path} cannot be read as a persisted query manifest: {err}") from None
    wrong = [digest for digest, body in documents.items() if not isinstance(body, str) or sha256(body) != digest]
    if wrong:
        raise ManifestError(f"{path}: the id of {len(wrong)} operation(s) is not the SHA-256 of the body, "
                            f"e.g. {wrong[0]}")
    return documents


def untrusted() -> GraphQLError:
    return GraphQLError("Only the service's trusted documents run here: send one of them (or its hash as a "
                        "persisted query).", extensions={"code": "FORBIDDEN"})


class TrustedDocumentsOnly(SchemaExtension):
    """Refuses, before validation, a document that is not in the manifest of the request's settings."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        path = getattr(getattr(context.context, "settings", None), "trusted_documents", None)
        if path is not None and (context.query is None or sha256(context.query) not in load_manifest(path)):
            context.pre_execution_errors = [untrusted()]
        yield
