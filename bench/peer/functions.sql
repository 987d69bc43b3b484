-- What the peer needs beyond plain tables, the way a PostGraphile user adds it: STABLE SQL functions, which
-- PostGraphile exposes (and inlines into its one statement). Computed columns must live in the table's
-- schema, so these are in public of the BENCH database only (bench/perf.py runs this file before starting
-- the peer; the service never calls them).
--  - slaRiskQueue: the complaints at risk (sla_at_risk_at <= now()), the service's complaints(filter: {slaAtRisk: true})
--  - Customer.openComplaints: a customer's unresolved complaints, the service's complaints(filter: {statuses: [...]})
CREATE OR REPLACE FUNCTION public.sla_risk_queue() RETURNS SETOF public.complaints
  LANGUAGE sql STABLE AS $$ SELECT * FROM public.complaints WHERE sla_at_risk_at <= now() $$;
COMMENT ON FUNCTION public.sla_risk_queue() IS E'@behavior +order\nbench peer: complaints at SLA risk';
CREATE OR REPLACE FUNCTION public.customers_open_complaints(c public.customers) RETURNS SETOF public.complaints
  LANGUAGE sql STABLE AS $$
    SELECT * FROM public.complaints
    WHERE customer_id = c.id AND status IN ('OPEN', 'ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER') $$;
COMMENT ON FUNCTION public.customers_open_complaints(public.customers) IS E'@behavior +order\nbench peer: unresolved complaints';
