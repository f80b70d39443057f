import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { version } from '../front.mjs';

const command: Command = {
  name: 'version',
  summary: "print roam's version",
  help: `Usage: roam version [--json]      (also roam -v, roam --version)

Prints roam's version and the Node.js running it.

Options:
  --json   {"roam": "0.1.0", "node": "v20.20.2"}

Examples:
  roam version
  roam version --json | jq -r .roam`,
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' } }, false);
    if (values.json) process.stdout.write(JSON.stringify({ roam: version(), node: process.version }) + '\n');
    else process.stdout.write(`roam ${version()} (node ${process.version})\n`);
    return 0;
  },
};
export default command;
