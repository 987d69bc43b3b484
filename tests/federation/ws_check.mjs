// The graphql-ws client (graphql-transport-ws) against a running CRM: a signed-in subscription receives the
// event of an order created over HTTP; without a token (no connectionParams, or null) the socket closes 4403.
// Prints one JSON object: {event, refusals}.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url] = process.argv.slice(2);
const token = process.env.CRM_TOKEN;
const wsUrl = url.replace(/^http/, 'ws');

function client(connectionParams) {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

async function graphql(query, variables) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ query, variables }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  const body = await res.json();
  if (!body.data) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`); // the errors, not a null deref
  return body.data;
}

const signedIn = client({ Authorization: `Bearer ${token}` });
const customer = (await graphql(
  'mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }',
  { i: { name: `graphql-ws check ${Date.now()}`, kind: 'COMPANY' } })).createCustomer.customer.id;
const event = new Promise((resolve, reject) => {
  const stop = signedIn.subscribe(
    { query: 'subscription($c: ID) { orderEvents(customerId: $c) { kind order { number status } } }',
      variables: { c: customer } },
    { next: (value) => { stop(); resolve(value); }, error: reject, complete: () => {} });
});
await new Promise((r) => setTimeout(r, 500)); // the subscription is registered
const created = await graphql(
  'mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { number } } }',
  { i: { customerId: customer, currency: 'EUR', lines: [{ sku: 'WS-1', quantity: '1', unitPrice: '1' }] } });
const received = await Promise.race([event, new Promise((_, reject) => setTimeout(() => reject(new Error('no event')), 10000))]);
await signedIn.dispose();

async function refusal(connectionParams) {
  const c = client(connectionParams);
  const code = await new Promise((resolve) => {
    c.subscribe({ query: 'subscription { orderEvents { kind } }' },
      { next: () => resolve('next'), error: (e) => resolve(e && e.code), complete: () => resolve('complete') });
  });
  await c.dispose();
  return code;
}
const refusals = { none: await refusal(undefined), null: await refusal(() => null),
                   bad: await refusal({ Authorization: 'Bearer nonsense' }) };
console.log(JSON.stringify({ created: created.createOrder.order.number, event: received.data.orderEvents, refusals }));
process.exit(0);
