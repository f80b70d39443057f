import type { Command } from '../command.ts';
import { parse } from '../args.ts';

const help = `Usage: roam ls [--json] [--server URL] [--token T]

Lists the bundles (name, version, tenant, hash, places, handlers and functions) and chain routes on a
running server. A tenant's token lists only that tenant's.

Examples:
  roam ls --server http://127.0.0.1:8080 --token $ROAM_TOKEN
  roam ls --json | jq '.bundles[].name'`;

interface Listed {
  name: string;
  version: string;
  tenant: string;
  hash: string;
  functions: string[];
  handlers?: string[];
  places?: string[];
}

export const command: Command = {
  name: 'ls',
  summary: 'list bundles and chains on a running server',
  help,
  async run(argv) {
    const { values } = parse(argv, { server: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false } }, false);
    const { clientFrom } = await import('../../http/client.ts');
    const client = clientFrom(values);
    const { bundles } = await client.control<{ bundles: Listed[] }>('GET', '/v1/bundles');
    const { chains } = await client.control<{ chains: Record<string, { steps: string[] }> }>('GET', '/v1/chains');
    if (values.json) {
      process.stdout.write(JSON.stringify({ bundles, chains }, null, 2) + '\n');
      return 0;
    }
    if (bundles.length > 0) process.stdout.write(row('NAME', 'VERSION', 'TENANT', 'HASH', 'PLACES', 'HANDLERS', 'FUNCTIONS'));
    for (const b of bundles) process.stdout.write(row(b.name, b.version, b.tenant, b.hash.slice(0, 12), (b.places ?? []).join(',') || '-', (b.handlers ?? []).join(', ') || '-', b.functions.join(', ') || '-'));
    for (const [route, c] of Object.entries(chains)) process.stdout.write(`chain ${route}: ${c.steps.join(' → ')}\n`);
    if (bundles.length === 0 && Object.keys(chains).length === 0) process.stdout.write('(nothing deployed)\n');
    return 0;
  },
};
export default command;

function row(name: string, version: string, tenant: string, hash: string, places: string, handlers: string, functions: string): string {
  return `${name.padEnd(20)} ${version.padEnd(10)} ${tenant.padEnd(12)} ${hash.padEnd(12)}  ${places.padEnd(16)} ${handlers.padEnd(20)} ${functions}\n`;
}
