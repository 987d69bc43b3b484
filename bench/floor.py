"""The benchmark's floor: what answering the read queries costs with ONE hand-written SQL statement each that
builds the whole JSON response in PostgreSQL (json_build_object / json_agg over LATERAL subqueries), served
by a bare ASGI app (uvicorn, asyncpg, a pool of 10). No GraphQL: the request's operationName picks the
statement, its variables fill the parameters; the statement's text is the body (`{"data": ...}`).

    .venv/bin/python bench/floor.py --port 8100 [--database-url postgresql://postgres@127.0.0.1:5432/crm_bench]

POST /graphql with {"operationName": "A" | "B" | "Board" | "Queue" | "Customer360", "variables": {...}};
GET /__bench/statements gives the statements sent so far (bench/perf.py reads it around one request: 1).
The answers have the shape of the service's (ids are raw UUIDs; the SLA targets are the stored columns,
not clocks computed at request time: see docs/performance.md).
"""
from __future__ import annotations

import argparse
import json
from typing import Any

import asyncpg
import uvicorn

OPEN = "('OPEN', 'ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER')"

SQL: dict[str, str] = {
    # customers(first: 50) { edges { node { id code name complaints(first: 10) { edges { node { number status } } } } } }
    "A": """
SELECT json_build_object('customers', json_build_object('edges', coalesce(json_agg(json_build_object('node',
  json_build_object('id', c.id, 'code', c.code, 'name', c.name, 'complaints', json_build_object('edges', cp.edges)))
  ORDER BY c.created_at DESC, c.id DESC), '[]')))::text
FROM (SELECT id, code, name, created_at FROM customers ORDER BY created_at DESC, id DESC LIMIT 50) c
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('node', json_build_object('number', x.number, 'status', x.status))
                           ORDER BY x.created_at DESC, x.id DESC), '[]') AS edges
  FROM (SELECT number, status, created_at, id FROM complaints WHERE customer_id = c.id
        ORDER BY created_at DESC, id DESC LIMIT 10) x) cp""",
    # customer(id) { id code name contacts { name email phone title primary } }
    "B": """
SELECT json_build_object('customer', (
  SELECT json_build_object('id', c.id, 'code', c.code, 'name', c.name, 'contacts', coalesce((
    SELECT json_agg(json_build_object('name', k.name, 'email', k.email, 'phone', k.phone, 'title', k.title,
                                      'primary', k.is_primary) ORDER BY k.position)
    FROM customer_contacts k WHERE k.customer_id = c.id), '[]'))
  FROM customers c WHERE c.id = $1::uuid))::text""",
    # orderBoard { columns { status count totals { amount currency } orders(first: 10) { ... customer { code name } } } }
    "Board": """
SELECT json_build_object('orderBoard', json_build_object('columns', json_agg(json_build_object(
  'status', s.status, 'count', coalesce(g.count, 0), 'totals', coalesce(g.totals, '[]'),
  'orders', json_build_object('edges', p.edges)) ORDER BY s.position)))::text
FROM (VALUES (1, 'DRAFT'), (2, 'CONFIRMED'), (3, 'IN_FULFILLMENT'), (4, 'SHIPPED'), (5, 'INVOICED'), (6, 'PAID'),
             (7, 'CANCELLED')) AS s (position, status)
CROSS JOIN LATERAL (
  SELECT sum(n)::int AS count, json_agg(json_build_object('amount', total::text, 'currency', currency)
                                        ORDER BY currency) AS totals
  FROM (SELECT currency, count(*) AS n, sum(total_amount) AS total FROM orders WHERE status = s.status
        GROUP BY currency) t) g
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('node', json_build_object(
    'number', o.number, 'status', o.status, 'total', json_build_object('amount', o.total_amount::text, 'currency', o.currency),
    'placedAt', o.placed_at, 'customer', json_build_object('code', cu.code, 'name', cu.name)))
    ORDER BY o.created_at DESC, o.id DESC), '[]') AS edges
  FROM (SELECT id, number, status, total_amount, currency, placed_at, created_at, customer_id FROM orders
        WHERE status = s.status ORDER BY created_at DESC, id DESC LIMIT 10) o
  JOIN customers cu ON cu.id = o.customer_id) p""",
    # complaints(filter: {slaAtRisk: true}, first: 50) { ... customer category assignee sla }
    "Queue": """
SELECT json_build_object('complaints', json_build_object('edges', coalesce(json_agg(json_build_object('node',
  json_build_object('number', x.number, 'status', x.status, 'priority', x.priority, 'createdAt', x.created_at,
    'customer', json_build_object('code', cu.code, 'name', cu.name),
    'category', json_build_object('code', cc.code, 'name', cc.name),
    'assignee', CASE WHEN st.id IS NOT NULL THEN json_build_object('name', st.name, 'email', st.email) END,
    'sla', json_build_object('escalationLevel', x.escalation_level, 'terms', x.sla_terms,
                             'nextDeadline', x.sla_next_deadline, 'atRiskAt', x.sla_at_risk_at,
                             'firstResponseBreached', x.first_response_breached,
                             'resolutionBreached', x.resolution_breached)))
  ORDER BY x.created_at DESC, x.id DESC), '[]')))::text
FROM (SELECT * FROM complaints WHERE sla_at_risk_at <= now() ORDER BY created_at DESC, id DESC LIMIT 50) x
JOIN customers cu ON cu.id = x.customer_id
JOIN complaint_categories cc ON cc.id = x.category_id
LEFT JOIN staff st ON st.id = x.assignee_id""",
    # customer(id) { ... owner contacts activity(first: 20) complaints(open, first: 20) orders(first: 20) }
    "Customer360": f"""
SELECT json_build_object('customer', (
  SELECT json_build_object('id', c.id, 'code', c.code, 'name', c.name, 'tier', c.tier, 'lifecycleStage', c.stage,
    'owner', (SELECT json_build_object('name', s.name) FROM staff s WHERE s.id = c.owner_id),
    'contacts', coalesce((SELECT json_agg(json_build_object('name', k.name, 'email', k.email, 'phone', k.phone,
                                                            'primary', k.is_primary) ORDER BY k.position)
                          FROM customer_contacts k WHERE k.customer_id = c.id), '[]'),
    'activity', json_build_object('edges', coalesce((
      SELECT json_agg(json_build_object('node', json_build_object('at', a.at, 'kind', a.kind, 'summary', a.summary))
                      ORDER BY a.at DESC, a.id DESC)
      FROM (SELECT * FROM customer_activity WHERE customer_id = c.id ORDER BY at DESC, id DESC LIMIT 20) a), '[]')),
    'complaints', json_build_object('edges', coalesce((
      SELECT json_agg(json_build_object('node', json_build_object('number', x.number, 'status', x.status,
        'priority', x.priority, 'subject', x.subject, 'createdAt', x.created_at)) ORDER BY x.created_at DESC, x.id DESC)
      FROM (SELECT * FROM complaints WHERE customer_id = c.id AND status IN {OPEN}
            ORDER BY created_at DESC, id DESC LIMIT 20) x), '[]')),
    'orders', json_build_object('edges', coalesce((
      SELECT json_agg(json_build_object('node', json_build_object('number', o.number, 'status', o.status,
        'total', json_build_object('amount', o.total_amount::text, 'currency', o.currency), 'createdAt', o.created_at))
        ORDER BY o.created_at DESC, o.id DESC)
      FROM (SELECT * FROM orders WHERE customer_id = c.id ORDER BY created_at DESC, id DESC LIMIT 20) o), '[]')))
  FROM customers c WHERE c.id = $1::uuid))::text""",
}
PARAMETERS = {"B": ("id",), "Customer360": ("id",)}


