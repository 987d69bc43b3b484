// Apollo Client 4 with its persisted-queries link against a running CRM: the first query goes as a hash, is
// missed (PERSISTED_QUERY_NOT_FOUND), goes again with the document, and the next one is the hash alone; a 401
// reaches the app as the server's GraphQL error with its code. Prints one JSON object.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createHash } from 'node:crypto';

const [url] = process.argv.slice(2);
const sent = [];
const recordingFetch = async (input, init) => {
  const body = init && init.body ? JSON.parse(init.body) : null;
  const response = await fetch(input, init);
  sent.push({ withDocument: Boolean(body && body.query), hash: Boolean(body && body.extensions &&
             body.extensions.persistedQuery), status: response.status,
             type: (response.headers.get('content-type') || '').split(';')[0] });
  return response;
};
function client(token) {
  const sha256 = (text) => createHash('sha256').update(text).digest('hex');
  const http = new HttpLink({ uri: url, fetch: recordingFetch,
                              headers: token ? { authorization: `Bearer ${token}` } : {} });
  return new ApolloClient({ link: new PersistedQueryLink({ sha256 }).concat(http), cache: new InMemoryCache() });
}
const query = gql`query Customer($code: String) { customer(code: $code) { id code } }`;
const signedIn = client(process.env.CRM_TOKEN);
const first = await signedIn.query({ query, variables: { code: 'DEMO-0001' }, fetchPolicy: 'network-only' });
const second = await signedIn.query({ query, variables: { code: 'DEMO-0002' }, fetchPolicy: 'network-only' });
let unauthenticated = null;
try {
  await client(null).query({ query, variables: { code: 'DEMO-0001' }, fetchPolicy: 'network-only' });
} catch (error) {
  unauthenticated = { name: error.name, codes: (error.errors || []).map((e) => e.extensions && e.extensions.code) };
}
console.log(JSON.stringify({ first: first.data.customer.code, second: second.data.customer.code, sent,
                             unauthenticated }));
