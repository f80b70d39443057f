import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { RoamError } from '../../errors.ts';

const help = `Usage: roam rm NAME [--chain] [--server URL] [--token T]

Removes bundle NAME (DELETE /v1/bundles/NAME), or chain route NAME with --chain.

Examples:
  roam rm hello --server http://127.0.0.1:8080 --token secret
  roam rm checkout --chain`;

export const command: Command = {
  name: 'rm',
  summary: 'remove a bundle or chain from a running server',
  help,
  async run(argv) {
    const { values, positionals } = parse(argv, { server: { type: 'string' }, token: { type: 'string' }, chain: { type: 'boolean', default: false } });
    const [name] = positionals;
    if (!name) throw new RoamError('E_USAGE', 'give a bundle name (see roam rm --help)');
    const { clientFrom } = await import('../../http/client.ts');
    await clientFrom(values).control('DELETE', `/v1/${values.chain ? 'chains' : 'bundles'}/${encodeURIComponent(name)}`);
    process.stdout.write(`removed ${values.chain ? 'chain ' : ''}${name}\n`);
    return 0;
  },
};
export default command;
