"""GraphiQL works offline: the page and every asset it loads come from this service (it loaded React and
GraphiQL from a public CDN and stayed on "Loading..." without internet), and it tells a newcomer how to sign in."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

from api.graphiql import sign_in_link
from tests.conftest import Api


async def test_the_page_and_its_assets_come_from_the_service(api: Api) -> None:
    page = await api.client.get("/graphql", headers={"accept": "text/html"})  # no token: the page holds no data
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert loaded and all(url.startswith("/graphiql/assets/") for url in loaded), loaded
    for url in loaded:
        asset = await api.client.get(url)  # public, like the page
        assert asset.status_code == 200 and len(asset.content) > 1000, url
        assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript",
                                                              "text/css"), url
    # the page explains the header when a request comes back unauthenticated
    assert "UNAUTHENTICATED" in page.text and 'Authorization": "Bearer <token>' in page.text


async def test_the_sign_in_link_fills_the_headers_tab(api: Api) -> None:
    token = await api.token_for("admin@example.com")
    link = sign_in_link("http://127.0.0.1:8000", token)
    parsed = urlparse(link)
    assert (parsed.netloc, parsed.path) == ("127.0.0.1:8000", "/graphql")
    headers = json.loads(parse_qs(parsed.query)["headers"][0])  # what the page puts in its Headers tab
    assert headers == {"Authorization": f"Bearer {token}"}
    me = await api.client.post("/graphql", json={"query": "{ me { email } }"}, headers=headers)
    assert me.json() == {"data": {"me": {"email": "admin@example.com"}}}
