// A real Apollo gateway over the CRM subgraph and the billing subgraph; prints "READY <url>" once it serves.
//   node gateway.mjs <crm url> <billing url>     (CRM_SERVICE_TOKEN: a bearer token for composition)
//
// IntrospectAndCompose asks each subgraph for `_service { sdl }` at start-up, with no client request
// (so no client header) around: the CRM answers only authenticated requests, so composition sends the
// static service token in `introspectionHeaders`. At query time the client's own Authorization header
// is forwarded to the CRM (and only to the CRM: a partner never sees CRM tokens).
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';

const [crmUrl, billingUrl] = process.argv.slice(2);
const serviceToken = process.env.CRM_SERVICE_TOKEN;
if (!crmUrl || !billingUrl || !serviceToken) {
  console.error('usage: CRM_SERVICE_TOKEN=... node gateway.mjs <crm url> <billing url>');
  process.exit(2);
}

class ForwardAuthorization extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context?.authorization) request.http.headers.set('authorization', context.authorization);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [{ name: 'crm', url: crmUrl }, { name: 'billing', url: billingUrl }],
    introspectionHeaders: (service) => (service.name === 'crm' ? { authorization: `Bearer ${serviceToken}` } : {}),
  }),
  buildService: ({ name, url }) => (name === 'crm' ? new ForwardAuthorization({ url }) : new RemoteGraphQLDataSource({ url })),
});

const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(process.env.PORT || 0) },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`READY ${url}`);
