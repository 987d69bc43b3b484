// Serves the peer on 127.0.0.1:$PORT at /graphql, plus GET /__bench/statements (the pool's statement count).
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset, { counter, pool } from "./graphile.config.mjs";

const port = Number(process.env.PORT);
if (!port) throw new Error("PORT is required");
const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const handler = serv.createHandler();
const server = createServer((req, res) => {
  if (req.url === "/__bench/statements") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(counter));
    return;
  }
  handler(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => console.log(`peer listening on http://127.0.0.1:${port}/graphql`));
const stop = async () => {
  server.close();
  await pgl.release();
  await pool.end().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
