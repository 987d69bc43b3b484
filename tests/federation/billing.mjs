// The partner subgraph (billing) on a free loopback port; prints "READY <url>" once it listens.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

const typeDefs = parse(readFileSync(new URL('./billing.graphql', import.meta.url), 'utf8'));

// "BA-" and the first 8 hex digits of the customer's uuid (inside the CRM's global ID "Customer:<uuid>").
export function billingAccount(globalId) {
  const [type, uuid] = Buffer.from(globalId, 'base64url').toString('utf8').split(':');
  if (type !== 'Customer' || !uuid) throw new Error(`not a Customer ID: ${globalId}`);
  return `BA-${uuid.replaceAll('-', '').slice(0, 8).toUpperCase()}`;
}

const resolvers = {
  Customer: {
    __resolveReference: (reference) => ({ id: reference.id }),
    billingAccount: (customer) => billingAccount(customer.id),
  },
};

const server = new ApolloServer({ schema: buildSubgraphSchema([{ typeDefs, resolvers }]) });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(process.env.PORT || 0) },
  context: async ({ req }) => {
    // The gateway must not hand the CRM's bearer token to a partner.
    if (req.headers.authorization) console.log(`AUTHORIZATION SEEN ${req.headers.authorization}`);
    return {};
  },
});
console.log(`READY ${url}`);