class Floor:
    """The ASGI app: one pool, one statement per request."""

    def __init__(self, database_url: str, pool_size: int) -> None:
        self.database_url, self.pool_size = database_url, pool_size
        self.pool: asyncpg.Pool | None = None
        self.statements = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] == "/__bench/statements":
            await self.respond(send, 200, json.dumps({"statements": self.statements}).encode())
            return
        if scope["method"] != "POST" or scope["path"] != "/graphql":
            await self.respond(send, 404, b'{"errors": [{"message": "not found"}]}')
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            request = json.loads(body)
            sql = SQL[request["operationName"]]
            variables = request.get("variables") or {}
            args = [variables[name] for name in PARAMETERS.get(request["operationName"], ())]
        except (ValueError, KeyError, TypeError):
            await self.respond(send, 400, b'{"errors": [{"message": "unknown operation or variables"}]}')
            return
        assert self.pool is not None
        self.statements += 1
        data = await self.pool.fetchval(sql, *args)
        await self.respond(send, 200, b'{"data":' + data.encode() + b"}")

    async def respond(self, send: Any, status: int, payload: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=self.pool_size,
                                                      max_inactive_connection_lifetime=30)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/crm_bench")
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    uvicorn.run(Floor(args.database_url, args.pool_size), host=args.host, port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
