import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';

const command: Command = {
  name: 'dpu-agent',
  summary: 'run a DPU agent that executes handlers over shared memory for a roam server',
  help: `Usage: roam dpu-agent --connect HOST:PORT

Connects to a server's agent port (printed by the server, or passed by the server when it starts the
agent itself), maps the server's regions and slot table through POSIX shm, and runs the handlers the
server steers to the dpu place. Exits when the server goes away.

Examples:
  roam dpu-agent --connect 127.0.0.1:40123      # the agent port a roam serve --dpu prints`,
  async run(argv) {
    const { values } = parse(argv, { connect: { type: 'string' } }, false);
    const m = /^(.*):(\d+)$/.exec(values.connect ?? '') ?? usage('give --connect HOST:PORT');
    const { runAgent } = await import('../../places/dpu-agent.ts');
    await runAgent(m[1]!, Number(m[2]));
    return 0;
  },
};
export default command;
