"""The read-path benchmark's data set in PostgreSQL, loaded with set-based SQL (issue 9, "The benchmark").

    .venv/bin/python bench/generate.py [--scale 1] [--database crm_bench] [--force] [--check]

Creates a FRESH database (default `crm_bench`, `crm_bench_x10` for `--scale 10`; an existing one is dropped
only with --force, or when it is not a complete data set of this scale and generator version), migrates it
with the project's own migrations (`crm migrate`), loads the demo data (`crm seed-demo`: departments, staff,
categories, SLA policies, the business calendar, 36 customers, 7 orders, 8 complaints), then adds per scale
unit, each with one INSERT ... SELECT over generate_series:

- 10,000 customers (codes BEN-0000001 ...; ids md5('customer<i>')::uuid, so a customer has the same id in
  every run and at every scale), created over the last three years, the newest a moment before the load;
  1-3 contacts each (the first primary), tags on about a third, stage history (registered as LEAD, most
  moved on since), 0-5 interactions, and the activity feed rows the service writes for all of these;
- 20,000 orders (SO- numbers from the service's sequence) with 1-5 lines priced from the ERP's demo costs
  in EUR, USD, GBP or JPY (minor units as the service rounds them), statuses by age;
- 100,000 complaints (CMP- numbers from the sequence) spread unevenly: 15 % of the customers have 0-3,
  most 9-15, one in twenty 20-60 (the oldest customers' oldest ones are left out to make the count), so
  the first page of customers (newest first) holds about 420 complaints within its first ten each; statuses by age on the status machine's path, each with its timeline (FILED and every
  STATUS_CHANGE), the matching SLA policy fixed as the service does (sla_terms as terms_snapshot writes
  them; 3 % without a policy: NULL), stored SLA deadlines, about a third of the unresolved ones at risk.

Pseudo-random choices hash the row's number (md5), so a scale's data set is the same in every run except
for timestamps, which are relative to the load. Ends with VACUUM (ANALYZE) and a COMMENT ON DATABASE that
bench/perf.py checks before it measures. Connects as postgres to 127.0.0.1:5432 unless --server says else.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
CRM = ROOT / ".venv" / "bin" / "crm"
GENERATOR_VERSION = 1
SERVER = "postgresql://postgres@127.0.0.1:5432"
CUSTOMERS, COMPLAINTS, ORDERS = 10_000, 100_000, 20_000


def database_name(scale: int) -> str:
    return "crm_bench" if scale == 1 else f"crm_bench_x{scale}"


def marker(scale: int) -> str:
    return (f"crm bench data set v{GENERATOR_VERSION}: scale {scale}, {CUSTOMERS * scale} customers, "
            f"{COMPLAINTS * scale} complaints, {ORDERS * scale} orders")


def service_url(server: str, database: str) -> str:
    """The SQLAlchemy URL the service takes for the same server and database."""
    return server.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def is_ready(server: str, database: str, scale: int) -> bool:
    """Whether `database` holds a complete data set of this scale from this generator version."""
    conn = await asyncpg.connect(server + "/postgres")
    try:
        comment = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", database)
    finally:
        await conn.close()
    return comment == marker(scale)


def crm(command: str, url: str) -> None:
    env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_ENV": "development"}
    subprocess.run([str(CRM), command], env=env, check=True, timeout=300, stdout=subprocess.DEVNULL)


# Helpers live in pg_temp: gone with the session, invisible to PostGraphile and the service.
HELPERS = """
CREATE FUNCTION pg_temp.h(k text) RETURNS bigint LANGUAGE sql IMMUTABLE
  AS $$ SELECT ('x' || substr(md5(k), 1, 12))::bit(48)::bigint $$;
CREATE FUNCTION pg_temp.r(k text) RETURNS double precision LANGUAGE sql IMMUTABLE
  AS $$ SELECT ('x' || substr(md5(k), 1, 12))::bit(48)::bigint / 281474976710656.0 $$;
