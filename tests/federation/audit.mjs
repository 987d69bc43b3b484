// The GraphQL-over-HTTP audit suite (graphql-http's serverAudits) against a running CRM, signed in with the
// token in CRM_TOKEN; prints one JSON line per audit: {id, name, status, reason}.
import { serverAudits } from 'graphql-http';

const [url] = process.argv.slice(2);
const token = process.env.CRM_TOKEN;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status,
                               reason: result.status === 'ok' ? undefined : result.reason }));
}
