import type { Command } from '../command.ts';
import { parse } from '../args.ts';

const help = `Usage: roam ls [--json] [--server URL] [--token T]

Lists the bundles (name, version, tenant, functions, hash) and chain routes on a running server.

Options:
  --json   {"bundles": [...], "chains": {...}}

Examples:
  roam ls --server http://127.0.0.1:8080 --token secret
  roam ls --json | jq -r '.bundles[].name'`;

interface Listed {
  name: string;
  version: string;
  tenant: string;
  hash: string;
  functions: string[];
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
    if (bundles.length > 0) process.stdout.write(`${'NAME'.padEnd(20)} ${'VERSION'.padEnd(10)} ${'TENANT'.padEnd(12)} ${'HASH'.padEnd(12)}  FUNCTIONS\n`);
    for (const b of bundles) process.stdout.write(`${b.name.padEnd(20)} ${b.version.padEnd(10)} ${b.tenant.padEnd(12)} ${b.hash.slice(0, 12)}  ${b.functions.join(', ')}\n`);
    for (const [route, c] of Object.entries(chains)) process.stdout.write(`chain ${route}: ${c.steps.join(' → ')}\n`);
    if (bundles.length === 0 && Object.keys(chains).length === 0) process.stdout.write('(nothing deployed)\n');
    return 0;
  },
};
export default command;
