"""GraphiQL served from the package: its page and assets (GraphiQL 3.8.3, React 18.3.1, from npm; MIT, licences
beside them) ship with the service, so the IDE works offline and behind proxies. The page explains the
Authorization header when a request comes back UNAUTHENTICATED, and `sign_in_link` opens it with one filled in
(`crm serve` prints it for the demo admin in development)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).parent
ASSETS = HERE / "assets"
ASSETS_PATH = "/graphiql/assets"
PAGE = (HERE / "index.html").read_text(encoding="utf-8")


def sign_in_link(base_url: str, token: str) -> str:
    """The GraphiQL address with `Authorization: Bearer <token>` filled in its Headers tab."""
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    return f"{base_url}/graphql?headers={quote(headers, safe='')}"
