import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';

const command: Command = {
  name: 'dpu-agent',
  summary: 'run a DPU agent that executes handlers for a roam server (POSIX shm, or UCX with --rdma)',
  help: `Usage: roam dpu-agent --connect HOST:PORT [--rdma [--token T]]

Without --rdma: connects to a server's agent port (printed by the server, or passed by the server when it
starts the agent itself), maps the server's regions and slot table through POSIX shm, and runs the
handlers the server steers to the dpu place. Same machine only.

With --rdma: the agent may run on another machine (on real hardware, a SmartNIC's Arm cores). It
attaches to a \`roam serve --rdma --dpu-remote\` over the server's own port, authenticated with the
admin token (--token, or ROAM_TOKEN), receives its messages over the wire protocol and reaches the
host's regions through UCX (UCX_TLS, UCX_NET_DEVICES and the other UCX_* variables apply). See
engine/places/README.md.

Exits when the server goes away.

Examples:
  roam dpu-agent --connect 127.0.0.1:40123                      # the agent port a roam serve --dpu prints
  ROAM_TOKEN=secret roam dpu-agent --connect 10.0.0.1:8080 --rdma # a roam serve --rdma --dpu-remote`,
  async run(argv) {
    const { values } = parse(argv, { connect: { type: 'string' }, rdma: { type: 'boolean', default: false }, token: { type: 'string' } }, false);
    const m = /^(.*):(\d+)$/.exec(values.connect ?? '') ?? usage('give --connect HOST:PORT');
    if (values.rdma) {
      const { runRemoteAgent } = await import('../../server/remote-agent.ts');
      await runRemoteAgent({ host: m[1]!, port: Number(m[2]), token: values.token ?? process.env.ROAM_TOKEN ?? null });
      return 0;
    }
    if (values.token !== undefined) usage('--token is for --rdma (the local agent has its own socket)');
    const { runAgent } = await import('../../places/dpu-agent.ts');
    await runAgent(m[1]!, Number(m[2]));
    return 0;
  },
};
export default command;
