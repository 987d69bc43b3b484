// The benchmark's one load driver for the service, the peer and the floor: autocannon, driven by bench/perf.py.
// Reads a JSON job from argv[2]: {url, headers, bodies: [string, ...], connections, duration, timeout};
// POSTs the bodies in turn (round robin over all connections) and prints autocannon's result as JSON.
import autocannon from "autocannon";

const job = JSON.parse(process.argv[2]);
const url = new URL(job.url);
if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
  throw new Error(`load is only sent to loopback addresses, not ${url.hostname}`);
}
let next = 0;
// autocannon's own percentiles are whole milliseconds; keep every response time (ms, from hrtime) for exact ones
const samples = [];
const instance = autocannon({
  url: job.url,
  method: "POST",
  headers: { "content-type": "application/json", ...job.headers },
  connections: job.connections,
  duration: job.duration,
  timeout: job.timeout,
  requests: [{ setupRequest: (req) => ({ ...req, body: job.bodies[next++ % job.bodies.length] }) }],
});
instance.on("response", (client, statusCode, resBytes, responseTime) => samples.push(responseTime));
const result = await instance;
samples.sort((a, b) => a - b);
const percentile = (share) => samples.length ? samples[Math.min(samples.length - 1, Math.round(share * (samples.length - 1)))] : null;
const exact = { samples: samples.length, p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99),
  mean: samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : null, max: samples.at(-1) ?? null };
process.stdout.write(JSON.stringify({
  requests: result.requests, latency: result.latency, exact, throughput: result.throughput,
  errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, duration: result.duration,
  start: result.start, finish: result.finish, total: result.requests.total,
}) + "\n");
