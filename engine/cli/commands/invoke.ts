import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { RoamError } from '../../errors.ts';

const help = `Usage: roam invoke NAME [PATH] [--data TEXT|@FILE] [--method M] [--chain] [--header 'k: v'] [--server URL] [-i]

Calls function NAME (POST /fn/NAME/PATH), or chain route NAME with --chain, and prints the response
body. The method defaults to POST with --data, GET without. -i prints the status and headers first.
Exits 1 when the response status is 400 or more.

Examples:
  roam invoke greet /alice --server http://127.0.0.1:8080
  roam invoke checkout --chain --data @order.json`;

export const command: Command = {
  name: 'invoke',
  summary: 'call a function or chain on a running server',
  help,
  async run(argv) {
    const { values, positionals } = parse(argv, {
        server: { type: 'string' },
        token: { type: 'string' },
        data: { type: 'string', short: 'd' },
        method: { type: 'string', short: 'X' },
        chain: { type: 'boolean', default: false },
        header: { type: 'string', short: 'H', multiple: true },
        include: { type: 'boolean', short: 'i', default: false },
      });
    const [name, path = '/'] = positionals;
    if (!name) throw new RoamError('E_USAGE', 'give a function name (see roam invoke --help)');
    const body = values.data === undefined ? undefined : values.data.startsWith('@') ? readFileSync(values.data.slice(1)) : values.data;
    const headers: Record<string, string> = {};
    for (const h of values.header ?? []) {
      const i = h.indexOf(':');
      if (i <= 0) throw new RoamError('E_USAGE', `--header wants 'name: value', got '${h}'`);
      headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    const { clientFrom } = await import('../../http/client.ts');
    const r = await clientFrom(values).send(values.method ?? (body === undefined ? 'GET' : 'POST'), `/${values.chain ? 'chain' : 'fn'}/${encodeURIComponent(name)}${path.startsWith('/') ? path : '/' + path}`, body, headers);
    if (values.include) {
      process.stdout.write(`HTTP ${r.status}\n`);
      for (const [k, v] of Object.entries(r.headers)) process.stdout.write(`${k}: ${Array.isArray(v) ? v.join(', ') : v}\n`);
      process.stdout.write('\n');
    }
    process.stdout.write(r.body);
    if (r.body.length > 0 && r.body[r.body.length - 1] !== 10 && process.stdout.isTTY) process.stdout.write('\n');
    if (r.status >= 400 && !values.include) process.stderr.write(`roam invoke: HTTP ${r.status}\n`);
    return r.status >= 400 ? 1 : 0;
  },
};
export default command;
