// The benchmark's peer: PostGraphile v5 with the amber preset over the CRM's own tables (schema public) of the
// bench database. bench/perf.py starts server.mjs (which imports this) with DATABASE_URL and PORT set.
import pg from "pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

// A small pool (the shared PostgreSQL has max_connections 100); every statement sent on it is counted, so
// that perf.py can report statements per request (GET /__bench/statements before and after one request).
// PostGraphile's per-connection session set-up (`set jit_optimize_above_cost = -1` on a connection's first use)
// is counted apart, as `setup`: it is not per request.
export const counter = { statements: 0, setup: 0 };
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE || 10) });
pool.on("connect", (client) => {
  const query = client.query.bind(client);
  client.query = (...args) => {
    const text = String(typeof args[0] === "string" ? args[0] : args[0]?.text);
    if (/^\s*set\s/i.test(text)) counter.setup += 1;
    else counter.statements += 1;
    if (process.env.BENCH_LOG_SQL) console.error(`[sql] ${text.replace(/\s+/g, " ").slice(0, 300)}`);
    return query(...args);
  };
});
pool.on("error", (err) => console.error("pool client error", err));

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ pool, schemas: ["public"] })],
  grafserv: { graphiql: false, watch: false, maxRequestLength: 1_000_000 },
  grafast: { explain: false },
};

export default preset;