-- six digits at least, more past a million, as the service numbers them (lpad alone would cut them to six)
CREATE FUNCTION pg_temp.digits(n bigint) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT lpad(n::text, greatest(6, length(n::text)), '0') $$;
CREATE FUNCTION pg_temp.uid(k text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$ SELECT md5(k)::uuid $$;
CREATE FUNCTION pg_temp.pick(a text[], k text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT a[1 + (('x' || substr(md5(k), 1, 12))::bit(48)::bigint % cardinality(a))::int] $$;
CREATE FUNCTION pg_temp.pickid(a uuid[], k text) RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT a[1 + (('x' || substr(md5(k), 1, 12))::bit(48)::bigint % cardinality(a))::int] $$;
"""

# (label, SQL). :N, :C, :O are replaced by the scale's counts; everything else is literal.
STEPS: list[tuple[str, str]] = [
    ("staff and reference data", """
CREATE TEMP TABLE ref AS SELECT
  now() AS now,
  (SELECT array_agg(s.id ORDER BY s.email) FROM staff s) AS all_staff,
  (SELECT array_agg(s.id ORDER BY s.email) FROM staff s JOIN departments d ON d.id = s.department_id
     WHERE d.code = 'SALES') AS sales,
  (SELECT id FROM departments WHERE code = 'SERVICE') AS service,
  (SELECT id FROM departments WHERE code = 'WAREHOUSE') AS warehouse,
  (SELECT id FROM departments WHERE code = 'FINANCE') AS finance;
CREATE TEMP TABLE dept_staff AS
  SELECT department_id, array_agg(id ORDER BY email) AS ids FROM staff GROUP BY department_id;
CREATE TEMP TABLE leaf AS
  SELECT row_number() OVER (ORDER BY c.code) AS n, c.id, c.code, c.name, c.parent_id, p.code AS root
  FROM complaint_categories c JOIN complaint_categories p ON p.id = c.parent_id WHERE c.active;
"""),
    ("customers", """
CREATE TEMP TABLE bc AS
SELECT i AS idx, pg_temp.uid('customer' || i) AS id,
  CASE WHEN pg_temp.r('tier' || i) < 0.55 THEN 'STANDARD' WHEN pg_temp.r('tier' || i) < 0.80 THEN 'SILVER'
       WHEN pg_temp.r('tier' || i) < 0.95 THEN 'GOLD' ELSE 'STRATEGIC' END AS tier,
  CASE WHEN pg_temp.r('stage' || i) < 0.15 THEN 'LEAD' WHEN pg_temp.r('stage' || i) < 0.30 THEN 'PROSPECT'
       WHEN pg_temp.r('stage' || i) < 0.70 THEN 'ACTIVE' WHEN pg_temp.r('stage' || i) < 0.85 THEN 'LOYAL'
       WHEN pg_temp.r('stage' || i) < 0.95 THEN 'AT_RISK' ELSE 'CHURNED' END AS stage,
  CASE WHEN pg_temp.r('owned' || i) < 0.9 THEN pg_temp.pickid(ref.sales, 'owner' || i) END AS owner_id,
  ref.now - interval '1095 days' * (:N - i)::double precision / :N - interval '1 hour' AS created_at
FROM generate_series(1, :N) i, ref;
-- the demo customers were registered a moment ago: move them before the bench's oldest, so that the first
-- page of customers (newest first) is the bench's (with the complaints query A is about)
UPDATE customers SET created_at = created_at - interval '1100 days', updated_at = updated_at - interval '1100 days'
WHERE code LIKE 'DEMO-%';
UPDATE customer_stage_changes SET at = at - interval '1100 days'
WHERE from_stage IS NULL AND customer_id IN (SELECT id FROM customers WHERE code LIKE 'DEMO-%');
ALTER TABLE bc ADD PRIMARY KEY (idx);
INSERT INTO customers (id, code, name, kind, tier, stage, owner_id, attributes, version, created_at, updated_at)
SELECT bc.id, 'BEN-' || lpad(bc.idx::text, 7, '0'),
  CASE WHEN pg_temp.r('kind' || bc.idx) < 0.8
    THEN pg_temp.pick('{Nordic,Alpine,Baltic,Rhein,Atlas,Summit,Harbor,Meridian,Vertex,Cobalt,Granite,Orion,Pioneer,Evergreen,Falcon,Lumen}'::text[], 'w1' || bc.idx)
         || ' ' || pg_temp.pick('{Logistics,Foods,Tools,Optics,Textiles,Robotics,Furniture,Labs,Systems,Trading,Industries,Retail}'::text[], 'w2' || bc.idx)
         || ' ' || pg_temp.pick('{GmbH,AG,Ltd,SA,BV,Inc,KG,Oy}'::text[], 'w3' || bc.idx) || ' ' || bc.idx
    ELSE pg_temp.pick('{Anna,Ben,Clara,David,Eva,Felix,Greta,Hugo,Ines,Jonas,Karin,Luca,Mira,Noah,Olga,Paul}'::text[], 'f' || bc.idx)
         || ' ' || pg_temp.pick('{Schmidt,Meyer,Rossi,Dubois,Novak,Jensen,Garcia,Kowalski,Smith,Berg,Lindqvist,Costa}'::text[], 'l' || bc.idx)
         || ' ' || bc.idx END,
  CASE WHEN pg_temp.r('kind' || bc.idx) < 0.8 THEN 'COMPANY' ELSE 'PERSON' END,
  bc.tier, bc.stage, bc.owner_id,
  json_build_object('industry', pg_temp.pick('{manufacturing,retail,healthcare,construction,logistics,hospitality}'::text[], 'ind' || bc.idx),
                    'employees', 1 + pg_temp.h('emp' || bc.idx) % 5000),
  CASE WHEN bc.stage = 'LEAD' THEN 1 ELSE 2 END, bc.created_at,
  CASE WHEN bc.stage = 'LEAD' THEN bc.created_at ELSE bc.created_at + (ref.now - bc.created_at) * 0.3 END
FROM bc, ref;
"""),
    ("contacts, tags, stage history", """
INSERT INTO customer_contacts (id, customer_id, position, name, email, phone, title, is_primary)
SELECT pg_temp.uid('contact' || bc.idx || '-' || p), bc.id, p,
  pg_temp.pick('{Anna,Ben,Clara,David,Eva,Felix,Greta,Hugo,Ines,Jonas,Karin,Luca,Mira,Noah,Olga,Paul}'::text[], 'cf' || bc.idx || '-' || p)
    || ' ' || pg_temp.pick('{Schmidt,Meyer,Rossi,Dubois,Novak,Jensen,Garcia,Kowalski,Smith,Berg,Lindqvist,Costa}'::text[], 'cl' || bc.idx || '-' || p),
  'contact' || p || '.ben' || bc.idx || '@example.com',
  CASE WHEN pg_temp.r('ph' || bc.idx || '-' || p) < 0.7 THEN '+49 30 ' || lpad((pg_temp.h('pn' || bc.idx || '-' || p) % 10000000)::text, 7, '0') END,
  pg_temp.pick('{Purchasing,"Head of operations",CFO,"Office manager",Engineer,"Store manager"}'::text[], 'ti' || bc.idx || '-' || p),
  p = 0
FROM bc CROSS JOIN LATERAL generate_series(0, (pg_temp.h('nc' || bc.idx) % 3)::int) p;
INSERT INTO customer_tags (customer_id, tag)
SELECT DISTINCT bc.id, pg_temp.pick('{key-account,wholesale,export,public-sector,newsletter,reseller,eu,priority}'::text[], 'tag' || bc.idx || '-' || k)
FROM bc CROSS JOIN generate_series(1, 2) k WHERE pg_temp.r('tagged' || bc.idx || '-' || k) < 0.2;
INSERT INTO customer_stage_changes (customer_id, from_stage, to_stage, at, by_id, reason)
SELECT bc.id, NULL, 'LEAD', bc.created_at, bc.owner_id, NULL FROM bc;
INSERT INTO customer_stage_changes (customer_id, from_stage, to_stage, at, by_id, reason)
SELECT bc.id, 'LEAD', bc.stage, bc.created_at + (ref.now - bc.created_at) * 0.3, bc.owner_id,
  CASE WHEN bc.stage IN ('AT_RISK', 'CHURNED') THEN 'No orders for a long time' END
FROM bc, ref WHERE bc.stage <> 'LEAD';
INSERT INTO customer_activity (id, customer_id, at, kind, actor_id, department_id, summary, subject_type, subject_id)
SELECT pg_temp.uid('act-registered' || bc.idx), bc.id, bc.created_at, 'STAGE_CHANGE', bc.owner_id, NULL,
  'Registered as LEAD', NULL, NULL FROM bc;
INSERT INTO customer_activity (id, customer_id, at, kind, actor_id, department_id, summary, subject_type, subject_id)
SELECT pg_temp.uid('act-stage' || bc.idx), bc.id, bc.created_at + (ref.now - bc.created_at) * 0.3, 'STAGE_CHANGE',
  bc.owner_id, NULL, 'Stage LEAD → ' || bc.stage
    || CASE WHEN bc.stage IN ('AT_RISK', 'CHURNED') THEN ': No orders for a long time' ELSE '' END, NULL, NULL
FROM bc, ref WHERE bc.stage <> 'LEAD';
"""),
    ("interactions", """
CREATE TEMP TABLE bi AS
SELECT pg_temp.uid('interaction' || bc.idx || '-' || k) AS id, bc.id AS customer_id, s.id AS author_id,
  s.department_id, pg_temp.pick('{CALL,EMAIL,MEETING,FEEDBACK,NOTE}'::text[], 'ik' || bc.idx || '-' || k) AS kind,
  bc.created_at + (ref.now - bc.created_at) * pg_temp.r('it' || bc.idx || '-' || k) AS occurred_at,
  pg_temp.pick('{"Discussed the next order","Sent the price list","Visited the warehouse","Asked about delivery times","Follow-up on the last quote","Quarterly review"}'::text[], 'is' || bc.idx || '-' || k) AS summary,
  (2 + pg_temp.h('ir' || bc.idx || '-' || k) % 4)::smallint AS rating
FROM bc CROSS JOIN LATERAL generate_series(1, (pg_temp.h('ni' || bc.idx) % 6)::int) k
CROSS JOIN ref JOIN staff s ON s.id = pg_temp.pickid(ref.all_staff, 'ia' || bc.idx || '-' || k);
INSERT INTO interactions (id, customer_id, kind, occurred_at, author_id, department_id, summary, rating, recorded_at)
SELECT id, customer_id, kind, occurred_at, author_id, department_id, summary,
  CASE WHEN kind = 'FEEDBACK' THEN rating END, occurred_at FROM bi;
INSERT INTO customer_activity (id, customer_id, at, kind, actor_id, department_id, summary, subject_type, subject_id)
SELECT pg_temp.uid('act-' || bi.id), bi.customer_id, bi.occurred_at, 'INTERACTION', bi.author_id, bi.department_id,
  initcap(bi.kind) || CASE WHEN bi.kind = 'FEEDBACK' THEN ' (rated ' || bi.rating || '/5)' ELSE '' END
    || ': ' || bi.summary, 'Interaction', bi.id
FROM bi;
"""),
    ("orders and lines", """
CREATE TEMP TABLE bo AS
SELECT n, pg_temp.uid('order' || n) AS id, bc.id AS customer_id, bc.idx AS customer_idx,
  coalesce(bc.owner_id, pg_temp.pickid(ref.sales, 'oo' || n)) AS owner_id,
  CASE WHEN pg_temp.r('cur' || n) < 0.55 THEN 'EUR' WHEN pg_temp.r('cur' || n) < 0.80 THEN 'USD'
       WHEN pg_temp.r('cur' || n) < 0.95 THEN 'GBP' ELSE 'JPY' END AS currency,
  bc.created_at + (ref.now - bc.created_at) * pg_temp.r('ot' || n) AS created_at
FROM generate_series(1, :O) n CROSS JOIN ref
JOIN bc ON bc.idx = least(:N, 1 + floor(:N * power(pg_temp.r('oc' || n), 0.8))::int);
ALTER TABLE bo ADD COLUMN status text, ADD COLUMN number text, ADD COLUMN steps int;
UPDATE bo SET status = CASE
  WHEN ref.now - bo.created_at > interval '60 days' THEN
    CASE WHEN pg_temp.r('os' || n) < 0.65 THEN 'PAID' WHEN pg_temp.r('os' || n) < 0.77 THEN 'CANCELLED'
         WHEN pg_temp.r('os' || n) < 0.90 THEN 'INVOICED' WHEN pg_temp.r('os' || n) < 0.96 THEN 'SHIPPED' ELSE 'DRAFT' END
  ELSE pg_temp.pick('{DRAFT,CONFIRMED,IN_FULFILLMENT,SHIPPED,INVOICED,PAID,CANCELLED}'::text[], 'os' || n) END
FROM ref;
UPDATE bo SET steps = CASE status WHEN 'DRAFT' THEN 0 WHEN 'CONFIRMED' THEN 1 WHEN 'IN_FULFILLMENT' THEN 2
  WHEN 'SHIPPED' THEN 3 WHEN 'INVOICED' THEN 4 WHEN 'PAID' THEN 5 ELSE (pg_temp.h('oc' || n) % 2)::int END;
WITH numbered AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS k FROM bo)
UPDATE bo SET number = 'SO-' || pg_temp.digits((SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END - 1
                                                 FROM order_number_seq) + numbered.k)
FROM numbered WHERE numbered.id = bo.id;
SELECT setval('order_number_seq', (SELECT max(substr(number, 4)::bigint) FROM bo));
CREATE TEMP TABLE bl AS
SELECT bo.id AS order_id, p AS position, prod.sku, prod.description,
  (1 + pg_temp.h('q' || bo.n || '-' || p) % 20)::numeric AS quantity,
  round(prod.cost * (1.2 + 0.4 * pg_temp.r('m' || bo.n || '-' || p))::numeric * rate.rate,
        CASE WHEN bo.currency = 'JPY' THEN 0 ELSE 2 END) AS unit_price,
  (ARRAY[0, 0, 0, 5, 10])[1 + pg_temp.h('d' || bo.n || '-' || p) % 5]::numeric AS discount_percent,
  bo.currency
FROM bo CROSS JOIN LATERAL generate_series(0, (pg_temp.h('nl' || bo.n) % 5)::int) p
JOIN (VALUES (0, 'TOOL-100', 'Cordless drill set', 112.50), (1, 'TOOL-220', 'Drill bits, 10 pieces', 9.8765),
             (2, 'FURN-010', 'Office chair', 120.00), (3, 'LOG-500', 'Pallet racking bay', 700.00),
             (4, 'ROBO-7', 'Welding robot', 30000.00), (5, 'FOOD-33', 'Cold-room panel', 51.20),
             (6, 'OPT-12', 'Lab microscope', 2400.00), (7, 'TEX-88', 'Work wear bundle', 150.00))
  AS prod (k, sku, description, cost) ON prod.k = CASE WHEN pg_temp.r('big' || bo.n || '-' || p) < 0.03 THEN 4
    ELSE (ARRAY[0, 1, 2, 3, 5, 6, 7])[1 + pg_temp.h('sku' || bo.n || '-' || p) % 7] END
JOIN (VALUES ('EUR', 1::numeric), ('USD', 1.08), ('GBP', 0.86), ('JPY', 162)) AS rate (currency, rate)
  ON rate.currency = bo.currency;
ALTER TABLE bl ADD COLUMN line_total numeric;
UPDATE bl SET line_total = round(quantity * unit_price * (100 - discount_percent) / 100,
                                 CASE WHEN currency = 'JPY' THEN 0 ELSE 2 END);
INSERT INTO orders (id, number, customer_id, owner_id, status, currency, total_amount, advance_payment, placed_at,
                    version, created_at, updated_at)
SELECT bo.id, bo.number, bo.customer_id, bo.owner_id, bo.status, bo.currency,
  totals.total, 'NONE',
  CASE WHEN bo.status <> 'DRAFT' AND NOT (bo.status = 'CANCELLED' AND bo.steps = 0)
       THEN least(ref.now, bo.created_at + interval '2 hours') END,
  1 + bo.steps, bo.created_at, least(ref.now, bo.created_at + interval '2 hours' * (1 + bo.steps * 12))
FROM bo CROSS JOIN ref JOIN (SELECT order_id, sum(line_total) AS total FROM bl GROUP BY order_id) totals
  ON totals.order_id = bo.id;
INSERT INTO order_lines (order_id, position, sku, description, quantity, unit_price, discount_percent, line_total)
SELECT order_id, position, sku, description, quantity, unit_price, discount_percent, line_total FROM bl;
INSERT INTO customer_activity (id, customer_id, at, kind, actor_id, department_id, summary, subject_type, subject_id)
SELECT pg_temp.uid('act-order' || bo.n), bo.customer_id, bo.created_at, 'ORDER', bo.owner_id, NULL,
  'Order ' || bo.number || ' created: ' || round(o.total_amount, CASE WHEN bo.currency = 'JPY' THEN 0 ELSE 2 END) || ' ' || bo.currency, 'Order', bo.id
FROM bo JOIN orders o ON o.id = bo.id;
"""),
    ("complaints", """
CREATE TEMP TABLE cand AS
SELECT bc.idx, k, bc.id AS customer_id, bc.tier, bc.created_at AS customer_created
FROM bc CROSS JOIN LATERAL generate_series(1,
  CASE WHEN pg_temp.r('cls' || bc.idx) < 0.15 THEN (pg_temp.h('cq' || bc.idx) % 4)::int
       WHEN pg_temp.r('cls' || bc.idx) < 0.95 THEN 9 + (pg_temp.h('cq' || bc.idx) % 7)::int
       ELSE 20 + (pg_temp.h('cq' || bc.idx) % 41)::int END) k;
CREATE TEMP TABLE bk AS
SELECT x.*, row_number() OVER (ORDER BY x.created_at, x.id) AS n FROM (
  SELECT pg_temp.uid('complaint' || cand.idx || '-' || cand.k) AS id, cand.idx || '-' || cand.k AS key,
    cand.customer_id, cand.tier,
    cand.customer_created + (ref.now - cand.customer_created) * pg_temp.r('ct' || cand.idx || '-' || cand.k) AS created_at
  FROM cand, ref ORDER BY 5 DESC LIMIT :C) x;  -- the newest: thins the history of the oldest customers
ALTER TABLE bk ADD COLUMN status text, ADD COLUMN category_id uuid, ADD COLUMN root text, ADD COLUMN priority text,
  ADD COLUMN department_id uuid, ADD COLUMN span interval, ADD COLUMN steps int, ADD COLUMN number text,
  ADD COLUMN policy_id uuid, ADD COLUMN at_risk boolean;
UPDATE bk SET
  status = CASE WHEN ref.now - bk.created_at > interval '30 days' THEN
      CASE WHEN pg_temp.r('st' || key) < 0.80 THEN 'CLOSED' WHEN pg_temp.r('st' || key) < 0.95 THEN 'RESOLVED'
           WHEN pg_temp.r('st' || key) < 0.97 THEN 'WAITING_ON_CUSTOMER' WHEN pg_temp.r('st' || key) < 0.99 THEN 'IN_PROGRESS'
           ELSE 'ACKNOWLEDGED' END
    ELSE CASE WHEN pg_temp.r('st' || key) < 0.25 THEN 'OPEN' WHEN pg_temp.r('st' || key) < 0.40 THEN 'ACKNOWLEDGED'
           WHEN pg_temp.r('st' || key) < 0.65 THEN 'IN_PROGRESS' WHEN pg_temp.r('st' || key) < 0.75 THEN 'WAITING_ON_CUSTOMER'
           WHEN pg_temp.r('st' || key) < 0.90 THEN 'RESOLVED' ELSE 'CLOSED' END END,
  priority = CASE WHEN pg_temp.r('pr' || key) < 0.20 THEN 'LOW' WHEN pg_temp.r('pr' || key) < 0.75 THEN 'NORMAL'
                  WHEN pg_temp.r('pr' || key) < 0.95 THEN 'HIGH' ELSE 'URGENT' END,
  span = least(ref.now - bk.created_at, interval '1 hour' * (2 + 200 * pg_temp.r('sp' || key)))
FROM ref;
UPDATE bk SET category_id = leaf.id, root = leaf.root
FROM leaf WHERE leaf.n = 1 + pg_temp.h('cat' || bk.key) % (SELECT count(*) FROM leaf);
UPDATE bk SET department_id = CASE WHEN pg_temp.r('dep' || key) < 0.9 THEN ref.service
                                   WHEN root = 'BILLING' THEN ref.finance ELSE ref.warehouse END,
  steps = CASE status WHEN 'OPEN' THEN 0 WHEN 'ACKNOWLEDGED' THEN 1 WHEN 'IN_PROGRESS' THEN 2
                      WHEN 'WAITING_ON_CUSTOMER' THEN 3 WHEN 'RESOLVED' THEN 3 ELSE 4 END,
  at_risk = status IN ('OPEN', 'ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER') AND pg_temp.r('risk' || key) < 0.35
FROM ref;
UPDATE bk SET number = 'CMP-' || pg_temp.digits((SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END - 1
                                                   FROM complaint_number_seq) + n);
SELECT setval('complaint_number_seq', (SELECT max(substr(number, 5)::bigint) FROM bk));
UPDATE bk SET policy_id = p.id FROM sla_policies p JOIN complaint_categories pc ON pc.id = p.category_id
WHERE p.active AND pc.code = bk.root AND pg_temp.r('nopolicy' || bk.key) >= 0.03
  AND CASE WHEN bk.priority = 'URGENT' THEN p.priority = 'URGENT'
           ELSE p.priority IS NULL AND p.customer_tier = bk.tier END;
INSERT INTO complaints (id, number, customer_id, order_id, category_id, priority, channel, subject, description, status,
  department_id, assignee_id, filed_by, resolution, satisfaction, resolved_at, resolution_minutes, sla_policy_id,
  sla_terms, escalation_level, sla_next_deadline, sla_at_risk_at, first_response_breached, resolution_breached,
  version, created_at, updated_at)
SELECT bk.id, bk.number, bk.customer_id,
  CASE WHEN pg_temp.r('ord' || bk.key) < 0.25 THEN
    (SELECT o.id FROM orders o WHERE o.customer_id = bk.customer_id AND o.created_at < bk.created_at
     ORDER BY o.created_at DESC LIMIT 1) END,
  bk.category_id, bk.priority, pg_temp.pick('{PHONE,EMAIL,WEB,IN_PERSON,SALES_REP}'::text[], 'ch' || bk.key),
  leaf.name || ': ' || pg_temp.pick('{"second time this month","customer asks for a call back","photos attached","needs a replacement","refund requested","reported by the site manager"}'::text[], 'sub' || bk.key),
  'Reported via ' || lower(pg_temp.pick('{PHONE,EMAIL,WEB,IN_PERSON,SALES_REP}'::text[], 'ch' || bk.key)) || ' about ' || lower(leaf.name) || '.',
  bk.status, bk.department_id,
  CASE WHEN bk.steps > 0 THEN pg_temp.pickid(ds.ids, 'as' || bk.key) END,
  pg_temp.pickid(ref.all_staff, 'fb' || bk.key),
  CASE WHEN bk.status IN ('RESOLVED', 'CLOSED') THEN 'Replacement delivered and confirmed by the customer' END,
  CASE WHEN bk.status = 'CLOSED' AND pg_temp.r('sat' || bk.key) < 0.6 THEN (1 + pg_temp.h('sv' || bk.key) % 5)::smallint END,
  CASE WHEN bk.status IN ('RESOLVED', 'CLOSED') THEN bk.created_at + bk.span * 3 / 4 END,
  CASE WHEN bk.status IN ('RESOLVED', 'CLOSED') THEN (extract(epoch FROM bk.span * 3 / 4) / 60 / 3)::int END,
  p.id,
  CASE WHEN p.id IS NOT NULL THEN json_build_object('policyId', p.id, 'name', p.name, 'calendarId', p.calendar_id,
    'firstResponseMinutes', p.first_response_minutes, 'resolutionMinutes', p.resolution_minutes,
    'updateIntervalMinutes', p.update_interval_minutes, 'warnAt', p.warn_at, 'escalateToId', p.escalate_to_id) END,
  CASE WHEN bk.at_risk AND p.id IS NOT NULL THEN 1 ELSE 0 END,
  CASE WHEN p.id IS NOT NULL AND bk.status NOT IN ('RESOLVED', 'CLOSED')
       THEN ref.now + interval '1 minute' * (-120 + pg_temp.h('dl' || bk.key) % 14520) END,
  CASE WHEN p.id IS NULL OR bk.status IN ('RESOLVED', 'CLOSED') THEN NULL
       WHEN bk.at_risk THEN ref.now - interval '1 minute' * (1 + pg_temp.h('ar' || bk.key) % 600)
       ELSE ref.now + interval '1 minute' * (1 + pg_temp.h('ar' || bk.key) % 14400) END,
  bk.at_risk AND p.id IS NOT NULL AND pg_temp.r('frb' || bk.key) < 0.5, false,
  1 + bk.steps + CASE WHEN bk.steps > 0 THEN 1 ELSE 0 END, bk.created_at,
  bk.created_at + bk.span * bk.steps / 4
FROM bk CROSS JOIN ref JOIN leaf ON leaf.id = bk.category_id JOIN dept_staff ds ON ds.department_id = bk.department_id
LEFT JOIN sla_policies p ON p.id = bk.policy_id;
"""),
    ("complaint timelines and activity", """
INSERT INTO complaint_timeline (id, complaint_id, position, at, kind, author_id, department_id, visibility, message,
                                from_status, to_status)
SELECT pg_temp.uid('filed' || bk.key), c.id, 1, c.created_at, 'FILED', c.filed_by, s.department_id, 'CUSTOMER',
  c.subject, NULL, NULL
FROM bk JOIN complaints c ON c.id = bk.id JOIN staff s ON s.id = c.filed_by;
INSERT INTO complaint_timeline (id, complaint_id, position, at, kind, author_id, department_id, visibility, message,
                                from_status, to_status)
SELECT pg_temp.uid('assigned' || bk.key), c.id, 2, c.created_at + bk.span / 8, 'ASSIGNMENT', c.assignee_id,
  c.department_id, 'INTERNAL', 'Assigned to ' || s.name, NULL, NULL
FROM bk JOIN complaints c ON c.id = bk.id JOIN staff s ON s.id = c.assignee_id WHERE bk.steps > 0;
INSERT INTO complaint_timeline (id, complaint_id, position, at, kind, author_id, department_id, visibility, message,
                                from_status, to_status)
SELECT pg_temp.uid('move' || bk.key || '-' || m.k), c.id, 2 + m.k, c.created_at + bk.span * m.k / 4, 'STATUS_CHANGE',
  c.assignee_id, c.department_id, 'CUSTOMER',
  CASE WHEN m.to_status = 'RESOLVED' THEN 'Replacement delivered and confirmed by the customer' END,
  m.from_status, m.to_status
FROM bk JOIN complaints c ON c.id = bk.id
JOIN (VALUES ('ACKNOWLEDGED', 1, 'OPEN', 'ACKNOWLEDGED'),
             ('IN_PROGRESS', 1, 'OPEN', 'ACKNOWLEDGED'), ('IN_PROGRESS', 2, 'ACKNOWLEDGED', 'IN_PROGRESS'),
             ('WAITING_ON_CUSTOMER', 1, 'OPEN', 'ACKNOWLEDGED'), ('WAITING_ON_CUSTOMER', 2, 'ACKNOWLEDGED', 'IN_PROGRESS'),
             ('WAITING_ON_CUSTOMER', 3, 'IN_PROGRESS', 'WAITING_ON_CUSTOMER'),
             ('RESOLVED', 1, 'OPEN', 'ACKNOWLEDGED'), ('RESOLVED', 2, 'ACKNOWLEDGED', 'IN_PROGRESS'),
             ('RESOLVED', 3, 'IN_PROGRESS', 'RESOLVED'),
             ('CLOSED', 1, 'OPEN', 'ACKNOWLEDGED'), ('CLOSED', 2, 'ACKNOWLEDGED', 'IN_PROGRESS'),
             ('CLOSED', 3, 'IN_PROGRESS', 'RESOLVED'), ('CLOSED', 4, 'RESOLVED', 'CLOSED'))
  AS m (status, k, from_status, to_status) ON m.status = bk.status;
INSERT INTO customer_activity (id, customer_id, at, kind, actor_id, department_id, summary, subject_type, subject_id)
SELECT pg_temp.uid('act-filed' || bk.key), c.customer_id, c.created_at, 'COMPLAINT', c.filed_by, s.department_id,
  c.number || ' filed (' || lower(c.priority) || ' priority): ' || c.subject, 'Complaint', c.id
FROM bk JOIN complaints c ON c.id = bk.id JOIN staff s ON s.id = c.filed_by;
"""),
]


async def load(conn: asyncpg.Connection, scale: int) -> None:
    counts = {":N": CUSTOMERS * scale, ":C": COMPLAINTS * scale, ":O": ORDERS * scale}
    await conn.execute(HELPERS)
    for label, sql in STEPS:
        for name, value in counts.items():
            sql = sql.replace(name, str(value))
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(sql)
        print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    # VACUUM too: it sets the visibility map, so index-only scans work as on a settled database (autovacuum)
    await conn.execute("VACUUM (ANALYZE)")
    print(f"  VACUUM (ANALYZE): {time.perf_counter() - started:.1f} s", flush=True)


async def generate(server: str, database: str, scale: int, force: bool) -> None:
    if not force and await is_ready(server, database, scale):
        print(f"{database}: already holds {marker(scale)}; --force to rebuild")
        return
    if not database.replace("_", "").isalnum():
        raise SystemExit(f"bad database name {database!r}")
    started = time.perf_counter()
    admin = await asyncpg.connect(server + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    url = service_url(server, database)
    print(f"{database}: migrate and seed the demo data", flush=True)
    crm("migrate", url)
    crm("seed-demo", url)
    conn = await asyncpg.connect(f"{server}/{database}")
    try:
        print(f"{database}: load scale {scale}", flush=True)
        await load(conn, scale)
        sizes = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM complaints) AS complaints,"
            " (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_lines) AS order_lines,"
            " (SELECT count(*) FROM complaint_timeline) AS timeline, (SELECT count(*) FROM customer_activity) AS activity,"
            " pg_size_pretty(pg_database_size(current_database())) AS size")
        await conn.execute(f"COMMENT ON DATABASE \"{database}\" IS '{marker(scale)}'")
    finally:
        await conn.close()
    print(f"{database}: {dict(sizes)} in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="multiplies every count (10: the 10x data set)")
    parser.add_argument("--database", default=None, help="default: crm_bench, or crm_bench_x<scale>")
    parser.add_argument("--server", default=SERVER, help=f"libpq URL of the server, no database (default {SERVER})")
    parser.add_argument("--force", action="store_true", help="rebuild even when the data set is there")
    args = parser.parse_args()
    if args.scale < 1:
        parser.error("--scale must be 1 or more")
    if not args.server.startswith("postgresql://"):
        parser.error("--server must be a postgresql:// URL")
    asyncio.run(generate(args.server, args.database or database_name(args.scale), args.scale, args.force))


if __name__ == "__main__":
    sys.exit(main())
