// Offline composition: node compose.mjs name=path.graphql ...  prints the supergraph SDL, or the
// composition errors (one a line, "CODE: message") on stderr with exit code 1.
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

const services = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf('=');
  const name = arg.slice(0, at);
  return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(readFileSync(arg.slice(at + 1), 'utf8')) };
});
const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) console.error(`${error.extensions?.code ?? 'ERROR'}: ${error.message}`);
  process.exit(1);
}
for (const hint of result.hints ?? []) console.error(`hint ${hint.definition?.code ?? ''}: ${hint.message}`);
process.stdout.write(result.supergraphSdl);
