"""A small client for Tryton's JSON-RPC API (trytond 8.x), shared by the ERP and finance adapters.

Protocol, as trytond serves it:

- POST `<url>/<database>/rpc/` with `{"id": n, "method": ..., "params": [...]}`; the answer is `{"id": n,
  "result": ...}` or `{"id": n, "error": [...]}`.
- `common.db.login` with `[user, {"password": ...}, language]` returns `[user_id, session, ...]`; later calls
  carry `Authorization: Session base64(user:user_id:session)`. An expired session answers HTTP 401, after which
  the client logs in again once.
- Model methods take the context as their last parameter. Company-dependent fields (a product's cost price,
  a party's receivables) are null without the company in it, so the client reads the user's preferences
  (`model.res.user.get_preferences`) after logging in and passes that context on every call.
- Decimals (and dates) arrive as objects: `{"__class__": "Decimal", "decimal": "12.50"}`.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import json
from decimal import Decimal
from typing import Any

import httpx


class TrytonError(Exception):
    """Tryton answered with an error, or not as JSON-RPC."""


class TrytonAuthError(TrytonError):
    pass


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(obj["year"], obj["month"], obj["day"], obj.get("hour", 0), obj.get("minute", 0),
                           obj.get("second", 0), obj.get("microsecond", 0))
    return obj


class TrytonClient:
    def __init__(self, url: str, database: str, user: str, password: str, *, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self._user = user
        self._password = password
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport,
                                       headers={"Content-Type": "application/json"})
        self._ids = itertools.count(1)
        self._login_lock = asyncio.Lock()
        self._authorization: str | None = None
        self._context: dict[str, Any] = {}
        self._company_currency: str | None = None
        self._fields: dict[str, bool] = {}

    @property
    def rpc_url(self) -> str:
        return f"{self.url}/{self.database}/rpc/"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, method: str, params: list[Any], authorization: str | None) -> Any:
        headers = {"Authorization": authorization} if authorization else {}
        response = await self._http.post(self.rpc_url, headers=headers,
                                         content=json.dumps({"id": next(self._ids), "method": method,
                                                             "params": params}))
        if response.status_code in (401, 403):
            raise TrytonAuthError(f"Tryton refused {method}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise TrytonError(f"Tryton answered {method} with HTTP {response.status_code}")
        try:
            body = json.loads(response.content, object_hook=_decode)
        except ValueError:
            raise TrytonError(f"Tryton answered {method} with something that is not JSON") from None
        if not isinstance(body, dict):
            raise TrytonError(f"Tryton answered {method} with something that is not JSON-RPC")
        if body.get("error"):
            raise TrytonError(f"Tryton answered {method} with an error: {body['error']!r}"[:500])
        return body.get("result")

    async def _login(self, stale: str | None) -> str:
        async with self._login_lock:
            if self._authorization is not None and self._authorization != stale:
                return self._authorization  # someone else logged in meanwhile
            result = await self._post("common.db.login", [self._user, {"password": self._password}, "en"], None)
            if not isinstance(result, list) or len(result) < 2:
                raise TrytonAuthError(f"Tryton refused the login of {self._user!r}")
            user_id, session = result[0], result[1]
            token = base64.b64encode(f"{self._user}:{user_id}:{session}".encode()).decode()
            authorization = f"Session {token}"
            context = await self._post("model.res.user.get_preferences", [True, {}], authorization)
            if not isinstance(context, dict) or not context.get("company"):
                raise TrytonError(f"The Tryton user {self._user!r} has no company: costs and receivables would be "
                                  "empty")
            company = await self._post("model.company.company.read",
                                       [[context["company"]], ["currency.code"], context], authorization)
            self._company_currency = company[0]["currency."]["code"]
            self._context = context
            self._fields = {}
            self._authorization = authorization
            return authorization

    async def call(self, method: str, *params: Any) -> Any:
        """`model.<name>.<method>` with `params` followed by the session's context; logs in first, and once
        more when the session has expired."""
        authorization = self._authorization or await self._login(None)
        try:
            return await self._post(method, [*params, self._context], authorization)
        except TrytonAuthError:
            authorization = await self._login(authorization)
            return await self._post(method, [*params, self._context], authorization)

    async def company_currency(self) -> str:
        if self._company_currency is None:
            await self._login(None)
        assert self._company_currency is not None
        return self._company_currency

    async def has_field(self, model: str, field: str) -> bool:
        """Whether the activated modules give `model` that field (e.g. party.party.credit_limit_amount comes
        with account_credit_limit); remembered for the session."""
        key = f"{model}.{field}"
        if key not in self._fields:
            found = await self.call(f"model.{model}.fields_get", [field])
            self._fields[key] = bool(found and field in found)
        return self._fields[key]

    async def version(self) -> str:
        """The server's series ("8.2"); needs no login."""
        response = await self._http.post(f"{self.url}/rpc/", content=json.dumps(
            {"id": next(self._ids), "method": "common.server.version", "params": []}))
        if response.status_code != 200:
            raise TrytonError(f"Tryton answered common.server.version with HTTP {response.status_code}")
        return str(response.json().get("result"))
